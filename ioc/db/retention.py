"""Retention: what is dropped when, so the database stays bounded at national scale.

`apply_retention` is the hourly step (the leader runs it at its first minute and every hour;
`ioc migrate` sets the same policies at once, through `migrate(retention=...)`):

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
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import asyncpg

from ioc.db.pool import Conn as Connection
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
    tables (IOC_DB_TIMESCALE=off).

    A table whose policy cannot be set or moved (the job API refuses: a role that does not own
    the tables, a build without the Timescale-License part) is named in one warning and left to
    the DELETE job, which bounds it by the same age; nothing is raised. Each change is its own
    (sub)transaction, so a refusal leaves an enclosing transaction (`migrate`'s) usable."""
    async with _one_connection(conn) as c:
        try:
            async with c.transaction():
                if not await c.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"
                ):
                    log.info(
                        "TimescaleDB is not installed in this database: the DELETE job bounds every table"
                    )
                    return {}
                rows = await c.fetch(_POLICIES, list(ages), list(ages.values()))
        except asyncpg.PostgresError as exc:
            _warn_refused(dict.fromkeys(ages, exc))
            return {}
        bounded: dict[str, timedelta] = {}
        refused: dict[str, asyncpg.PostgresError] = {}
        kept: dict[str, timedelta] = {}
        for table, age, job_id, drop_after in rows:
            try:
                async with c.transaction():
                    if job_id is None:
                        await c.execute(
                            "SELECT add_retention_policy($1::text::regclass, drop_after => $2::interval,"
                            " schedule_interval => $3::interval, if_not_exists => true)",
                            table,
                            age,
                            POLICY_SCHEDULE,
                        )
                        log.info("retention policy created: %s drops chunks older than %s", table, age)
                    elif drop_after != age:
                        await c.execute(
                            "SELECT alter_job($1, config => (SELECT jsonb_set(config, '{drop_after}',"
                            " to_jsonb($2::interval)) FROM timescaledb_information.jobs WHERE job_id = $1))",
                            job_id,
                            age,
                        )
                        log.info("retention policy of %s changed: drops chunks older than %s", table, age)
            except asyncpg.PostgresError as exc:
                refused[table] = exc
                if job_id is not None:
                    kept[table] = drop_after
                continue
            bounded[table] = age
        if refused:
            _warn_refused(refused, kept)
        return bounded


_POLICIES = """SELECT w.name, w.age, j.job_id, (j.config->>'drop_after')::interval AS drop_after
                 FROM unnest($1::text[], $2::interval[]) AS w(name, age)
                 JOIN timescaledb_information.hypertables h
                   ON h.hypertable_schema = current_schema() AND h.hypertable_name = w.name
                 LEFT JOIN timescaledb_information.jobs j
                   ON j.proc_name = 'policy_retention'
                  AND j.hypertable_schema = h.hypertable_schema AND j.hypertable_name = h.hypertable_name
                ORDER BY w.name"""
"""Each hypertable among the names, with its age and its retention job (and that job's age) if any."""


def _warn_refused(refused: Mapping[str, Exception], kept: Mapping[str, timedelta] | None = None) -> None:
    """One warning for every table left to the DELETE job: which, why, and what still runs."""
    why = "; ".join(dict.fromkeys(f"{type(exc).__name__}: {str(exc).strip()}" for exc in refused.values()))
    still = "".join(
        f"; {t}'s existing policy still drops chunks older than {age}" for t, age in (kept or {}).items()
    )
    log.warning(
        "TimescaleDB retention policies could not be set on %s (%s); the hourly DELETE job bounds"
        " these tables instead%s",
        ", ".join(refused),
        why,
        still,
    )


@asynccontextmanager
async def _one_connection(conn: Conn) -> AsyncIterator[Connection]:
    """`conn` itself, or a connection of it if it is a pool: the steps must share one session."""
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as held:
            yield held
    else:
        yield conn


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
