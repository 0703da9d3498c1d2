-- Views for Grafana's PostgreSQL panels (deploy/grafana/dashboards) and for anyone with psql.
--
-- They are the documented read interface of the database: dashboards query these views, never
-- the tables behind them, so the tables can change as long as the views keep their columns.
-- Every view works on plain PostgreSQL and on TimescaleDB alike. `\d+ VIEW` in psql (or
-- Grafana's query builder) shows each column's comment.
--
-- Conventions
--   bucket        start of the minute or hour, timestamptz. Windowed KPIs are keyed by EVENT
--                 time (occurred_at), as in contract/KPIS.md; ingest_* views by ARRIVAL time.
--   *_pct         0-100; NULL when its denominator is 0 (a ratio over no events is null,
--                 never 0 and never an error), exactly like the API.
--   *_avg         mean over the events counted; NULL over none.
--   counts        0, not NULL, where nothing happened in a bucket that has other rows.
--   dimensions    as the events carry them; 'unknown' where the entity never said.
-- "Now" views judge time against the database's clock (now()). Two parameters the product takes
-- from IOC_ settings are read here from database settings, with the same defaults:
--   ioc.offline_after_s          (IOC_OFFLINE_AFTER_S, default 60)
--   ioc.meeting_max_duration_s   (IOC_MEETING_MAX_DURATION_S, default 43200)
-- e.g. ALTER DATABASE ioc SET ioc.offline_after_s = '90'; when the setting differs.
--
-- A later change to a view goes in a new migration (this file runs once per database).

-- Parameters ------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION ioc_offline_after() RETURNS interval
    LANGUAGE sql STABLE
    AS $$ SELECT make_interval(secs => COALESCE(NULLIF(current_setting('ioc.offline_after_s', true), '')::float8, 60)) $$;
COMMENT ON FUNCTION ioc_offline_after() IS
    'An endpoint with no event for this long is offline: database setting ioc.offline_after_s (seconds, default 60, as IOC_OFFLINE_AFTER_S).';

CREATE OR REPLACE FUNCTION ioc_meeting_max_duration() RETURNS interval
    LANGUAGE sql STABLE
    AS $$ SELECT make_interval(secs => COALESCE(NULLIF(current_setting('ioc.meeting_max_duration_s', true), '')::float8, 43200)) $$;
COMMENT ON FUNCTION ioc_meeting_max_duration() IS
    'A meeting with no ended event closes this long after it started: database setting ioc.meeting_max_duration_s (seconds, default 43200, as IOC_MEETING_MAX_DURATION_S).';

-- The value a percentile-sketch bin stands for (ioc/kpi/sketch.py: alpha = 1 %).
CREATE OR REPLACE FUNCTION ioc_sketch_value(bin integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN bin = -2147483648 THEN 0.0
                      ELSE 2 * power(1.01 / 0.99, bin) / (1.01 / 0.99 + 1) END $$;
COMMENT ON FUNCTION ioc_sketch_value(integer) IS
    'Representative value of a percentile-sketch bin (within 1 % of every value counted in it); the zero bin stands for 0.';


-- Video conference, per minute / hour of event time -----------------------------------------
-- vc_kpi_minute, vc_kpi_hour (district, site_level): one row per bucket and dimension pair.
--   heartbeats           count of vc.heartbeat
--   jitter_ms_sum        sum of jitter_ms (to re-aggregate a mean over several rows)
--   packet_loss_pct_sum  sum of packet_loss_pct (idem)
--   jitter_ms_avg        mean jitter_ms (vc.jitter_ms_avg)
--   packet_loss_pct_avg  mean packet_loss_pct (vc.packet_loss_pct_avg)

CREATE OR REPLACE VIEW vc_kpi_minute AS
SELECT bucket, district, site_level, heartbeats, jitter_ms_sum, packet_loss_pct_sum,
       jitter_ms_sum / NULLIF(heartbeats, 0) AS jitter_ms_avg,
       packet_loss_pct_sum / NULLIF(heartbeats, 0) AS packet_loss_pct_avg
FROM (
    SELECT bucket, district, site_level,
           COALESCE(sum(value) FILTER (WHERE metric = 'vc.heartbeats'), 0) AS heartbeats,
           COALESCE(sum(value) FILTER (WHERE metric = 'vc.jitter_ms.sum'), 0) AS jitter_ms_sum,
           COALESCE(sum(value) FILTER (WHERE metric = 'vc.packet_loss_pct.sum'), 0) AS packet_loss_pct_sum
    FROM kpi_minute
    WHERE metric IN ('vc.heartbeats', 'vc.jitter_ms.sum', 'vc.packet_loss_pct.sum')
    GROUP BY bucket, district, site_level
) s;

CREATE OR REPLACE VIEW vc_kpi_hour AS
SELECT bucket, district, site_level, heartbeats, jitter_ms_sum, packet_loss_pct_sum,
       jitter_ms_sum / NULLIF(heartbeats, 0) AS jitter_ms_avg,
       packet_loss_pct_sum / NULLIF(heartbeats, 0) AS packet_loss_pct_avg
FROM (
    SELECT bucket, district, site_level,
           COALESCE(sum(value) FILTER (WHERE metric = 'vc.heartbeats'), 0) AS heartbeats,
           COALESCE(sum(value) FILTER (WHERE metric = 'vc.jitter_ms.sum'), 0) AS jitter_ms_sum,
           COALESCE(sum(value) FILTER (WHERE metric = 'vc.packet_loss_pct.sum'), 0) AS packet_loss_pct_sum
    FROM kpi_hour
    WHERE metric IN ('vc.heartbeats', 'vc.jitter_ms.sum', 'vc.packet_loss_pct.sum')
    GROUP BY bucket, district, site_level
) s;

-- vc_kpi_minute_total, vc_kpi_hour_total: the same, all districts and site levels together.
CREATE OR REPLACE VIEW vc_kpi_minute_total AS
SELECT bucket, heartbeats,
       jitter_ms_sum / NULLIF(heartbeats, 0) AS jitter_ms_avg,
       packet_loss_pct_sum / NULLIF(heartbeats, 0) AS packet_loss_pct_avg
FROM (
    SELECT bucket, sum(heartbeats) AS heartbeats, sum(jitter_ms_sum) AS jitter_ms_sum,
           sum(packet_loss_pct_sum) AS packet_loss_pct_sum
    FROM vc_kpi_minute GROUP BY bucket
) s;

CREATE OR REPLACE VIEW vc_kpi_hour_total AS
SELECT bucket, heartbeats,
       jitter_ms_sum / NULLIF(heartbeats, 0) AS jitter_ms_avg,
       packet_loss_pct_sum / NULLIF(heartbeats, 0) AS packet_loss_pct_avg
FROM (
    SELECT bucket, sum(heartbeats) AS heartbeats, sum(jitter_ms_sum) AS jitter_ms_sum,
           sum(packet_loss_pct_sum) AS packet_loss_pct_sum
    FROM vc_kpi_hour GROUP BY bucket
) s;

-- vc_presence_hour: which endpoints sent heartbeats in each hour (from vc_presence).
--   endpoints_present    endpoints with at least one heartbeat in the hour
--   endpoint_minutes     endpoint-minutes with at least one heartbeat (availability's numerator)
CREATE OR REPLACE VIEW vc_presence_hour AS
SELECT hour AS bucket, district, site_level,
       count(*) AS endpoints_present,
       sum(bit_count(minutes::bit(64)))::bigint AS endpoint_minutes
FROM vc_presence
GROUP BY hour, district, site_level;


-- E-office, per minute / hour of event time -------------------------------------------------
-- eoffice_kpi_minute, eoffice_kpi_hour (agency):
--   received            count of document.received (eoffice.received)
--   processed           count of document.processed (eoffice.processed)
--   processed_on_time   processed with occurred_at <= due_at
--   processed_signed    processed with digitally_signed
--   on_time_pct         100 x processed_on_time / processed (eoffice.on_time_pct)
--   signed_pct          100 x processed_signed / processed (eoffice.signed_pct)

CREATE OR REPLACE VIEW eoffice_kpi_minute AS
SELECT bucket, agency, received, processed, processed_on_time, processed_signed,
       100.0 * processed_on_time / NULLIF(processed, 0) AS on_time_pct,
       100.0 * processed_signed / NULLIF(processed, 0) AS signed_pct
FROM (
    SELECT bucket, agency,
           COALESCE(sum(value) FILTER (WHERE metric = 'eoffice.received'), 0) AS received,
           COALESCE(sum(value) FILTER (WHERE metric = 'eoffice.processed'), 0) AS processed,
           COALESCE(sum(value) FILTER (WHERE metric = 'eoffice.processed.on_time'), 0) AS processed_on_time,
           COALESCE(sum(value) FILTER (WHERE metric = 'eoffice.processed.signed'), 0) AS processed_signed
    FROM kpi_minute
    WHERE metric IN ('eoffice.received', 'eoffice.processed', 'eoffice.processed.on_time',
                     'eoffice.processed.signed')
    GROUP BY bucket, agency
) s;

CREATE OR REPLACE VIEW eoffice_kpi_hour AS
SELECT bucket, agency, received, processed, processed_on_time, processed_signed,
       100.0 * processed_on_time / NULLIF(processed, 0) AS on_time_pct,
       100.0 * processed_signed / NULLIF(processed, 0) AS signed_pct
FROM (
    SELECT bucket, agency,
           COALESCE(sum(value) FILTER (WHERE metric = 'eoffice.received'), 0) AS received,
           COALESCE(sum(value) FILTER (WHERE metric = 'eoffice.processed'), 0) AS processed,
           COALESCE(sum(value) FILTER (WHERE metric = 'eoffice.processed.on_time'), 0) AS processed_on_time,
           COALESCE(sum(value) FILTER (WHERE metric = 'eoffice.processed.signed'), 0) AS processed_signed
    FROM kpi_hour
    WHERE metric IN ('eoffice.received', 'eoffice.processed', 'eoffice.processed.on_time',
                     'eoffice.processed.signed')
    GROUP BY bucket, agency
) s;

-- eoffice_kpi_minute_total, eoffice_kpi_hour_total: the same, all agencies together.
CREATE OR REPLACE VIEW eoffice_kpi_minute_total AS
SELECT bucket, received, processed, processed_on_time, processed_signed,
       100.0 * processed_on_time / NULLIF(processed, 0) AS on_time_pct,
       100.0 * processed_signed / NULLIF(processed, 0) AS signed_pct
FROM (
    SELECT bucket, sum(received) AS received, sum(processed) AS processed,
           sum(processed_on_time) AS processed_on_time, sum(processed_signed) AS processed_signed
    FROM eoffice_kpi_minute GROUP BY bucket
) s;

CREATE OR REPLACE VIEW eoffice_kpi_hour_total AS
SELECT bucket, received, processed, processed_on_time, processed_signed,
       100.0 * processed_on_time / NULLIF(processed, 0) AS on_time_pct,
       100.0 * processed_signed / NULLIF(processed, 0) AS signed_pct
FROM (
    SELECT bucket, sum(received) AS received, sum(processed) AS processed,
           sum(processed_on_time) AS processed_on_time, sum(processed_signed) AS processed_signed
    FROM eoffice_kpi_hour GROUP BY bucket
) s;


-- Public-service portal, per minute / hour of event time ------------------------------------
-- portal_kpi_minute, portal_kpi_hour (agency, district, service_level):
--   submitted           count of application.submitted (portal.submitted)
--   submitted_online    submitted with channel = online
--   submitted_level4    submitted with service_level = 4
--   resolved            count of application.resolved (portal.resolved)
--   resolved_on_time    resolved with occurred_at <= due_at
--   resolved_approved   resolved with outcome = approved
--   paid                count of application.paid (portal.paid)
--   paid_cashless       paid with method = cashless
--   revenue_vnd         sum of amount_vnd (portal.revenue_vnd)
--   rated               count of application.rated
--   rating_sum          sum of score
--   online_pct          100 x submitted_online / submitted (portal.online_pct)
--   level4_pct          100 x submitted_level4 / submitted (portal.level4_pct)
--   on_time_pct         100 x resolved_on_time / resolved (portal.on_time_pct)
--   approved_pct        100 x resolved_approved / resolved (portal.approved_pct)
--   cashless_pct        100 x paid_cashless / paid (portal.cashless_pct)
--   rating_avg          rating_sum / rated (portal.rating_avg)

CREATE OR REPLACE VIEW portal_kpi_minute AS
SELECT bucket, agency, district, service_level,
       submitted, submitted_online, submitted_level4, resolved, resolved_on_time, resolved_approved,
       paid, paid_cashless, revenue_vnd, rated, rating_sum,
       100.0 * submitted_online / NULLIF(submitted, 0) AS online_pct,
       100.0 * submitted_level4 / NULLIF(submitted, 0) AS level4_pct,
       100.0 * resolved_on_time / NULLIF(resolved, 0) AS on_time_pct,
       100.0 * resolved_approved / NULLIF(resolved, 0) AS approved_pct,
       100.0 * paid_cashless / NULLIF(paid, 0) AS cashless_pct,
       rating_sum / NULLIF(rated, 0) AS rating_avg
FROM (
    SELECT bucket, agency, district, service_level,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.submitted'), 0) AS submitted,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.submitted.online'), 0) AS submitted_online,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.submitted.level4'), 0) AS submitted_level4,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.resolved'), 0) AS resolved,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.resolved.on_time'), 0) AS resolved_on_time,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.resolved.approved'), 0) AS resolved_approved,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.paid'), 0) AS paid,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.paid.cashless'), 0) AS paid_cashless,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.paid.revenue_vnd'), 0) AS revenue_vnd,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.rated'), 0) AS rated,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.rated.score_sum'), 0) AS rating_sum
    FROM kpi_minute
    WHERE metric LIKE 'portal.%'
    GROUP BY bucket, agency, district, service_level
) s;

