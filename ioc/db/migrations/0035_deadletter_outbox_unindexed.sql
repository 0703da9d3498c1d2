-- deadletter_outbox without its primary key. Every dead letter of a batch is a row written in
-- the batch's own statement, and the index made that the dearest part of it: 2,000 rows took
-- 27 ms with the key and 10.5 ms without (bench/FINDINGS.md). The table is all but empty
-- (rows live from their batch's commit until the broker acknowledges them), so its reads and
-- deletes scan it whole at no cost; a batch is stored once (its token, migration 0007), so
-- the key guarded against nothing that can happen, and a recovery takes each id once anyway.
ALTER TABLE deadletter_outbox DROP CONSTRAINT IF EXISTS deadletter_outbox_pkey;
