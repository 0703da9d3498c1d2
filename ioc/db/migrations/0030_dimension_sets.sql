-- KPI rows keyed by a dimension set instead of four fixed columns (issue "Sources as packages").
--
-- A source declares the dimensions its rows carry; a row stores them as one `jsonb` object
-- (`{"district": "HAM_YEN", "site_level": "commune"}`), so a source with other dimensions (a
-- commune, a market, a team level) needs no new column. Existing rows move over: an empty
-- column meant "does not apply" and is left out of the set, so the new key is as unique as the
-- old one and every answer stays the same.
--
-- Rolling upgrade: a worker of the previous version writes the dropped columns by name, so its
-- batch statement fails as a whole and nothing of that batch (effects or offsets) is stored; it
-- logs and retries until it is replaced, and the new worker resumes from the stored offsets.
-- The per-source views of 0020 that Grafana reads keep their columns, now read from the set.

CREATE FUNCTION pg_temp.ioc_dims(district text, site_level text, agency text, service_level text)
    RETURNS jsonb LANGUAGE sql IMMUTABLE
    AS $$ SELECT jsonb_strip_nulls(jsonb_build_object(
              'district', NULLIF(district, ''), 'site_level', NULLIF(site_level, ''),
              'agency', NULLIF(agency, ''), 'service_level', NULLIF(service_level, ''))) $$;

ALTER TABLE kpi_minute ADD COLUMN dims jsonb;
UPDATE kpi_minute SET dims = pg_temp.ioc_dims(district, site_level, agency, service_level);
ALTER TABLE kpi_hour ADD COLUMN dims jsonb;
UPDATE kpi_hour SET dims = pg_temp.ioc_dims(district, site_level, agency, service_level);
ALTER TABLE kpi_sketch_minute ADD COLUMN dims jsonb;
UPDATE kpi_sketch_minute SET dims = pg_temp.ioc_dims(district, site_level, agency, service_level);
ALTER TABLE kpi_sketch_hour ADD COLUMN dims jsonb;
UPDATE kpi_sketch_hour SET dims = pg_temp.ioc_dims(district, site_level, agency, service_level);

-- Dropping the columns drops the 0020 views built on them (recreated below).
ALTER TABLE kpi_minute DROP CONSTRAINT kpi_minute_pkey,
    DROP COLUMN district CASCADE, DROP COLUMN site_level CASCADE,
    DROP COLUMN agency CASCADE, DROP COLUMN service_level CASCADE,
    ALTER COLUMN dims SET NOT NULL, ADD PRIMARY KEY (metric, bucket, dims);
ALTER TABLE kpi_hour DROP CONSTRAINT kpi_hour_pkey,
    DROP COLUMN district CASCADE, DROP COLUMN site_level CASCADE,
    DROP COLUMN agency CASCADE, DROP COLUMN service_level CASCADE,
    ALTER COLUMN dims SET NOT NULL, ADD PRIMARY KEY (metric, bucket, dims);
ALTER TABLE kpi_sketch_minute DROP CONSTRAINT kpi_sketch_minute_pkey,
    DROP COLUMN district CASCADE, DROP COLUMN site_level CASCADE,
    DROP COLUMN agency CASCADE, DROP COLUMN service_level CASCADE,
    ALTER COLUMN dims SET NOT NULL, ADD PRIMARY KEY (metric, bucket, dims, bin);
ALTER TABLE kpi_sketch_hour DROP CONSTRAINT kpi_sketch_hour_pkey,
    DROP COLUMN district CASCADE, DROP COLUMN site_level CASCADE,
    DROP COLUMN agency CASCADE, DROP COLUMN service_level CASCADE,
    ALTER COLUMN dims SET NOT NULL, ADD PRIMARY KEY (metric, bucket, dims, bin);

COMMENT ON COLUMN kpi_minute.dims IS
    'The row''s dimension set: {dimension: value} for the dimensions its source declares.';
COMMENT ON TABLE dimension_values IS
    'Every dimension value seen per source area (vc, eoffice, portal, ...), so a breakdown lists it even where it is 0.';

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
    SELECT bucket, dims->>'district' AS district, dims->>'site_level' AS site_level,
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
    SELECT bucket, dims->>'district' AS district, dims->>'site_level' AS site_level,
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
    SELECT bucket, dims->>'agency' AS agency,
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
    SELECT bucket, dims->>'agency' AS agency,
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
    SELECT bucket, dims->>'agency' AS agency, dims->>'district' AS district,
           dims->>'service_level' AS service_level,
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
    SELECT bucket, dims->>'agency' AS agency, dims->>'district' AS district,
           dims->>'service_level' AS service_level,
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