CREATE OR REPLACE VIEW portal_kpi_hour AS
SELECT bucket, agency, district, service_level,
       submitted, submitted_online, submitted_level4, resolved, resolved_on_time, resolved_approved,
       paid, paid_cashless, revenue_vnd, rated, rating_sum,
       100.0 * submitted_online / NULLIF(submitted, 0) AS online_pct,
       100.0 * submitted_level4 / NULLIF(submitted, 0) AS level4_pct,
       100.0 * resolved_on_time / NULLIF(resolved, 0) AS on_time_pct,
       100.0 * resolved_approved / NULLIF(resolved, 0) AS approved_pct,
       100.0 * paid_cashless / NULLIF(paid, 0) AS cashless_pct,
       rating_sum / NULLIF(rated, 0) AS rating_avg
FROM (
    SELECT bucket, agency, district, service_level,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.submitted'), 0) AS submitted,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.submitted.online'), 0) AS submitted_online,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.submitted.level4'), 0) AS submitted_level4,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.resolved'), 0) AS resolved,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.resolved.on_time'), 0) AS resolved_on_time,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.resolved.approved'), 0) AS resolved_approved,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.paid'), 0) AS paid,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.paid.cashless'), 0) AS paid_cashless,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.paid.revenue_vnd'), 0) AS revenue_vnd,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.rated'), 0) AS rated,
           COALESCE(sum(value) FILTER (WHERE metric = 'portal.rated.score_sum'), 0) AS rating_sum
    FROM kpi_hour
    WHERE metric LIKE 'portal.%'
    GROUP BY bucket, agency, district, service_level
) s;

