SELECT create_hypertable('ingest_minute', by_range('bucket', INTERVAL '1 day'),
                         if_not_exists => TRUE, migrate_data => TRUE);
