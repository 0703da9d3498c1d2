-- Fingerprints of accepted events (streams/ingest/dedupe.py), so a restarted worker still
-- recognises a duplicate of an event accepted before the restart. Purged after 25 hours.
CREATE TABLE IF NOT EXISTS accepted_events (
    topic         text    NOT NULL,
    partition     integer NOT NULL,
    fingerprint   bigint  NOT NULL,
    accepted_hour integer NOT NULL,  -- unix epoch hours
    PRIMARY KEY (topic, partition, fingerprint)
);
CREATE INDEX IF NOT EXISTS accepted_events_hour ON accepted_events (accepted_hour);
