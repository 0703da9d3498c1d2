-- Nothing on plain PostgreSQL: its sibling 0060_compress_all_hypertables.timescale.sql compresses
-- the hypertables that 0003 and 0031 left uncompressed.
SELECT 1;
