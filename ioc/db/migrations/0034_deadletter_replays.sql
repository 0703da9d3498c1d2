-- Dead letters `ioc replay` has re-published, so that running it again (after a crash, or with a
-- wider time range) sends none of them twice. Keyed by the dead letter's record (topic, partition,
-- offset) and a digest of its bytes: the embedded broker keeps nothing across restarts, so after
-- one the same position holds another record.
CREATE TABLE IF NOT EXISTS deadletter_replays (
    topic text NOT NULL,
    partition integer NOT NULL,
    "offset" bigint NOT NULL,
    digest bytea NOT NULL,
    reason text NOT NULL,
    replayed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, "offset", digest)
);
COMMENT ON TABLE deadletter_replays IS 'Dead letters re-published by ioc replay (each once).';
