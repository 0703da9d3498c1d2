-- Duplicate memory by batch: one row per stored batch and partition, holding the fingerprints
-- of the events it accepted as one array. A row per event cost ~6 µs of database time per
-- event, most of the sink's work (bench/FINDINGS.md); an array row costs next to nothing, and
-- a worker that takes a partition over reads the arrays back with unnest.
CREATE TABLE IF NOT EXISTS accepted_fingerprints (
    topic         text     NOT NULL,
    partition     integer  NOT NULL,
    accepted_hour integer  NOT NULL,  -- unix epoch hours
    fingerprints  bigint[] NOT NULL
);
CREATE INDEX IF NOT EXISTS accepted_fingerprints_partition
    ON accepted_fingerprints (topic, partition, accepted_hour);
CREATE INDEX IF NOT EXISTS accepted_fingerprints_hour ON accepted_fingerprints (accepted_hour);

-- The per-event rows of earlier versions carry over, so an upgrade keeps recognising
-- duplicates of events accepted before it. accepted_events itself stays (emptied by retention)
-- so that workers of the previous version keep running during a rolling upgrade; a later
-- migration drops it.
INSERT INTO accepted_fingerprints (topic, partition, accepted_hour, fingerprints)
SELECT topic, partition, accepted_hour, array_agg(fingerprint)
FROM accepted_events
GROUP BY topic, partition, accepted_hour;
