-- With TimescaleDB: the new minute sketch table is a hypertable, compressed after two days, as
-- the table it replaces was since 0003 (its retention policy is set by ioc/db/retention.py).
SELECT create_hypertable('kpi_sketch_minute', by_range('bucket', INTERVAL '1 day'), if_not_exists => TRUE, migrate_data => TRUE);
ALTER TABLE kpi_sketch_minute SET (timescaledb.compress, timescaledb.compress_segmentby = 'metric');
SELECT add_compression_policy('kpi_sketch_minute', INTERVAL '2 days', if_not_exists => TRUE);
