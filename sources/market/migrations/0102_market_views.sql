-- Views of the market-4.0 source for Grafana's PostgreSQL panels (deploy/grafana/dashboards/
-- ioc-market.json) and for anyone with psql: the same read interface and conventions as the
-- kernel's views (ioc/db/migrations/0020_views.sql): dashboards query these views, never the
-- tables behind them.
--
--   bucket        start of the minute or hour of EVENT time (occurred_at), timestamptz; hours
--                 are UTC hours, as in kpi_hour.
--   dimensions    district, commune, market, provider as the payments carry them, read from
--                 the row's dimension set (dimension_sets.dims); 'unknown' where one is missing.
--   counts, sums  0, not NULL, where nothing happened in a bucket that has other rows.
--   averages, percentiles   NULL over no payments.
-- Merchants active (market.merchants_active) are distinct merchants: a count over several
-- hours or markets is count(DISTINCT merchant_id) over market_active_merchants_hour, never a
-- sum of hourly counts (a merchant paid in two hours is one merchant).
--
-- A later change to a view goes in a new migration (this file runs once per database).


-- Payments, per minute / hour of event time -------------------------------------------------
-- market_kpi_minute, market_kpi_hour (district, commune, market, provider):
--   payments          count of payment.completed (market.payments)
--   value_vnd         sum of amount_vnd (market.value_vnd)
--   payment_vnd_avg   value_vnd / payments; NULL over none

CREATE OR REPLACE VIEW market_kpi_minute AS
SELECT bucket, district, commune, market, provider, payments, value_vnd,
       value_vnd / NULLIF(payments, 0) AS payment_vnd_avg
FROM (
    SELECT bucket,
           COALESCE(ds.dims->>'district', 'unknown') AS district,
           COALESCE(ds.dims->>'commune', 'unknown') AS commune,
           COALESCE(ds.dims->>'market', 'unknown') AS market,
           COALESCE(ds.dims->>'provider', 'unknown') AS provider,
           COALESCE(sum(value) FILTER (WHERE metric = 'market.payments'), 0) AS payments,
           COALESCE(sum(value) FILTER (WHERE metric = 'market.value_vnd'), 0) AS value_vnd
    FROM kpi_minute JOIN dimension_sets ds ON ds.id = kpi_minute.dim_set
    WHERE metric IN ('market.payments', 'market.value_vnd')
    GROUP BY bucket, district, commune, market, provider
) s;

CREATE OR REPLACE VIEW market_kpi_hour AS
SELECT bucket, district, commune, market, provider, payments, value_vnd,
       value_vnd / NULLIF(payments, 0) AS payment_vnd_avg
FROM (
    SELECT bucket,
           COALESCE(ds.dims->>'district', 'unknown') AS district,
           COALESCE(ds.dims->>'commune', 'unknown') AS commune,
           COALESCE(ds.dims->>'market', 'unknown') AS market,
           COALESCE(ds.dims->>'provider', 'unknown') AS provider,
           COALESCE(sum(value) FILTER (WHERE metric = 'market.payments'), 0) AS payments,
           COALESCE(sum(value) FILTER (WHERE metric = 'market.value_vnd'), 0) AS value_vnd
    FROM kpi_hour JOIN dimension_sets ds ON ds.id = kpi_hour.dim_set
    WHERE metric IN ('market.payments', 'market.value_vnd')
    GROUP BY bucket, district, commune, market, provider
) s;

-- market_kpi_minute_total, market_kpi_hour_total: the same, every market together, and what
-- cannot be added up over rows:
--   payment_vnd_p50     median amount_vnd, nearest rank from the sketch (market.payment_vnd_p50;
--                       within 1 %)
--   merchants_active    distinct merchants with a payment in the bucket (market.merchants_active)
-- (Each row's median and merchants are read for its own bucket, so a time filter on bucket
-- stays cheap.)

CREATE OR REPLACE VIEW market_kpi_minute_total AS
SELECT bucket, payments, value_vnd, value_vnd / NULLIF(payments, 0) AS payment_vnd_avg,
       (SELECT ioc_sketch_value(min(bin) FILTER (WHERE upto >= greatest(1, ceil(0.50 * total - 1e-9))))
        FROM (SELECT bin, sum(n) OVER (ORDER BY bin) AS upto, sum(n) OVER () AS total
              FROM (SELECT bin, sum(count) AS n FROM kpi_sketch_bins_minute k
                    WHERE k.metric = 'market.amount_vnd' AND k.bucket = s.bucket
                    GROUP BY bin HAVING sum(count) > 0) bins) ranked) AS payment_vnd_p50,
       (SELECT count(DISTINCT member) FROM kpi_distinct_minute d
        WHERE d.metric = 'market.paying_merchants' AND d.bucket = s.bucket) AS merchants_active
FROM (
    SELECT bucket, sum(payments) AS payments, sum(value_vnd) AS value_vnd
    FROM market_kpi_minute GROUP BY bucket
) s;

CREATE OR REPLACE VIEW market_kpi_hour_total AS
SELECT bucket, payments, value_vnd, value_vnd / NULLIF(payments, 0) AS payment_vnd_avg,
       (SELECT ioc_sketch_value(min(bin) FILTER (WHERE upto >= greatest(1, ceil(0.50 * total - 1e-9))))
        FROM (SELECT bin, sum(n) OVER (ORDER BY bin) AS upto, sum(n) OVER () AS total
              FROM (SELECT bin, sum(count) AS n FROM kpi_sketch_bins_hour k
                    WHERE k.metric = 'market.amount_vnd' AND k.bucket = s.bucket
                    GROUP BY bin HAVING sum(count) > 0) bins) ranked) AS payment_vnd_p50,
       (SELECT count(DISTINCT member) FROM kpi_distinct_hour d
        WHERE d.metric = 'market.paying_merchants' AND d.bucket = s.bucket) AS merchants_active
