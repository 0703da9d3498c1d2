-- The partition's high watermark when its last batch was stored: lag = high_watermark - next_offset.
ALTER TABLE ingest_offsets ADD COLUMN IF NOT EXISTS high_watermark bigint;
