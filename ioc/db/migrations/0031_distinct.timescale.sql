-- With TimescaleDB: the minute rows of distinct counts become a hypertable, like kpi_minute.
SELECT create_hypertable('kpi_distinct_minute', by_range('bucket', INTERVAL '1 day'), if_not_exists => TRUE, migrate_data => TRUE);
