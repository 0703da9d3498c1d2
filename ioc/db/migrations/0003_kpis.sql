-- KPI building blocks per minute of EVENT time and per dimension ('' where a dimension does
-- not apply). Sums and counts live in kpi_minute; percentile sketches (ioc/kpi/sketch.py) in
-- kpi_sketch_minute, one row per bin. The *_hour tables hold the same per hour, written by the
-- sink in the same transaction, so wide windows read ~60x fewer rows.
CREATE TABLE IF NOT EXISTS kpi_minute (
    bucket        timestamptz      NOT NULL,
    metric        text             NOT NULL,
    district      text             NOT NULL DEFAULT '',
    site_level    text             NOT NULL DEFAULT '',
    agency        text             NOT NULL DEFAULT '',
    service_level text             NOT NULL DEFAULT '',
    value         double precision NOT NULL,
    PRIMARY KEY (metric, bucket, district, site_level, agency, service_level)
);
CREATE INDEX IF NOT EXISTS kpi_minute_bucket ON kpi_minute (bucket);

CREATE TABLE IF NOT EXISTS kpi_hour (LIKE kpi_minute INCLUDING ALL);

CREATE TABLE IF NOT EXISTS kpi_sketch_minute (
    bucket        timestamptz      NOT NULL,
    metric        text             NOT NULL,
    district      text             NOT NULL DEFAULT '',
    site_level    text             NOT NULL DEFAULT '',
    agency        text             NOT NULL DEFAULT '',
    service_level text             NOT NULL DEFAULT '',
    bin           integer          NOT NULL,
    count         double precision NOT NULL,
    PRIMARY KEY (metric, bucket, district, site_level, agency, service_level, bin)
);
CREATE INDEX IF NOT EXISTS kpi_sketch_minute_bucket ON kpi_sketch_minute (bucket);

CREATE TABLE IF NOT EXISTS kpi_sketch_hour (LIKE kpi_sketch_minute INCLUDING ALL);

-- Which minutes of each hour an endpoint sent at least one heartbeat: bit m of `minutes` is
-- minute m. Availability counts bits; one row per endpoint-hour keeps national scale small.
CREATE TABLE IF NOT EXISTS vc_presence (
    endpoint_id text        NOT NULL,
    hour        timestamptz NOT NULL,
    district    text        NOT NULL,
    site_level  text        NOT NULL,
    minutes     bigint      NOT NULL,
    PRIMARY KEY (hour, endpoint_id)
);

-- Entity state for the "now" KPIs, computed at query time (they depend on the clock).
CREATE TABLE IF NOT EXISTS vc_endpoints (
    endpoint_id   text        PRIMARY KEY,
    district      text        NOT NULL,
    site_level    text        NOT NULL,
    last_event_at timestamptz NOT NULL,
    last_offline  boolean     NOT NULL  -- latest event is a status 'offline'
);

CREATE TABLE IF NOT EXISTS vc_meetings (
    meeting_id        text PRIMARY KEY,
    started_at        timestamptz,
    ended_at          timestamptz,
    organiser         text,
    title             text,
    planned_endpoints text[]
);

CREATE TABLE IF NOT EXISTS eoffice_documents (
    document_id  text PRIMARY KEY,
    agency       text,
    received_at  timestamptz,  -- occurred_at of document.received (null until it arrives)
    due_at       timestamptz,
    processed_at timestamptz
);
CREATE INDEX IF NOT EXISTS eoffice_documents_backlog
    ON eoffice_documents (agency) WHERE received_at IS NOT NULL AND processed_at IS NULL;

CREATE TABLE IF NOT EXISTS portal_applications (
    application_id text PRIMARY KEY,
    agency         text,
    district       text,
    service_level  text,
    service_code   text,
    submitted_at   timestamptz,
    due_at         timestamptz,
    resolved_at    timestamptz
);
CREATE INDEX IF NOT EXISTS portal_applications_backlog
    ON portal_applications (agency) WHERE submitted_at IS NOT NULL AND resolved_at IS NULL;
CREATE INDEX IF NOT EXISTS portal_applications_resolved ON portal_applications (resolved_at);

-- Contributions of application events that arrived before their application.submitted, held
-- under 'unknown' until it arrives; then they are moved to the real dimensions.
CREATE TABLE IF NOT EXISTS portal_pending (
    application_id text             NOT NULL,
    bucket         timestamptz      NOT NULL,
    metric         text             NOT NULL,
    bin            integer,          -- null: a sum; else a sketch bin
    value          double precision NOT NULL,
    district       text             NOT NULL,  -- the dimensions it is held under now
    agency         text             NOT NULL,
    service_level  text             NOT NULL
);
CREATE INDEX IF NOT EXISTS portal_pending_app ON portal_pending (application_id);

-- Every dimension value ever seen per area (vc, eoffice, portal), so a breakdown lists it
-- even where it is 0.
CREATE TABLE IF NOT EXISTS dimension_values (
    area      text NOT NULL,
    dimension text NOT NULL,
    value     text NOT NULL,
    PRIMARY KEY (area, dimension, value)
);

-- State KPIs sampled at each minute's end (their series), by one process at a time.
CREATE TABLE IF NOT EXISTS kpi_state_minute (
    bucket    timestamptz      NOT NULL,
    metric    text             NOT NULL,
    dimension text             NOT NULL DEFAULT '',  -- '' for the total
    value_key text             NOT NULL DEFAULT '',
    value     double precision NOT NULL,
    PRIMARY KEY (metric, bucket, dimension, value_key)
);
