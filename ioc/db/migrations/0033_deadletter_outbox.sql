-- Dead letters leave the worker only after their batch has committed: the batch's own statement
-- stores each one here (streams/sink.py), the worker sends them to ioc.deadletter and then
-- deletes them (streams/outbox.py). A row still here after a crash may or may not have reached
-- the topic; the partition's next owner reads the topic from `scan_from` (per dead-letter
-- partition, the end of what had been acknowledged before the row was stored, so the send, if
-- any, is at or after it) and sends only what it does not find. A reader of the topic therefore
-- sees each bad record once, whatever crashes (a dead letter is identified by the topic,
-- partition and offset of its record, which its value holds).
CREATE TABLE IF NOT EXISTS deadletter_outbox (
    consumer_group text NOT NULL,
    topic text NOT NULL,
    partition integer NOT NULL,
    "offset" bigint NOT NULL,
    key bytea,
    value bytea NOT NULL,
    scan_from bigint[] NOT NULL,
    PRIMARY KEY (consumer_group, topic, partition, "offset")
);
COMMENT ON TABLE deadletter_outbox IS 'Dead letters stored with their batch, not yet acknowledged by ioc.deadletter.';

-- Per partition of ioc.deadletter, the end of what the group's workers last had acknowledged:
-- where a worker that just started begins its `scan_from`, so that a recovery reads the tail of
-- the topic, not all of it. An older value is always safe (it only makes a scan longer).
CREATE TABLE IF NOT EXISTS deadletter_ends (
    consumer_group text NOT NULL,
    partition integer NOT NULL,
    acked_end bigint NOT NULL,
    PRIMARY KEY (consumer_group, partition)
);
COMMENT ON TABLE deadletter_ends IS 'End of the acknowledged dead letters per ioc.deadletter partition.';
