#!/usr/bin/env bash
# The read-only role Grafana's PostgreSQL datasource logs in as (GRAFANA_DB_USER, password
# GRAFANA_DB_PASSWORD). Run by the database image once, when its volume is first initialised
# (/docker-entrypoint-initdb.d). Idempotent: run it again on an existing volume to create the
# role or to change its password:
#   docker compose exec timescaledb bash /docker-entrypoint-initdb.d/10-grafana-reader.sh
# It reads every table and view (pg_read_all_data) and can write nothing: its sessions are
# read-only and its statements time out after 30 s, so a heavy panel cannot hurt the pipeline.
# The dashboards use the views of ioc/db/migrations/0020_views.sql.

if [ -z "${GRAFANA_DB_PASSWORD:-}" ]; then
    echo "GRAFANA_DB_PASSWORD is not set (see .env.example); Grafana's database role not created" >&2
    exit 1
fi

psql -v ON_ERROR_STOP=1 --no-psqlrc \
     --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" \
     -v reader="${GRAFANA_DB_USER:-grafana_reader}" -v password="${GRAFANA_DB_PASSWORD}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'reader')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'reader') \gexec
ALTER ROLE :"reader" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
ALTER ROLE :"reader" SET default_transaction_read_only = on;
ALTER ROLE :"reader" SET statement_timeout = '30s';
GRANT CONNECT ON DATABASE :"DBNAME" TO :"reader";
GRANT pg_read_all_data TO :"reader";
SQL
