-- Views of the community digital-team source for Grafana's PostgreSQL panels (deploy/grafana/
-- dashboards/ioc-community.json) and for anyone with psql: the same read interface and
-- conventions as the kernel's views (ioc/db/migrations/0020_views.sql): dashboards query these
-- views, never the tables behind them.
--
--   bucket        start of the minute or hour of EVENT time (occurred_at), timestamptz; hours
--                 are UTC hours, as in kpi_hour.
--   dimensions    district, commune and kind as the activities carry them, read from the
--                 row's dimension set (dimension_sets.dims); level is the reporting team's
--                 level in community_teams, read when queried as the API does ('unknown' until
--                 the team's registration arrives).
--   counts, sums  0, not NULL, where nothing happened in a bucket that has other rows.
-- Teams active are distinct teams: a count over several hours or districts is
-- count(DISTINCT team_id) over community_active_teams_hour, never a sum of hourly counts.
--
-- A later change to a view goes in a new migration (this file runs once per database).


-- Activities, per minute / hour of event time -----------------------------------------------
-- community_kpi_minute, community_kpi_hour (district, commune, level, kind):
--   activities        count of activity.reported (community.activities)
--   citizens_helped   sum of citizens_helped (community.citizens_helped)
--   hours             sum of hours (community.hours)

CREATE OR REPLACE VIEW community_kpi_minute AS
SELECT bucket,
       COALESCE(ds.dims->>'district', 'unknown') AS district,
       COALESCE(ds.dims->>'commune', 'unknown') AS commune,
       COALESCE(t.level, 'unknown') AS level,
       COALESCE(ds.dims->>'kind', 'unknown') AS kind,
       COALESCE(sum(value) FILTER (WHERE metric = 'community.activities'), 0) AS activities,
       COALESCE(sum(value) FILTER (WHERE metric = 'community.citizens_helped'), 0) AS citizens_helped,
       COALESCE(sum(value) FILTER (WHERE metric = 'community.hours'), 0) AS hours
FROM kpi_minute
JOIN dimension_sets ds ON ds.id = kpi_minute.dim_set
LEFT JOIN community_teams t ON t.team_id = ds.dims->>'team'
WHERE metric IN ('community.activities', 'community.citizens_helped', 'community.hours')
GROUP BY 1, 2, 3, 4, 5;

CREATE OR REPLACE VIEW community_kpi_hour AS
SELECT bucket,
       COALESCE(ds.dims->>'district', 'unknown') AS district,
       COALESCE(ds.dims->>'commune', 'unknown') AS commune,
       COALESCE(t.level, 'unknown') AS level,
       COALESCE(ds.dims->>'kind', 'unknown') AS kind,
       COALESCE(sum(value) FILTER (WHERE metric = 'community.activities'), 0) AS activities,
       COALESCE(sum(value) FILTER (WHERE metric = 'community.citizens_helped'), 0) AS citizens_helped,
       COALESCE(sum(value) FILTER (WHERE metric = 'community.hours'), 0) AS hours
FROM kpi_hour
JOIN dimension_sets ds ON ds.id = kpi_hour.dim_set
LEFT JOIN community_teams t ON t.team_id = ds.dims->>'team'
WHERE metric IN ('community.activities', 'community.citizens_helped', 'community.hours')
GROUP BY 1, 2, 3, 4, 5;

-- community_kpi_minute_total, community_kpi_hour_total: the same, all teams together, and
--   teams_active    distinct teams with an activity in the bucket (the numerator of
--                   community.teams_active_pct; divide by community_teams_now.teams)
-- (Each row's teams are read for its own bucket, so a time filter on bucket stays cheap.)

CREATE OR REPLACE VIEW community_kpi_minute_total AS
SELECT bucket, activities, citizens_helped, hours,
       (SELECT count(DISTINCT member) FROM kpi_distinct_minute d
        WHERE d.metric = 'community.active_teams' AND d.bucket = s.bucket) AS teams_active
FROM (
    SELECT bucket, sum(activities) AS activities, sum(citizens_helped) AS citizens_helped,
           sum(hours) AS hours
    FROM community_kpi_minute GROUP BY bucket
) s;

CREATE OR REPLACE VIEW community_kpi_hour_total AS
SELECT bucket, activities, citizens_helped, hours,
       (SELECT count(DISTINCT member) FROM kpi_distinct_hour d
        WHERE d.metric = 'community.active_teams' AND d.bucket = s.bucket) AS teams_active
FROM (
    SELECT bucket, sum(activities) AS activities, sum(citizens_helped) AS citizens_helped,
           sum(hours) AS hours
    FROM community_kpi_hour GROUP BY bucket
) s;


-- Teams ---------------------------------------------------------------------------------------
-- community_active_teams_hour: one row per team and kind of activity it reported in the hour
-- (from kpi_distinct_hour). count(DISTINCT team_id) over any hours and grouping is the
-- numerator of community.teams_active_pct over them.
--   team_id, district, commune, level, kind
CREATE OR REPLACE VIEW community_active_teams_hour AS
SELECT DISTINCT d.bucket,
       COALESCE(ds.dims->>'district', 'unknown') AS district,
       COALESCE(ds.dims->>'commune', 'unknown') AS commune,
       COALESCE(t.level, 'unknown') AS level,
       COALESCE(ds.dims->>'kind', 'unknown') AS kind,
       d.member AS team_id
FROM kpi_distinct_hour d
JOIN dimension_sets ds ON ds.id = d.dim_set
LEFT JOIN community_teams t ON t.team_id = d.member
WHERE d.metric = 'community.active_teams';

-- community_teams_now: registered teams per district, commune and level (community_teams; a
-- team whose registration has not arrived yet is not counted, as in the API).
--   teams           teams registered (community.teams)
--   members         sum of each team's latest member count (community.members)
--   last_report_at  the latest member count reported among them
CREATE OR REPLACE VIEW community_teams_now AS
SELECT district, commune, level,
       count(*) AS teams,
       sum(members)::bigint AS members,
       max(members_at) AS last_report_at
FROM community_teams
WHERE registered_at IS NOT NULL
GROUP BY district, commune, level;


-- This source's topic in sources_now (ioc/db/migrations/0032_source_topics.sql) -----------------
INSERT INTO source_topics (topic) VALUES ('ioc.community.activities') ON CONFLICT (topic) DO NOTHING;


-- Column comments (psql's \d+ and Grafana's query builder) ------------------------------------

COMMENT ON VIEW community_kpi_minute IS 'Community-team activities per event-time minute, district, commune, team level and kind.';
COMMENT ON VIEW community_kpi_hour IS 'Community-team activities per event-time hour, district, commune, team level and kind.';
COMMENT ON VIEW community_kpi_minute_total IS 'Community-team activities and teams active per event-time minute, all teams.';
COMMENT ON VIEW community_kpi_hour_total IS 'Community-team activities and teams active per event-time hour, all teams.';
COMMENT ON VIEW community_active_teams_hour IS 'One row per team and kind with an activity in the event-time hour: count(DISTINCT team_id) is the teams active.';
COMMENT ON VIEW community_teams_now IS 'Community teams registered and their members now, per district, commune and level.';

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
        ('district', 'District code as the activity or team carries it (''unknown'' where missing).'),
        ('commune', 'Commune code as the activity or team carries it (''unknown'' where missing).'),
        ('level', 'Level of the team: commune or village (''unknown'' until its registration arrives).'),
        ('kind', 'Kind of activity: account_setup, app_install, online_service_help, cashless_help or training.'),
        ('activities', 'Count of activity.reported (community.activities).'),
        ('citizens_helped', 'Sum of citizens_helped (community.citizens_helped).'),
        ('hours', 'Sum of hours of help (community.hours).'),
        ('teams_active', 'Distinct teams with at least one activity in the bucket (numerator of community.teams_active_pct).'),
        ('team_id', 'The team that reported an activity in the hour (count it DISTINCT).'),
        ('teams', 'Teams registered (community.teams).'),
        ('members', 'Sum of each team''s latest member count (community.members).'),
        ('last_report_at', 'occurred_at of the latest member count reported among them.')
        ) AS n(col, note) ON n.col = a.attname
        WHERE k.relkind = 'v' AND k.relnamespace = current_schema()::regnamespace
          AND a.attnum > 0 AND NOT a.attisdropped
          AND k.relname IN ('community_kpi_minute', 'community_kpi_hour', 'community_kpi_minute_total',
                            'community_kpi_hour_total', 'community_active_teams_hour',
                            'community_teams_now')
    LOOP
        EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', c.view_name, c.attname, c.note);
    END LOOP;
END
$$;

COMMENT ON COLUMN community_active_teams_hour.bucket IS 'Start of the UTC hour of event time.';
COMMENT ON COLUMN community_active_teams_hour.level IS 'Level of the team (''unknown'' until its registration arrives).';
COMMENT ON COLUMN community_teams_now.district IS 'District of the team.';
COMMENT ON COLUMN community_teams_now.commune IS 'Commune of the team.';
COMMENT ON COLUMN community_teams_now.level IS 'Level of the team: commune or village.';