-- portal_kpi_minute_total, portal_kpi_hour_total: the same, all dimensions together.
CREATE OR REPLACE VIEW portal_kpi_minute_total AS
SELECT bucket, submitted, resolved, paid, revenue_vnd, rated,
       100.0 * submitted_online / NULLIF(submitted, 0) AS online_pct,
       100.0 * submitted_level4 / NULLIF(submitted, 0) AS level4_pct,
       100.0 * resolved_on_time / NULLIF(resolved, 0) AS on_time_pct,
       100.0 * resolved_approved / NULLIF(resolved, 0) AS approved_pct,
       100.0 * paid_cashless / NULLIF(paid, 0) AS cashless_pct,
       rating_sum / NULLIF(rated, 0) AS rating_avg
FROM (
    SELECT bucket, sum(submitted) AS submitted, sum(submitted_online) AS submitted_online,
           sum(submitted_level4) AS submitted_level4, sum(resolved) AS resolved,
           sum(resolved_on_time) AS resolved_on_time, sum(resolved_approved) AS resolved_approved,
           sum(paid) AS paid, sum(paid_cashless) AS paid_cashless, sum(revenue_vnd) AS revenue_vnd,
           sum(rated) AS rated, sum(rating_sum) AS rating_sum
    FROM portal_kpi_minute GROUP BY bucket
) s;

