-- Percentile sketches as one row per (metric, bucket, dimension set) with the bins as arrays,
-- instead of one row per bin (issue "National scale"). A minute of RTTs under one dimension
-- set spans a few dozen bins: as rows, three quarters of the database's work per event was
-- inserting and updating them (bench/FINDINGS.md). `bins` holds the bin numbers ascending,
-- `counts` the count of each, and a write merges its bins into the row's (streams/kpi_store.py).
--
-- Readers keep a row per bin: the views kpi_sketch_bins_minute and kpi_sketch_bins_hour unnest
-- the arrays into the old columns (bucket, metric, dim_set, bin, count), and every view that
-- read the old tables (kpi_percentile_*, a source's own views) is re-pointed at them in place,
-- so its comments and grants stay. Existing rows move over with their sums per bin unchanged.
--
-- Rolling upgrade: a worker of the previous version writes `bin` and `count` by name, so its
-- batch statement fails as a whole and nothing of that batch is stored; it retries until it is
-- replaced, and the new worker resumes from the stored offsets.

ALTER TABLE kpi_sketch_minute RENAME TO kpi_sketch_minute_rows;
ALTER TABLE kpi_sketch_hour RENAME TO kpi_sketch_hour_rows;
-- Their indexes keep their names through a rename; the new tables take them.
ALTER INDEX IF EXISTS kpi_sketch_minute_pkey RENAME TO kpi_sketch_minute_rows_pkey;
ALTER INDEX IF EXISTS kpi_sketch_hour_pkey RENAME TO kpi_sketch_hour_rows_pkey;
ALTER INDEX IF EXISTS kpi_sketch_minute_bucket RENAME TO kpi_sketch_minute_rows_bucket;
ALTER INDEX IF EXISTS kpi_sketch_hour_bucket_idx RENAME TO kpi_sketch_hour_rows_bucket_idx;

CREATE TABLE kpi_sketch_minute (
    bucket  timestamptz        NOT NULL,
    metric  text               NOT NULL,
    dim_set integer            NOT NULL,
    bins    integer[]          NOT NULL,  -- ascending, each once
    counts  double precision[] NOT NULL,  -- counts[i] values fell in bins[i]
    PRIMARY KEY (metric, bucket, dim_set),
    CHECK (cardinality(bins) = cardinality(counts))
) WITH (fillfactor = 70);
CREATE INDEX kpi_sketch_minute_bucket ON kpi_sketch_minute (bucket);
CREATE TABLE kpi_sketch_hour (LIKE kpi_sketch_minute INCLUDING ALL) WITH (fillfactor = 70);

COMMENT ON TABLE kpi_sketch_minute IS
    'Percentile sketches per event-time minute and dimension set: counts[i] values fell in log bin bins[i] (ioc_sketch_value). Read per bin through kpi_sketch_bins_minute.';
COMMENT ON TABLE kpi_sketch_hour IS
    'Percentile sketches per event-time hour and dimension set, as kpi_sketch_minute. Read per bin through kpi_sketch_bins_hour.';

INSERT INTO kpi_sketch_minute (bucket, metric, dim_set, bins, counts)
SELECT bucket, metric, dim_set, array_agg(bin ORDER BY bin), array_agg(count ORDER BY bin)
FROM kpi_sketch_minute_rows WHERE count <> 0 GROUP BY bucket, metric, dim_set;
INSERT INTO kpi_sketch_hour (bucket, metric, dim_set, bins, counts)
SELECT bucket, metric, dim_set, array_agg(bin ORDER BY bin), array_agg(count ORDER BY bin)
FROM kpi_sketch_hour_rows WHERE count <> 0 GROUP BY bucket, metric, dim_set;

CREATE VIEW kpi_sketch_bins_minute AS
SELECT s.bucket, s.metric, s.dim_set, u.bin, u.count
FROM kpi_sketch_minute s CROSS JOIN LATERAL unnest(s.bins, s.counts) AS u(bin, count);
CREATE VIEW kpi_sketch_bins_hour AS
SELECT s.bucket, s.metric, s.dim_set, u.bin, u.count
FROM kpi_sketch_hour s CROSS JOIN LATERAL unnest(s.bins, s.counts) AS u(bin, count);
COMMENT ON VIEW kpi_sketch_bins_minute IS
    'kpi_sketch_minute one row per bin: count values of metric fell in bin (ioc_sketch_value(bin)) in the minute, under dim_set.';
COMMENT ON VIEW kpi_sketch_bins_hour IS
    'kpi_sketch_hour one row per bin: count values of metric fell in bin (ioc_sketch_value(bin)) in the hour, under dim_set.';
DO $$
DECLARE
    grain text;
BEGIN
    FOREACH grain IN ARRAY ARRAY['minute', 'hour'] LOOP
        EXECUTE format('COMMENT ON COLUMN kpi_sketch_bins_%s.bucket IS %L', grain,
                       format('Start of the UTC %s of event time.', grain));
        EXECUTE format('COMMENT ON COLUMN kpi_sketch_bins_%s.metric IS %L', grain,
                       'Sketch block, as a source declares it (its kpis.py SKETCH_BLOCKS): vc.rtt_ms, market.amount_vnd, ...');
        EXECUTE format('COMMENT ON COLUMN kpi_sketch_bins_%s.dim_set IS %L', grain,
                       'The row''s dimension set (dimension_sets.id).');
        EXECUTE format('COMMENT ON COLUMN kpi_sketch_bins_%s.bin IS %L', grain,
                       'Log bin: every value counted in it is within 1 % of ioc_sketch_value(bin).');
        EXECUTE format('COMMENT ON COLUMN kpi_sketch_bins_%s.count IS %L', grain,
                       'Values counted in the bin.');
    END LOOP;
END $$;

-- Every view on the old tables reads the same columns from the bins views now. A view that
-- another view reads is replaced in place too, so nothing above it has to be dropped.
DO $$
DECLARE
    v record;
BEGIN
    FOR v IN
        SELECT DISTINCT r.ev_class::regclass AS view_name, pg_get_viewdef(r.ev_class) AS def
        FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
        WHERE d.refobjid IN ('kpi_sketch_minute_rows'::regclass, 'kpi_sketch_hour_rows'::regclass)
          AND r.ev_class <> d.refobjid
    LOOP
        EXECUTE format('CREATE OR REPLACE VIEW %s AS %s', v.view_name,
                       regexp_replace(v.def, '\mkpi_sketch_(minute|hour)_rows\M', 'kpi_sketch_bins_\1', 'g'));
    END LOOP;
END $$;

DROP TABLE kpi_sketch_minute_rows;
DROP TABLE kpi_sketch_hour_rows;
