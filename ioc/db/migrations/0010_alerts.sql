-- Alerting (streams/alerts): the state of every alert, its history, and what each receiver is
-- owed. Written only by the process holding the alert evaluation lock; read by the API.

-- One row per rule and label set (fingerprint); kept after it resolves, reused if it fires again.
CREATE TABLE IF NOT EXISTS alert_state (
    rule          text             NOT NULL,
    fingerprint   text             NOT NULL,
    state         text             NOT NULL CHECK (state IN ('pending', 'firing', 'resolved', 'inactive')),
    severity      text             NOT NULL,
    kpi           text             NOT NULL,
    kpi_window    text             NOT NULL,
    by_dim        text,
    by_value      text,
    labels        jsonb            NOT NULL,
    annotations   jsonb            NOT NULL,
    value         double precision,
    silenced      boolean          NOT NULL DEFAULT false,
    active_since  timestamptz      NOT NULL,
    firing_since  timestamptz,
    resolved_at   timestamptz,
    updated_at    timestamptz      NOT NULL,
    PRIMARY KEY (rule, fingerprint)
);
CREATE INDEX IF NOT EXISTS alert_state_active ON alert_state (state) WHERE state IN ('pending', 'firing');

-- Every state change, for GET /api/v1/alerts/history.
CREATE TABLE IF NOT EXISTS alert_history (
    id           bigserial        PRIMARY KEY,
    at           timestamptz      NOT NULL,
    rule         text             NOT NULL,
    fingerprint  text             NOT NULL,
    state        text             NOT NULL,
    previous     text,
    severity     text             NOT NULL,
    value        double precision,
    labels       jsonb            NOT NULL,
    annotations  jsonb            NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_history_at ON alert_history (at);

-- Notifications owed, per receiver, delivered in `seq` order. The body is the exact bytes
-- sent (and signed), so a retry is byte-for-byte the same request. `outcome` NULL: still owed.
CREATE TABLE IF NOT EXISTS alert_outbox (
    seq          bigserial        PRIMARY KEY,
    receiver     text             NOT NULL,
    rule         text             NOT NULL,
    status       text             NOT NULL CHECK (status IN ('firing', 'resolved')),
    body         bytea            NOT NULL,
    created_at   timestamptz      NOT NULL,
    attempts     integer          NOT NULL DEFAULT 0,
    last_error   text,
    outcome      text             CHECK (outcome IN ('sent', 'failed', 'expired')),
    done_at      timestamptz
);
CREATE INDEX IF NOT EXISTS alert_outbox_owed ON alert_outbox (receiver, seq) WHERE outcome IS NULL;

-- Per receiver and rule: the alerts it was told are firing, and when it was last notified
-- (Alertmanager's notification log), so a restart neither repeats nor forgets.
CREATE TABLE IF NOT EXISTS alert_notify_log (
    receiver      text             NOT NULL,
    rule          text             NOT NULL,
    notified      text[]           NOT NULL,
    last_sent_at  timestamptz,
    PRIMARY KEY (receiver, rule)
);
