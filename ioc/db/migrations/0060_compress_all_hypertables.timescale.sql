-- With TimescaleDB: every hypertable is compressed once its chunk is two days past, as
-- kpi_minute and kpi_sketch_minute are since 0003. Writes may still reach a compressed chunk
-- (events from a source that was days behind, stored through the same upserts); TimescaleDB
-- then decompresses only the segments the write names, so each table is segmented by a column
-- every write names: the metric, the topic, the endpoint. Retention is a policy per hypertable
-- too, set from the settings by ioc/db/retention.py, not here: its age follows
-- IOC_MINUTE_RETENTION_DAYS.
ALTER TABLE kpi_distinct_minute SET (timescaledb.compress, timescaledb.compress_segmentby = 'metric');
SELECT add_compression_policy('kpi_distinct_minute', INTERVAL '2 days', if_not_exists => TRUE);
ALTER TABLE kpi_state_minute SET (timescaledb.compress, timescaledb.compress_segmentby = 'metric');
SELECT add_compression_policy('kpi_state_minute', INTERVAL '2 days', if_not_exists => TRUE);
ALTER TABLE ingest_minute SET (timescaledb.compress, timescaledb.compress_segmentby = 'topic');
SELECT add_compression_policy('ingest_minute', INTERVAL '2 days', if_not_exists => TRUE);
ALTER TABLE vc_presence SET (timescaledb.compress, timescaledb.compress_segmentby = 'endpoint_id');
SELECT add_compression_policy('vc_presence', INTERVAL '2 days', if_not_exists => TRUE);
