-- Free space on each page of the tables that batches update, so an update can stay on its page
-- (a HOT update) and leave the indexes alone. Most rows of these tables are updated several
-- times after they are inserted: every batch adds to the minute and hour rows that earlier
-- batches of the same minutes (other partitions, later records) created, and every batch moves
-- each endpoint's row. With full pages (the default, 100) every update also writes a new entry
-- into each of the table's indexes. bench/FINDINGS.md has the measured effect. It applies to
-- pages written from now on; TimescaleDB passes it on to the chunks of a hypertable.
ALTER TABLE kpi_minute SET (fillfactor = 70);
ALTER TABLE kpi_hour SET (fillfactor = 70);
ALTER TABLE kpi_sketch_minute SET (fillfactor = 70);
ALTER TABLE kpi_sketch_hour SET (fillfactor = 70);
ALTER TABLE vc_presence SET (fillfactor = 70);
ALTER TABLE vc_endpoints SET (fillfactor = 70);
ALTER TABLE ingest_minute SET (fillfactor = 70);
ALTER TABLE ingest_offsets SET (fillfactor = 50);