CREATE OR REPLACE VIEW portal_kpi_hour_total AS
SELECT bucket, submitted, resolved, paid, revenue_vnd, rated,
       100.0 * submitted_online / NULLIF(submitted, 0) AS online_pct,
       100.0 * submitted_level4 / NULLIF(submitted, 0) AS level4_pct,
       100.0 * resolved_on_time / NULLIF(resolved, 0) AS on_time_pct,
       100.0 * resolved_approved / NULLIF(resolved, 0) AS approved_pct,
       100.0 * paid_cashless / NULLIF(paid, 0) AS cashless_pct,
       rating_sum / NULLIF(rated, 0) AS rating_avg
FROM (
    SELECT bucket, sum(submitted) AS submitted, sum(submitted_online) AS submitted_online,
           sum(submitted_level4) AS submitted_level4, sum(resolved) AS resolved,
           sum(resolved_on_time) AS resolved_on_time, sum(resolved_approved) AS resolved_approved,
           sum(paid) AS paid, sum(paid_cashless) AS paid_cashless, sum(revenue_vnd) AS revenue_vnd,
           sum(rated) AS rated, sum(rating_sum) AS rating_sum
    FROM portal_kpi_hour GROUP BY bucket
) s;


-- Percentiles, per minute / hour of event time, all dimensions together --------------------
-- kpi_percentile_minute, kpi_percentile_hour: nearest-rank percentiles read from the sketches
-- (the ceil(p x n)-th smallest value, within 1 % of the exact one), one row per bucket and
-- sketch:
--   metric    'vc.rtt_ms' (milliseconds), 'eoffice.processing_hours' or
--             'portal.resolution_hours' (hours)
--   unit      'ms' or 'hours'
--   samples   values counted
--   p50, p95, p99   percentiles in `unit`
-- A percentile over several buckets cannot be made from these rows; read wider buckets
-- (the hour view) or Prometheus' ioc_*_p95 gauges.

CREATE OR REPLACE VIEW kpi_percentile_minute AS
SELECT bucket, metric,
       CASE WHEN metric = 'vc.rtt_ms' THEN 'ms' ELSE 'hours' END AS unit,
       max(total) AS samples,
       ioc_sketch_value(min(bin) FILTER (WHERE upto >= greatest(1, ceil(0.50 * total - 1e-9)))) AS p50,
       ioc_sketch_value(min(bin) FILTER (WHERE upto >= greatest(1, ceil(0.95 * total - 1e-9)))) AS p95,
       ioc_sketch_value(min(bin) FILTER (WHERE upto >= greatest(1, ceil(0.99 * total - 1e-9)))) AS p99
FROM (
    SELECT bucket, metric, bin,
           sum(n) OVER (PARTITION BY bucket, metric ORDER BY bin) AS upto,
           sum(n) OVER (PARTITION BY bucket, metric) AS total
    FROM (
        SELECT bucket, metric, bin, sum(count) AS n
        FROM kpi_sketch_minute
        GROUP BY bucket, metric, bin
        HAVING sum(count) > 0
    ) bins
) ranked
GROUP BY bucket, metric;

CREATE OR REPLACE VIEW kpi_percentile_hour AS
SELECT bucket, metric,
       CASE WHEN metric = 'vc.rtt_ms' THEN 'ms' ELSE 'hours' END AS unit,
       max(total) AS samples,
       ioc_sketch_value(min(bin) FILTER (WHERE upto >= greatest(1, ceil(0.50 * total - 1e-9)))) AS p50,
       ioc_sketch_value(min(bin) FILTER (WHERE upto >= greatest(1, ceil(0.95 * total - 1e-9)))) AS p95,
       ioc_sketch_value(min(bin) FILTER (WHERE upto >= greatest(1, ceil(0.99 * total - 1e-9)))) AS p99
FROM (
    SELECT bucket, metric, bin,
           sum(n) OVER (PARTITION BY bucket, metric ORDER BY bin) AS upto,
           sum(n) OVER (PARTITION BY bucket, metric) AS total
    FROM (
        SELECT bucket, metric, bin, sum(count) AS n
        FROM kpi_sketch_hour
        GROUP BY bucket, metric, bin
        HAVING sum(count) > 0
    ) bins
) ranked
GROUP BY bucket, metric;


