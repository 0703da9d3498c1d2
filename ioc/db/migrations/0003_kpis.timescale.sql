-- With TimescaleDB: minute tables become hypertables, compressed after a day.
SELECT create_hypertable('kpi_minute', by_range('bucket', INTERVAL '1 day'), if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('kpi_sketch_minute', by_range('bucket', INTERVAL '1 day'), if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('kpi_state_minute', by_range('bucket', INTERVAL '1 day'), if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('vc_presence', by_range('hour', INTERVAL '7 days'), if_not_exists => TRUE, migrate_data => TRUE);
ALTER TABLE kpi_minute SET (timescaledb.compress, timescaledb.compress_segmentby = 'metric');
SELECT add_compression_policy('kpi_minute', INTERVAL '2 days', if_not_exists => TRUE);
ALTER TABLE kpi_sketch_minute SET (timescaledb.compress, timescaledb.compress_segmentby = 'metric');
SELECT add_compression_policy('kpi_sketch_minute', INTERVAL '2 days', if_not_exists => TRUE);
