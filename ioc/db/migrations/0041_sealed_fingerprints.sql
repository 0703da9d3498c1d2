-- Sealed hours of the duplicate memory: once an hour is over, its accepted fingerprints move
-- from one row per batch (accepted_fingerprints) to rows of at most a few hundred ids each,
-- bucketed by their top `bucket_bits` bits and sorted. A worker keeps these hours only as
-- truncated fingerprints (streams/idfilter.py, under 2 B an id) and confirms a possible
-- duplicate here: one primary-key read per sealed hour, not a scan of the hour's batches
-- (streams/dedupe_store.py). Random bytes do not compress, so they are stored as they are.
CREATE TABLE IF NOT EXISTS accepted_fingerprints_sealed (
    topic         text     NOT NULL,
    partition     integer  NOT NULL,
    accepted_hour integer  NOT NULL,  -- unix epoch hours
    bucket_bits   smallint NOT NULL,  -- the same for all rows of a (topic, partition, hour)
    bucket        integer  NOT NULL,  -- the top bucket_bits bits of the ids, as unsigned
    packed        bytea    NOT NULL,  -- 8 bytes an id, big-endian, ascending as unsigned
    PRIMARY KEY (topic, partition, accepted_hour, bucket)
);
ALTER TABLE accepted_fingerprints_sealed ALTER COLUMN packed SET STORAGE EXTERNAL;
CREATE INDEX IF NOT EXISTS accepted_fingerprints_sealed_hour ON accepted_fingerprints_sealed (accepted_hour);