-- State KPIs' history -----------------------------------------------------------------------
-- kpi_state_history: state KPIs ("now" KPIs such as eoffice.backlog) sampled at each minute's
-- end by the worker (the API's series of a state KPI).
--   kpi               the KPI's name, e.g. 'portal.overdue'
--   breakdown         '' for the total, else the dimension ('agency', 'district', ...)
--   breakdown_value   the dimension's value ('' for the total)
--   value             the KPI's value at the end of that minute
CREATE OR REPLACE VIEW kpi_state_history AS
SELECT bucket, metric AS kpi, dimension AS breakdown, value_key AS breakdown_value, value
FROM kpi_state_minute;


-- Now: entity state judged at now() -----------------------------------------------------------

-- vc_endpoints_now: every endpoint seen (registry sites never seen are not listed here; the
-- API's vc.endpoints_known counts them too).
--   endpoint_id, district, site_level   as its latest event says
--   last_event_at              occurred_at of its latest event
--   last_status_offline        its latest event is a vc.status 'offline'
--   online                     as vc.endpoints_online: not offline and last event at most
--                              ioc.offline_after_s old
--   seconds_since_last_event   now() - last_event_at, in seconds
CREATE OR REPLACE VIEW vc_endpoints_now AS
SELECT endpoint_id, district, site_level, last_event_at,
       last_offline AS last_status_offline,
       (NOT last_offline AND last_event_at >= now() - ioc_offline_after()) AS online,
       extract(epoch FROM now() - last_event_at)::float8 AS seconds_since_last_event
FROM vc_endpoints;

-- vc_meetings_now: meetings in progress (started, not ended, younger than
-- ioc.meeting_max_duration_s), as vc.meetings_active counts them.
--   meeting_id, title, organiser, started_at   from vc.meeting.started
--   planned_endpoints     distinct endpoints planned for it
--   endpoints_offline     planned endpoints not online now (never seen counts as offline)
CREATE OR REPLACE VIEW vc_meetings_now AS
SELECT m.meeting_id, m.title, m.organiser, m.started_at,
       (SELECT count(DISTINCT p.endpoint_id) FROM unnest(m.planned_endpoints) AS p(endpoint_id))
           AS planned_endpoints,
       (SELECT count(DISTINCT p.endpoint_id) FROM unnest(m.planned_endpoints) AS p(endpoint_id)
        LEFT JOIN vc_endpoints_now e USING (endpoint_id)
        WHERE NOT COALESCE(e.online, false)) AS endpoints_offline
FROM vc_meetings m
WHERE m.started_at IS NOT NULL AND m.ended_at IS NULL
  AND m.started_at + ioc_meeting_max_duration() > now();

-- vc_meeting_endpoints_offline_now: one row per meeting in progress and planned endpoint that
-- is not online (the detail behind vc.meeting_endpoints_offline and its built-in alert).
--   meeting_id, title       the meeting
--   endpoint_id             the planned endpoint
--   district, site_level    as last seen; 'unknown' for an endpoint never seen
--   last_event_at           its latest event (NULL: never seen)
CREATE OR REPLACE VIEW vc_meeting_endpoints_offline_now AS
SELECT DISTINCT m.meeting_id, m.title, p.endpoint_id,
       COALESCE(e.district, 'unknown') AS district,
       COALESCE(e.site_level, 'unknown') AS site_level,
       e.last_event_at
FROM vc_meetings_now m
JOIN vc_meetings mm USING (meeting_id)
CROSS JOIN LATERAL unnest(mm.planned_endpoints) AS p(endpoint_id)
LEFT JOIN vc_endpoints_now e USING (endpoint_id)
WHERE NOT COALESCE(e.online, false);

-- eoffice_backlog_now: per agency, documents received and not processed (eoffice.backlog).
--   agency               'unknown' where the document did not say
--   backlog              documents received, not processed
--   overdue              of those, due_at has passed (eoffice.overdue)
--   oldest_received_at   the longest-waiting document's received time
--   next_due_at          the earliest due_at not yet passed
CREATE OR REPLACE VIEW eoffice_backlog_now AS
SELECT COALESCE(agency, 'unknown') AS agency,
       count(*) AS backlog,
       count(*) FILTER (WHERE due_at < now()) AS overdue,
       min(received_at) AS oldest_received_at,
       min(due_at) FILTER (WHERE due_at >= now()) AS next_due_at
FROM eoffice_documents
WHERE received_at IS NOT NULL AND processed_at IS NULL
GROUP BY 1;

-- portal_backlog_now: per agency, district and service level, applications submitted and not
-- resolved (portal.backlog).
--   agency, district, service_level   'unknown' where the application did not say
--   backlog               applications submitted, not resolved
--   overdue               of those, due_at has passed (portal.overdue)
--   oldest_submitted_at   the longest-waiting application's submission time
CREATE OR REPLACE VIEW portal_backlog_now AS
SELECT COALESCE(agency, 'unknown') AS agency,
       COALESCE(district, 'unknown') AS district,
       COALESCE(service_level, 'unknown') AS service_level,
       count(*) AS backlog,
       count(*) FILTER (WHERE due_at < now()) AS overdue,
       min(submitted_at) AS oldest_submitted_at
FROM portal_applications
WHERE submitted_at IS NOT NULL AND resolved_at IS NULL
GROUP BY 1, 2, 3;


-- Pipeline health ---------------------------------------------------------------------------

-- ingest_per_minute: records consumed per source topic and minute of ARRIVAL.
--   records     all records read
--   accepted    accepted into the KPIs
--   duplicate   already accepted before (not counted again)
--   rejected    dead-lettered (any reason; see deadletter_per_minute)
CREATE OR REPLACE VIEW ingest_per_minute AS
SELECT bucket, topic,
       sum(records)::bigint AS records,
       COALESCE(sum(records) FILTER (WHERE outcome = 'accepted'), 0)::bigint AS accepted,
       COALESCE(sum(records) FILTER (WHERE outcome = 'duplicate'), 0)::bigint AS duplicate,
       COALESCE(sum(records) FILTER (WHERE outcome NOT IN ('accepted', 'duplicate')), 0)::bigint AS rejected
FROM ingest_minute
GROUP BY bucket, topic;

-- deadletter_per_minute: records dead-lettered per source topic, reason and minute of arrival.
--   reason    the dead-letter reason (e.g. 'not_object', 'late', 'future', 'invalid')
--   records   records sent to ioc.deadletter
CREATE OR REPLACE VIEW deadletter_per_minute AS
SELECT bucket, topic, outcome AS reason, records
FROM ingest_minute
WHERE outcome NOT IN ('accepted', 'duplicate');

-- consumer_offsets_now: where each consumer group stands on each source partition, as stored
-- with the last batch (the truth a restarted worker resumes from).
--   consumer_group, topic, partition
--   next_offset            the next record to consume
--   high_watermark         the partition's end when that batch was stored
--   lag                    high_watermark - next_offset (records), NULL if unknown
--   newest_event_at        newest accepted occurred_at on the partition
--   updated_at             when the last batch was stored
--   seconds_since_update   now() - updated_at, in seconds
CREATE OR REPLACE VIEW consumer_offsets_now AS
SELECT consumer_group, topic, partition, next_offset, high_watermark,
       CASE WHEN high_watermark IS NOT NULL THEN greatest(high_watermark - next_offset, 0) END AS lag,
       newest_event_at, updated_at,
       extract(epoch FROM now() - updated_at)::float8 AS seconds_since_update
FROM ingest_offsets;

-- sources_now: per source topic (all four, even before their first event), freshness and the
-- last 5 minutes, as GET /api/v1/sources.
--   topic                 the source topic
--   newest_event_at       newest accepted event time (NULL: none yet)
--   event_age_seconds     now() - newest_event_at, in seconds (stale above IOC_STALE_AFTER_S,
--                         default 300)
--   accepted_5m, duplicate_5m, rejected_5m   records since the start of the minute 5 minutes ago
--   consumer_lag          records not yet consumed, summed over partitions, as the API
--                         computes it (NULL: no offsets stored yet)
--   partitions            partitions with a stored offset
--   last_stored_at        when a batch of this topic was last stored
CREATE OR REPLACE VIEW sources_now AS
WITH topics(topic) AS (
    VALUES ('ioc.vc.telemetry'), ('ioc.vc.meetings'), ('ioc.eoffice.documents'),
           ('ioc.portal.applications')
), recent AS (
    SELECT topic,
           COALESCE(sum(records) FILTER (WHERE outcome = 'accepted'), 0)::bigint AS accepted_5m,
           COALESCE(sum(records) FILTER (WHERE outcome = 'duplicate'), 0)::bigint AS duplicate_5m,
           COALESCE(sum(records) FILTER (WHERE outcome NOT IN ('accepted', 'duplicate')), 0)::bigint
               AS rejected_5m
    FROM ingest_minute
    WHERE bucket >= date_trunc('minute', now()) - interval '5 minutes'
    GROUP BY topic
), offsets AS (
    SELECT topic, max(newest_event_at) AS newest_event_at,
           sum(greatest(high_watermark - next_offset, 0))::bigint AS consumer_lag,
           count(DISTINCT partition) AS partitions,
           max(updated_at) AS last_stored_at
    FROM ingest_offsets
    GROUP BY topic
)
SELECT t.topic, o.newest_event_at,
       extract(epoch FROM now() - o.newest_event_at)::float8 AS event_age_seconds,
       COALESCE(r.accepted_5m, 0) AS accepted_5m,
       COALESCE(r.duplicate_5m, 0) AS duplicate_5m,
       COALESCE(r.rejected_5m, 0) AS rejected_5m,
       o.consumer_lag,
       COALESCE(o.partitions, 0) AS partitions,
       o.last_stored_at
FROM topics t
LEFT JOIN recent r USING (topic)
LEFT JOIN offsets o USING (topic);

-- alerts_active: KPI alerts pending or firing now (GET /api/v1/alerts).
--   rule, state ('pending' or 'firing'), severity, kpi, kpi_window
--   by_dim, by_value      the breakdown and its value (NULL without `by`)
--   value                 the KPI's value at the last evaluation
--   silenced              a silence matches it (it notifies no one)
--   active_since, firing_since
--   summary               its `summary` annotation
CREATE OR REPLACE VIEW alerts_active AS
SELECT rule, state, severity, kpi, kpi_window, by_dim, by_value, value, silenced,
       active_since, firing_since, annotations ->> 'summary' AS summary
FROM alert_state
WHERE state IN ('pending', 'firing');


-- Column comments (shown by psql's \d+ and Grafana's query builder) --------------------------

COMMENT ON VIEW vc_kpi_minute IS 'Video-conference KPI blocks per event-time minute, district and site level.';
COMMENT ON VIEW vc_kpi_hour IS 'Video-conference KPI blocks per event-time hour, district and site level.';
COMMENT ON VIEW vc_kpi_minute_total IS 'Video-conference KPIs per event-time minute, all endpoints.';
COMMENT ON VIEW vc_kpi_hour_total IS 'Video-conference KPIs per event-time hour, all endpoints.';
COMMENT ON VIEW vc_presence_hour IS 'Endpoints and endpoint-minutes with heartbeats per hour, district and site level.';
COMMENT ON VIEW eoffice_kpi_minute IS 'E-office KPIs per event-time minute and agency.';
COMMENT ON VIEW eoffice_kpi_hour IS 'E-office KPIs per event-time hour and agency.';
COMMENT ON VIEW eoffice_kpi_minute_total IS 'E-office KPIs per event-time minute, all agencies.';
COMMENT ON VIEW eoffice_kpi_hour_total IS 'E-office KPIs per event-time hour, all agencies.';
COMMENT ON VIEW portal_kpi_minute IS 'Portal KPIs per event-time minute, agency, district and service level.';
COMMENT ON VIEW portal_kpi_hour IS 'Portal KPIs per event-time hour, agency, district and service level.';
COMMENT ON VIEW portal_kpi_minute_total IS 'Portal KPIs per event-time minute, all dimensions.';
COMMENT ON VIEW portal_kpi_hour_total IS 'Portal KPIs per event-time hour, all dimensions.';
COMMENT ON VIEW kpi_percentile_minute IS 'Nearest-rank percentiles per event-time minute from the sketches, all dimensions.';
COMMENT ON VIEW kpi_percentile_hour IS 'Nearest-rank percentiles per event-time hour from the sketches, all dimensions.';
COMMENT ON VIEW kpi_state_history IS 'State KPIs sampled at the end of each minute.';
COMMENT ON VIEW vc_endpoints_now IS 'Every endpoint seen, and whether it is online now.';
COMMENT ON VIEW vc_meetings_now IS 'Meetings in progress now, with their planned endpoints offline.';
COMMENT ON VIEW vc_meeting_endpoints_offline_now IS 'Planned endpoints of meetings in progress that are not online now.';
COMMENT ON VIEW eoffice_backlog_now IS 'E-office backlog and overdue documents now, per agency.';
COMMENT ON VIEW portal_backlog_now IS 'Portal backlog and overdue applications now, per agency, district and service level.';
COMMENT ON VIEW ingest_per_minute IS 'Records consumed per source topic and arrival minute, by outcome.';
COMMENT ON VIEW deadletter_per_minute IS 'Records dead-lettered per source topic, reason and arrival minute.';
COMMENT ON VIEW consumer_offsets_now IS 'Stored offset, high watermark and lag of every consumer group and partition.';
COMMENT ON VIEW sources_now IS 'Per source topic: newest event, last 5 minutes, consumer lag.';
COMMENT ON VIEW alerts_active IS 'KPI alerts pending or firing now.';

-- The columns shared by several views are commented in a loop; the rest one by one below.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT a.attrelid::regclass::text AS view_name, a.attname, n.note
        FROM pg_attribute a
        JOIN pg_class k ON k.oid = a.attrelid
        JOIN (VALUES
        ('bucket', 'Start of the minute or hour (event time for KPI views, arrival time for ingest views).'),
        ('district', 'District code as the events carry it (''unknown'' where the entity never said).'),
        ('site_level', 'Site level of the endpoint: province, department, district or commune.'),
        ('agency', 'Agency code as the events carry it (''unknown'' where the entity never said).'),
        ('service_level', 'Public-service level (2, 3 or 4; ''unknown'' where never said).'),
        ('heartbeats', 'Count of vc.heartbeat events (vc.heartbeats).'),
        ('jitter_ms_sum', 'Sum of jitter_ms over the heartbeats (to re-aggregate the mean).'),
        ('packet_loss_pct_sum', 'Sum of packet_loss_pct over the heartbeats (to re-aggregate the mean).'),
        ('jitter_ms_avg', 'Mean jitter in ms (vc.jitter_ms_avg); NULL over no heartbeats.'),
        ('packet_loss_pct_avg', 'Mean packet loss in % (vc.packet_loss_pct_avg); NULL over no heartbeats.'),
        ('endpoints_present', 'Endpoints with at least one heartbeat in the hour.'),
        ('endpoint_minutes', 'Endpoint-minutes with at least one heartbeat (availability numerator).'),
        ('received', 'Count of document.received (eoffice.received).'),
        ('processed', 'Count of document.processed (eoffice.processed).'),
        ('processed_on_time', 'Processed with occurred_at <= due_at.'),
        ('processed_signed', 'Processed with digitally_signed.'),
        ('signed_pct', '100 x processed_signed / processed (eoffice.signed_pct); NULL over none.'),
        ('submitted', 'Count of application.submitted (portal.submitted).'),
        ('submitted_online', 'Submitted with channel = online.'),
        ('submitted_level4', 'Submitted with service_level = 4.'),
        ('resolved', 'Count of application.resolved (portal.resolved).'),
        ('resolved_on_time', 'Resolved with occurred_at <= due_at.'),
        ('resolved_approved', 'Resolved with outcome = approved.'),
        ('paid', 'Count of application.paid (portal.paid).'),
        ('paid_cashless', 'Paid with method = cashless.'),
        ('revenue_vnd', 'Sum of amount_vnd (portal.revenue_vnd).'),
        ('rated', 'Count of application.rated.'),
        ('rating_sum', 'Sum of rating scores.'),
        ('online_pct', '100 x submitted_online / submitted (portal.online_pct); NULL over none.'),
        ('level4_pct', '100 x submitted_level4 / submitted (portal.level4_pct); NULL over none.'),
        ('approved_pct', '100 x resolved_approved / resolved (portal.approved_pct); NULL over none.'),
        ('cashless_pct', '100 x paid_cashless / paid (portal.cashless_pct); NULL over none.'),
        ('rating_avg', 'rating_sum / rated (portal.rating_avg); NULL over none.'),
        ('metric', 'Sketch: vc.rtt_ms (ms), eoffice.processing_hours or portal.resolution_hours (hours).'),
        ('unit', 'Unit of p50, p95 and p99: ms or hours.'),
        ('samples', 'Values counted in the sketch.'),
        ('p50', 'Median (nearest rank, within 1 %).'),
        ('p95', '95th percentile (nearest rank, within 1 %).'),
        ('p99', '99th percentile (nearest rank, within 1 %).'),
        ('kpi', 'KPI name, e.g. portal.overdue.'),
        ('breakdown', 'Dimension of the breakdown; empty for the total.'),
        ('breakdown_value', 'Value of the dimension; empty for the total.'),
        ('value', 'The KPI''s value.'),
        ('endpoint_id', 'Video-conference endpoint id.'),
        ('last_event_at', 'occurred_at of the endpoint''s latest event (NULL: never seen).'),
        ('last_status_offline', 'The latest event is a vc.status offline.'),
        ('online', 'Online now: not offline and last event at most ioc.offline_after_s old.'),
        ('seconds_since_last_event', 'now() - last_event_at, in seconds.'),
        ('meeting_id', 'Meeting id.'),
        ('title', 'Meeting title.'),
        ('organiser', 'Organising agency of the meeting.'),
        ('started_at', 'When the meeting started.'),
        ('planned_endpoints', 'Distinct endpoints planned for the meeting.'),
        ('endpoints_offline', 'Planned endpoints not online now (never seen counts as offline).'),
        ('backlog', 'Received (submitted) and not yet processed (resolved).'),
        ('overdue', 'Of the backlog, those whose due_at has passed.'),
        ('oldest_received_at', 'Received time of the longest-waiting document.'),
        ('next_due_at', 'Earliest due_at that has not passed yet.'),
        ('oldest_submitted_at', 'Submission time of the longest-waiting application.'),
        ('topic', 'Source topic.'),
        ('records', 'Records.'),
        ('accepted', 'Records accepted into the KPIs.'),
        ('duplicate', 'Records already accepted before (not counted again).'),
        ('rejected', 'Records dead-lettered (any reason).'),
        ('reason', 'Dead-letter reason.'),
        ('consumer_group', 'Kafka consumer group (IOC_CONSUMER_GROUP).'),
        ('partition', 'Partition number.'),
        ('next_offset', 'Next offset to consume (stored with the last batch).'),
        ('high_watermark', 'End of the partition when the last batch was stored.'),
        ('lag', 'Records not yet consumed: high_watermark - next_offset (NULL: unknown).'),
        ('newest_event_at', 'Newest accepted occurred_at.'),
        ('updated_at', 'When the last batch was stored.'),
        ('seconds_since_update', 'now() - updated_at, in seconds.'),
        ('event_age_seconds', 'now() - newest_event_at, in seconds (stale above IOC_STALE_AFTER_S).'),
        ('accepted_5m', 'Records accepted since the start of the minute 5 minutes ago.'),
        ('duplicate_5m', 'Duplicates since the start of the minute 5 minutes ago.'),
        ('rejected_5m', 'Records dead-lettered since the start of the minute 5 minutes ago.'),
        ('consumer_lag', 'Records not yet consumed, over all partitions (NULL: no offsets stored yet).'),
        ('partitions', 'Partitions with a stored offset.'),
        ('last_stored_at', 'When a batch of this topic was last stored.'),
        ('rule', 'Alert rule name (the alertname label).'),
        ('state', 'pending or firing.'),
        ('severity', 'info, warning or critical.'),
        ('kpi_window', 'Window of a windowed KPI.'),
        ('by_dim', 'Breakdown of the rule (NULL without by).'),
        ('by_value', 'Dimension value of this alert (NULL without by).'),
        ('silenced', 'A silence matches it: it shows but notifies no one.'),
        ('active_since', 'When its condition first held.'),
        ('firing_since', 'When it started firing (NULL while pending).'),
        ('summary', 'Its summary annotation.')
        ) AS n(col, note) ON n.col = a.attname
        WHERE k.relkind = 'v' AND k.relnamespace = current_schema()::regnamespace
          AND a.attnum > 0 AND NOT a.attisdropped
          AND k.relname IN ('vc_kpi_minute', 'vc_kpi_hour', 'vc_kpi_minute_total', 'vc_kpi_hour_total',
                            'vc_presence_hour', 'eoffice_kpi_minute', 'eoffice_kpi_hour',
                            'eoffice_kpi_minute_total', 'eoffice_kpi_hour_total', 'portal_kpi_minute',
                            'portal_kpi_hour', 'portal_kpi_minute_total', 'portal_kpi_hour_total',
                            'kpi_percentile_minute', 'kpi_percentile_hour', 'kpi_state_history',
                            'vc_endpoints_now', 'vc_meetings_now', 'vc_meeting_endpoints_offline_now',
                            'eoffice_backlog_now', 'portal_backlog_now', 'ingest_per_minute',
                            'deadletter_per_minute', 'consumer_offsets_now', 'sources_now',
                            'alerts_active')
    LOOP
        EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', c.view_name, c.attname, c.note);
    END LOOP;
END
$$;

-- Columns whose meaning differs between views.
COMMENT ON COLUMN eoffice_kpi_minute.on_time_pct IS '100 x processed_on_time / processed (eoffice.on_time_pct); NULL over none.';
COMMENT ON COLUMN eoffice_kpi_hour.on_time_pct IS '100 x processed_on_time / processed (eoffice.on_time_pct); NULL over none.';
COMMENT ON COLUMN eoffice_kpi_minute_total.on_time_pct IS '100 x processed_on_time / processed (eoffice.on_time_pct); NULL over none.';
COMMENT ON COLUMN eoffice_kpi_hour_total.on_time_pct IS '100 x processed_on_time / processed (eoffice.on_time_pct); NULL over none.';
COMMENT ON COLUMN portal_kpi_minute.on_time_pct IS '100 x resolved_on_time / resolved (portal.on_time_pct); NULL over none.';
COMMENT ON COLUMN portal_kpi_hour.on_time_pct IS '100 x resolved_on_time / resolved (portal.on_time_pct); NULL over none.';
COMMENT ON COLUMN portal_kpi_minute_total.on_time_pct IS '100 x resolved_on_time / resolved (portal.on_time_pct); NULL over none.';
COMMENT ON COLUMN portal_kpi_hour_total.on_time_pct IS '100 x resolved_on_time / resolved (portal.on_time_pct); NULL over none.';
COMMENT ON COLUMN vc_presence_hour.bucket IS 'Start of the hour.';
COMMENT ON COLUMN vc_meeting_endpoints_offline_now.district IS 'District as last seen; unknown for an endpoint never seen.';
COMMENT ON COLUMN vc_meeting_endpoints_offline_now.site_level IS 'Site level as last seen; unknown for an endpoint never seen.';
COMMENT ON COLUMN alerts_active.value IS 'The KPI''s value at the last evaluation.';
COMMENT ON COLUMN alerts_active.kpi IS 'The KPI the rule watches.';
COMMENT ON COLUMN kpi_state_history.bucket IS 'The minute whose end the value was sampled at.';
COMMENT ON COLUMN deadletter_per_minute.records IS 'Records sent to ioc.deadletter.';
