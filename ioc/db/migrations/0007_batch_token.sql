-- The token of the last batch stored for each partition. A write whose connection failed may
-- have committed all the same (the server commits a statement before it answers), so a worker
-- retrying a batch first looks for its token here and skips a batch already stored, instead of
-- adding its sums a second time (streams/sink.py `store_batch`).
ALTER TABLE ingest_offsets ADD COLUMN IF NOT EXISTS batch_token bigint;
