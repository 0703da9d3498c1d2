-- Where each consumer group stands on each partition. Written in the same transaction as the
-- effects of the batch it covers, so it is the truth a restarted worker resumes from.
CREATE TABLE IF NOT EXISTS ingest_offsets (
    consumer_group  text        NOT NULL,
    topic           text        NOT NULL,
    partition       integer     NOT NULL,
    next_offset     bigint      NOT NULL,
    newest_event_at timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

-- Records consumed per source topic and minute of arrival, accepted or rejected (by reason).
-- The sources view of the API and the pipeline-health panels read it.
CREATE TABLE IF NOT EXISTS ingest_minute (
    topic    text        NOT NULL,
    bucket   timestamptz NOT NULL,
    outcome  text        NOT NULL,  -- 'accepted', 'duplicate' or a dead-letter reason
    records  bigint      NOT NULL,
    PRIMARY KEY (topic, bucket, outcome)
);
CREATE INDEX IF NOT EXISTS ingest_minute_bucket ON ingest_minute (bucket);
