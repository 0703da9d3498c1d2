-- Fingerprints as packed bytes: 8 per id, big-endian, in the order accepted. A bigint[] made
-- the worker's database driver check and encode every id on its own, a fifth of a batch's
-- encoding; one bytea is handed over as it is (bench/FINDINGS.md). Random bytes do not
-- compress, so they are stored without trying (EXTERNAL).
--
-- Rows of earlier versions keep their `fingerprints` array, and workers of the previous
-- version can still write such rows during a rolling upgrade: a worker reads both forms
-- (streams/sink.py `load_partition`), and retention empties the old ones within a day. A later
-- migration drops the column.
ALTER TABLE accepted_fingerprints ALTER COLUMN fingerprints DROP NOT NULL;
ALTER TABLE accepted_fingerprints ADD COLUMN IF NOT EXISTS packed bytea;
ALTER TABLE accepted_fingerprints ALTER COLUMN packed SET STORAGE EXTERNAL;
