-- sources_now lists every source topic, even before its first event, from a table of topics
-- instead of a list written into the view (0020): a source added later names its topic in
-- its own migration (`INSERT INTO source_topics ... ON CONFLICT DO NOTHING`), and the view,
-- which Grafana's pipeline dashboard reads, stays one definition.
CREATE TABLE IF NOT EXISTS source_topics (topic text PRIMARY KEY);
COMMENT ON TABLE source_topics IS 'Source topics sources_now lists, even before their first event; each source''s migration adds its own.';
INSERT INTO source_topics (topic)
VALUES ('ioc.vc.telemetry'), ('ioc.vc.meetings'), ('ioc.eoffice.documents'), ('ioc.portal.applications')
ON CONFLICT (topic) DO NOTHING;

CREATE OR REPLACE VIEW sources_now AS
WITH topics AS (
    SELECT topic FROM source_topics
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
COMMENT ON VIEW sources_now IS 'Per source topic: newest event, last 5 minutes, consumer lag.';
