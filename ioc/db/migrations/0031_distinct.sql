-- The third aggregate kind: distinct counts (merchants with a payment, teams with an activity).
--
-- One row per member named in a minute (and in its UTC hour) under a dimension set: the set of
-- a window is the union of its rows, so a count over any window, step or breakdown is
-- `count(DISTINCT member)`: exact, mergeable across minutes and hours, and idempotent (a
-- replayed batch names the same members again and changes nothing). Rows grow with the
-- members active per minute, not with events: a merchant paid 40 times in a minute is one row.
CREATE TABLE IF NOT EXISTS kpi_distinct_minute (
    metric  text        NOT NULL,
    bucket  timestamptz NOT NULL,
    dim_set integer     NOT NULL,
    member  text        NOT NULL,
    PRIMARY KEY (metric, bucket, dim_set, member)
);
CREATE INDEX IF NOT EXISTS kpi_distinct_minute_bucket ON kpi_distinct_minute (bucket);
COMMENT ON TABLE kpi_distinct_minute IS
    'Members (merchant, team, ...) of a distinct-count block seen in a minute of event time, per dimension set.';

CREATE TABLE IF NOT EXISTS kpi_distinct_hour (LIKE kpi_distinct_minute INCLUDING ALL);
COMMENT ON TABLE kpi_distinct_hour IS
    'kpi_distinct_minute rolled up per UTC hour by the sink, in the same transaction.';
