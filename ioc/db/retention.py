"""Retention: what is dropped when, so the database stays bounded at national scale.

`apply_retention` is the hourly step (the leader runs it at its first minute and every hour):

- on plain PostgreSQL it is `purge`, DELETE statements on every table;
- with TimescaleDB, each hypertable (the minute tables and `vc_presence`) is bounded by its own
  retention policy instead, which drops whole chunks. The policy's `drop_after` is set from the
  same settings on every step: created where missing, altered where the setting changed, left
  alone otherwise. The tables that are not hypertables (hourly rollups, entities, duplicate
  ids) keep the DELETE. A chunk is dropped once its *end* is older than the age, so a
  hypertable keeps up to one chunk (a day; a week for `vc_presence`) beyond what the DELETE
  keeps (deploy/timescaledb/README.md).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

import asyncpg

from ioc.db.pool import Queryable as Conn

log = logging.getLogger("ioc.db.retention")

ROLLUP_FACTOR = 10
"""Hourly rollups (and `vc_presence`, an hour per row) are kept this many times the minute retention."""

MINUTE_TABLES = (
    "kpi_minute",
    "kpi_sketch_minute",
    "kpi_distinct_minute",
    "kpi_state_minute",
    "ingest_minute",
)
"""Kept `IOC_MINUTE_RETENTION_DAYS`; hypertables with TimescaleDB."""

POLICY_SCHEDULE = timedelta(hours=1)
"""How often TimescaleDB runs a retention policy this module creates (as the DELETE job runs)."""


def policy_ages(minute_retention: timedelta) -> dict[str, timedelta]:
    """The age after which rows go, for each table that is a hypertable with TimescaleDB: the
    same ages `purge` deletes at."""
    return {**dict.fromkeys(MINUTE_TABLES, minute_retention), "vc_presence": ROLLUP_FACTOR * minute_retention}


async def apply_retention(
    conn: Conn,
    *,
    now: datetime,
    minute_retention: timedelta,
    dimension_retention: timedelta,
    dedupe_hours: int = 25,
) -> dict[str, int]:
    """Retention policies for the hypertables (TimescaleDB only), then the DELETE for every
    other table; returns rows deleted per table (the tables a policy bounds are not listed)."""
    bounded = await retention_policies(conn, policy_ages(minute_retention))
    return await purge(
        conn,
        now=now,
        minute_retention=minute_retention,
        dimension_retention=dimension_retention,
        dedupe_hours=dedupe_hours,
        skip=bounded,
    )


async def retention_policies(conn: Conn, ages: Mapping[str, timedelta]) -> dict[str, timedelta]:
    """Give each hypertable among `ages` a retention policy that drops chunks older than its
    age; returns the tables so bounded: none without TimescaleDB, and none that are plain
    tables (IOC_DB_TIMESCALE=off). A table whose policy cannot be set (a build without the
    Timescale-License part has no policies) is logged and left to the DELETE."""
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"):
        return {}
    rows = await conn.fetch(
        """SELECT w.name, w.age, j.job_id, (j.config->>'drop_after')::interval = w.age AS current
             FROM unnest($1::text[], $2::interval[]) AS w(name, age)
             JOIN timescaledb_information.hypertables h
               ON h.hypertable_schema = current_schema() AND h.hypertable_name = w.name
             LEFT JOIN timescaledb_information.jobs j
               ON j.proc_name = 'policy_retention'
              AND j.hypertable_schema = h.hypertable_schema AND j.hypertable_name = h.hypertable_name
            ORDER BY w.name""",
        list(ages),
        list(ages.values()),
    )
    bounded = {}
    for table, age, job_id, current in rows:
        try:
            if job_id is None:
                await conn.execute(
                    "SELECT add_retention_policy($1::text::regclass, drop_after => $2::interval,"
                    " schedule_interval => $3::interval, if_not_exists => true)",
                    table,
                    age,
                    POLICY_SCHEDULE,
                )
                log.info("retention policy created: %s drops chunks older than %s", table, age)
            elif not current:
                await conn.execute(
                    "SELECT alter_job($1, config => (SELECT jsonb_set(config, '{drop_after}',"
                    " to_jsonb($2::interval)) FROM timescaledb_information.jobs WHERE job_id = $1))",
                    job_id,
                    age,
                )
                log.info("retention policy of %s changed: drops chunks older than %s", table, age)
        except asyncpg.PostgresError as exc:
            log.warning("no retention policy on %s (%s); its rows are deleted instead", table, exc)
            continue
        bounded[table] = age
    return bounded


async def purge(
    conn: Conn,
    *,
    now: datetime,
    minute_retention: timedelta,
    dimension_retention: timedelta,
    dedupe_hours: int = 25,
    skip: Collection[str] = (),
) -> dict[str, int]:
    """Delete expired rows from every table but those in `skip`; returns rows deleted per table."""
    steps = {
        "accepted_fingerprints": (
            "DELETE FROM accepted_fingerprints WHERE accepted_hour < $1",
            int(now.timestamp()) // 3600 - dedupe_hours,
        ),
        # an hour later than the batch rows: a worker reads an expired hour back to take it out
        # of its memory (streams/dedupe_store.py), at its first batch after the hour's end
        "accepted_fingerprints_sealed": (
            "DELETE FROM accepted_fingerprints_sealed WHERE accepted_hour < $1",
            int(now.timestamp()) // 3600 - dedupe_hours - 1,
        ),
        # written only by workers of versions before migration 0005, kept for rolling upgrades
        "accepted_events": (
            "DELETE FROM accepted_events WHERE accepted_hour < $1",
            int(now.timestamp()) // 3600 - dedupe_hours,
        ),
        "kpi_minute": ("DELETE FROM kpi_minute WHERE bucket < $1", now - minute_retention),
        "kpi_sketch_minute": ("DELETE FROM kpi_sketch_minute WHERE bucket < $1", now - minute_retention),
        "kpi_distinct_minute": ("DELETE FROM kpi_distinct_minute WHERE bucket < $1", now - minute_retention),
        "kpi_state_minute": ("DELETE FROM kpi_state_minute WHERE bucket < $1", now - minute_retention),
        "ingest_minute": ("DELETE FROM ingest_minute WHERE bucket < $1", now - minute_retention),
        "kpi_hour": ("DELETE FROM kpi_hour WHERE bucket < $1", now - ROLLUP_FACTOR * minute_retention),
        "kpi_sketch_hour": (
            "DELETE FROM kpi_sketch_hour WHERE bucket < $1",
            now - ROLLUP_FACTOR * minute_retention,
        ),
        "kpi_distinct_hour": (
            "DELETE FROM kpi_distinct_hour WHERE bucket < $1",
            now - ROLLUP_FACTOR * minute_retention,
        ),
        "vc_presence": ("DELETE FROM vc_presence WHERE hour < $1", now - ROLLUP_FACTOR * minute_retention),
        "portal_applications": (
            "DELETE FROM portal_applications WHERE resolved_at < $1",
            now - dimension_retention,
        ),
        "portal_pending": ("DELETE FROM portal_pending WHERE bucket < $1", now - dimension_retention),
        "eoffice_documents": (
            "DELETE FROM eoffice_documents WHERE processed_at < $1 AND received_at IS NOT NULL",
            now - dimension_retention,
        ),
    }
    out = {}
    for table, (sql, arg) in steps.items():
        if table in skip:
            continue
        status = await conn.execute(sql, arg)
        out[table] = int(status.split()[-1])
    return out
