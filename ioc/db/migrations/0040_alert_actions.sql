-- What operators do about alerts (contract/KPIS.md, "HTTP API"): acknowledgements, silences
-- made through the API, escalations sent, and the audit log of every action.

-- One acknowledgement per alert, for the firing it was made in: a later firing of the same
-- alert (a new firing_since) is not acknowledged.
CREATE TABLE IF NOT EXISTS alert_acks (
    fingerprint text PRIMARY KEY,
    firing_since timestamptz NOT NULL,
    acked_by text NOT NULL,
    comment text NOT NULL DEFAULT '',
    acked_at timestamptz NOT NULL
);

-- Silences in Alertmanager's v2 shape, beside the rules file's. Expiring one sets ends_at to
-- the moment it was expired (and starts_at too, for one that had not begun), as Alertmanager does.
CREATE TABLE IF NOT EXISTS alert_silences (
    id uuid PRIMARY KEY,
    matchers jsonb NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    comment text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    CHECK (ends_at >= starts_at)
);
CREATE INDEX IF NOT EXISTS alert_silences_ends ON alert_silences (ends_at);

-- Each firing escalates at most once per escalation receiver.
CREATE TABLE IF NOT EXISTS alert_escalations (
    fingerprint text NOT NULL,
    firing_since timestamptz NOT NULL,
    receiver text NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (fingerprint, firing_since, receiver)
);

-- Every action: who, what, when, from where. Append-only: the API has no route that edits
-- it, and the database refuses UPDATE and DELETE of its rows.
CREATE TABLE IF NOT EXISTS audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    role text NOT NULL,
    scope text NOT NULL,
    address text,
    action text NOT NULL,
    target text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);

CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