FROM (
    SELECT bucket, sum(payments) AS payments, sum(value_vnd) AS value_vnd
    FROM market_kpi_hour GROUP BY bucket
) s;


-- Merchants ---------------------------------------------------------------------------------
-- market_active_merchants_hour: one row per merchant with at least one payment in the hour
-- (from kpi_distinct_hour), with where it was paid. count(DISTINCT merchant_id) over any hours
-- and any grouping is market.merchants_active over them.
--   merchant_id, district, commune, market, provider
CREATE OR REPLACE VIEW market_active_merchants_hour AS
SELECT DISTINCT d.bucket,
       COALESCE(ds.dims->>'district', 'unknown') AS district,
       COALESCE(ds.dims->>'commune', 'unknown') AS commune,
       COALESCE(ds.dims->>'market', 'unknown') AS market,
       COALESCE(ds.dims->>'provider', 'unknown') AS provider,
       d.member AS merchant_id
FROM kpi_distinct_hour d JOIN dimension_sets ds ON ds.id = d.dim_set
WHERE d.metric = 'market.paying_merchants';

-- market_merchants_now: merchants per place and provider, by their latest onboarding event
-- (market_merchants).
--   merchants               onboarded and not offboarded now (market.merchants)
--   merchants_offboarded    offboarded now
--   last_changed_at         the latest onboarding or offboarding among them
CREATE OR REPLACE VIEW market_merchants_now AS
SELECT district, commune, market, provider,
       count(*) FILTER (WHERE onboarded) AS merchants,
       count(*) FILTER (WHERE NOT onboarded) AS merchants_offboarded,
       max(changed_at) AS last_changed_at
FROM market_merchants
GROUP BY district, commune, market, provider;


-- This source's topic in sources_now (ioc/db/migrations/0032_source_topics.sql) -----------------
INSERT INTO source_topics (topic) VALUES ('ioc.market.payments') ON CONFLICT (topic) DO NOTHING;


-- Column comments (psql's \d+ and Grafana's query builder) ------------------------------------

COMMENT ON VIEW market_kpi_minute IS 'Market-4.0 payments per event-time minute, district, commune, market and provider.';
COMMENT ON VIEW market_kpi_hour IS 'Market-4.0 payments per event-time hour, district, commune, market and provider.';
COMMENT ON VIEW market_kpi_minute_total IS 'Market-4.0 payments, median payment and merchants active per event-time minute, all markets.';
COMMENT ON VIEW market_kpi_hour_total IS 'Market-4.0 payments, median payment and merchants active per event-time hour, all markets.';
COMMENT ON VIEW market_active_merchants_hour IS 'One row per merchant with a payment in the event-time hour: count(DISTINCT merchant_id) is market.merchants_active.';
COMMENT ON VIEW market_merchants_now IS 'Merchants onboarded and offboarded now, per district, commune, market and provider.';

DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT a.attrelid::regclass::text AS view_name, a.attname, n.note
        FROM pg_attribute a
        JOIN pg_class k ON k.oid = a.attrelid
        JOIN (VALUES
        ('bucket', 'Start of the minute or hour of event time (occurred_at).'),
        ('district', 'District code as the payment or merchant carries it (''unknown'' where missing).'),
        ('commune', 'Commune code as the payment or merchant carries it (''unknown'' where missing).'),
        ('market', 'Market code (registry places.market) as the payment or merchant carries it.'),
        ('provider', 'Payment provider: vnpt_money, viettel_money, bank_qr or other.'),
        ('payments', 'Count of payment.completed (market.payments).'),
        ('value_vnd', 'Sum of amount_vnd in VND (market.value_vnd).'),
        ('payment_vnd_avg', 'value_vnd / payments, in VND; NULL over no payments.'),
        ('payment_vnd_p50', 'Median amount_vnd in VND, nearest rank from the sketch, within 1 % (market.payment_vnd_p50); NULL over none.'),
        ('merchants_active', 'Distinct merchants with at least one payment in the bucket (market.merchants_active).'),
        ('merchant_id', 'The merchant paid in the hour (count it DISTINCT).'),
        ('merchants', 'Merchants onboarded and not offboarded now (market.merchants).'),
        ('merchants_offboarded', 'Merchants whose latest onboarding event is merchant.offboarded.'),
        ('last_changed_at', 'occurred_at of the latest onboarding or offboarding among them.')
        ) AS n(col, note) ON n.col = a.attname
        WHERE k.relkind = 'v' AND k.relnamespace = current_schema()::regnamespace
          AND a.attnum > 0 AND NOT a.attisdropped
          AND k.relname IN ('market_kpi_minute', 'market_kpi_hour', 'market_kpi_minute_total',
                            'market_kpi_hour_total', 'market_active_merchants_hour',
                            'market_merchants_now')
    LOOP
        EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', c.view_name, c.attname, c.note);
    END LOOP;
END
$$;

COMMENT ON COLUMN market_active_merchants_hour.bucket IS 'Start of the UTC hour of event time.';
COMMENT ON COLUMN market_active_merchants_hour.provider IS 'Payment provider of that payment.';
