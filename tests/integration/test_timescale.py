"""The TimescaleDB path, run for real: a TimescaleDB instance per test (tests/timescale_wasm.py,
WASM PostgreSQL 17.5 + TimescaleDB 2.23 under Node), beside the plain PostgreSQL server.

- `migrate()` runs every kernel and source migration with its `.timescale.sql` sibling: the
  hypertables, compression settings and policies those files declare exist.
- The same events, stored by the product's own write path into both databases, give the same
  rows and the same KPI answers (every window and breakdown, `all_kpis`, series), equal to the
  oracle's.
- The compression and retention policies run (`CALL run_job`): every hypertable compresses and
  its chunks give the same answers, the oracle's, and take late writes as PostgreSQL does;
  `ioc migrate` sets a retention policy per hypertable from the settings at once, the worker's
  retention step (ioc/db/retention.py) keeps it there and moves it when the setting changes,
  and its jobs drop the chunks that ended before the cut and keep every fresher row; the
  DELETE job (the fallback) deletes the same rows from compressed chunks, and bounds every
  table, with a warning, where the job API refuses the worker's role; on PostgreSQL the
  retention step is the DELETE job it was.
- Every view and every Grafana dashboard query runs on the hypertables and answers as on
  PostgreSQL.

Skipped, and only then, where Node.js is not installed (the reason is printed).
One connection at a time: the WASM server serves one client; a pool needs
IOC_DB_POOL_MIN = IOC_DB_POOL_MAX = 1.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from ioc.db.migrate import _migration_files, migrate
from ioc.db.pool import create_pool
from ioc.db.retention import ROLLUP_FACTOR, apply_retention, policy_ages, purge
from ioc.kpi.query import all_kpis, kpi_values
from ioc.kpi.series import series
from ioc.kpi.windows import floor_hour, floor_minute
from ioc.settings import DatabaseSettings, KpiSettings, Settings
from schemas.kpis import Kind
from sources import CATALOG, SOURCES
from streams.maintenance import Maintenance, sample_state
from tests.chaos import CTX, REGISTRY, kpi_mismatches, store_events
from tests.integration.test_deploy import DEPLOY, grafana_sql, seed, variable_options
from tests.integration.test_deploy import sql_value as grafana_value
from tests.scenarios import scenario
from tests.services import base_env
from tests.timescale_wasm import TimescaleWasm, ensure_installed, unavailable

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 3, 3, 17, 42, tzinfo=UTC)  # 10:17:42 in the province, a Tuesday
WINDOWS = ("5m", "15m", "1h", "6h", "24h", "7d")
MINUTE_TABLES = (
    "kpi_minute",
    "kpi_sketch_minute",
    "kpi_distinct_minute",
    "kpi_state_minute",
    "ingest_minute",
)


@pytest.fixture
def timescale(tmp_path: Path) -> Iterator[TimescaleWasm]:
    """A fresh TimescaleDB instance for this test (one database; one client at a time)."""
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    ensure_installed()
    with TimescaleWasm(tmp_path / "timescale") as ts:
        print(f"TimescaleDB instance started in {ts.start_seconds:.2f} s")
        yield ts


@pytest.fixture
async def ts_url(timescale: TimescaleWasm) -> AsyncIterator[str]:
    """The instance, migrated as `ioc migrate` does (IOC_DB_TIMESCALE=auto)."""
    conn = await asyncpg.connect(timescale.url)
    try:
        assert await migrate(conn, sources=SOURCES.migrations) is True
    finally:
        await conn.close()
    yield timescale.url


def declared() -> dict[str, set[tuple[str, ...]]]:
    """What the `.timescale.sql` files ask for: hypertables, compressed tables with their
    segment-by column, compression policies with their `compress_after`."""
    text = "\n".join(ts for _, _, ts in _migration_files(SOURCES.migrations) if ts)
    return {
        "hypertables": {(t,) for t in re.findall(r"create_hypertable\('(\w+)'", text)},
        "compressed": set(re.findall(r"ALTER TABLE (\w+) SET \(timescaledb\.compress, timescaledb\."
                                     r"compress_segmentby = '(\w+)'\)", text)),
        "policies": set(re.findall(r"add_compression_policy\('(\w+)', INTERVAL '([^']+)'", text)),
    }  # fmt: skip


async def rows_of(conn: asyncpg.Connection, table: str) -> list[str]:
    """Every row of `table` as text, sorted: equal lists mean equal contents."""
    return [r[0] for r in await conn.fetch(f"SELECT t::text FROM {table} t ORDER BY 1")]


async def answers(conn: asyncpg.Connection | asyncpg.Pool, as_of: datetime) -> dict[tuple[Any, ...], Any]:
    """Every KPI over every window, total and by each dimension it has; `all_kpis`; each window
    KPI's series per minute, hour and day over the last 3 hours."""
    out: dict[tuple[Any, ...], Any] = {}
    for window in WINDOWS:
        out[("all_kpis", window)] = await all_kpis(conn, as_of=as_of, window=window, ctx=CTX)
        for by in (None, *SOURCES.dimensions):
            names = [k.name for k in CATALOG if by is None or by in k.breakdowns]
            if names:
                got = await kpi_values(conn, names, as_of=as_of, window=window, by=by, ctx=CTX)
                out.update({(name, window, by): values for name, values in got.items()})
    for kpi in (k for k in CATALOG if k.kind is Kind.WINDOW):
        for step in ("1m", "1h", "1d"):
            got_series = await series(
                conn, kpi.name, start=as_of - timedelta(hours=3), end=as_of, step=step, by=None, ctx=CTX,
                as_of=as_of,
            )  # fmt: skip
            out[(kpi.name, "series", step)] = got_series
    return out


def same(a: Any, b: Any) -> bool:
    """Equal, floats to 12 significant digits: sums of the same floats in another order (another
    plan) may differ in their last bit, which no reader of a KPI can see."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def differences(
    pg: dict[tuple[Any, ...], Any], ts: dict[tuple[Any, ...], Any], what: str = "PostgreSQL and TimescaleDB"
) -> list[tuple[Any, ...]]:
    """The answers that differ; those that differ only in a float's last bits are printed."""
    keys = sorted(set(pg) | set(ts), key=repr)
    for key in (k for k in keys if pg.get(k) != ts.get(k) and same(pg.get(k), ts.get(k))):
        a, b = pg[key], ts[key]
        inner = [(k, a[k], b[k]) for k in a if a[k] != b[k]] if isinstance(a, dict) else [("", a, b)]
        print(f"{what} differ in the last bits: {key}: {inner}")
    return [(key, pg.get(key), ts.get(key)) for key in keys if not same(pg.get(key), ts.get(key))]


def events(seed_: int) -> list[dict[str, Any]]:
    return scenario(random.Random(seed_), NOW, REGISTRY, history=True)


# -- the server: what asyncpg and the product need of it ---------------------------------------------


async def test_the_server_behaves_as_a_postgresql_server_for_asyncpg(timescale: TimescaleWasm) -> None:
    """What the stock pglite-socket gets wrong (../shared/ENVIRONMENT.md): SSL is declined (asyncpg
    asks first), close() returns, the next client gets a fresh session, a long statement and a
    COPY work, the database name and startup settings count, a second client waits its turn."""
    first = await asyncpg.connect(timescale.url, server_settings={"application_name": "first"})
    await first.execute("CREATE TABLE t (n integer, s text)")
    await first.copy_records_to_table("t", records=[(n, f"row {n}") for n in range(5000)])
    long = "SELECT count(*) FROM t WHERE s <> '" + "x" * 150_000 + "'"  # 150 kB, many packets
    assert await first.fetchval(long) == 5000
    await first.execute("RESET ALL")  # what a pool does to a connection it takes back
    assert await first.fetchval("SELECT count(*) FROM t") == 5000  # search_path is still public
    assert await first.fetchval("SHOW application_name") == "first"
    await first.execute("BEGIN; CREATE TEMP TABLE scratch (n integer)")  # left open

    waiting = asyncio.ensure_future(asyncpg.connect(timescale.url))
    await asyncio.sleep(0.5)
    assert not waiting.done()  # one client at a time
    await asyncio.wait_for(first.close(), timeout=5)
    second = await asyncio.wait_for(waiting, timeout=30)
    try:
        assert await second.fetchval("SELECT to_regclass('scratch')") is None  # a new session
        assert await second.fetchval("SHOW application_name") == ""
        assert await second.fetchval("SELECT count(*) FROM t") == 5000
    finally:
        await second.close()
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        await asyncpg.connect(timescale.url.rsplit("/", 1)[0] + "/elsewhere")


# -- (a) migrations -------------------------------------------------------------------------------


async def test_migrate_creates_the_hypertables_compression_and_policies(timescale: TimescaleWasm) -> None:
    conn = await asyncpg.connect(timescale.url)
    try:
        assert await migrate(conn, sources=SOURCES.migrations) is True  # auto: the extension is there
        applied = await conn.fetch("SELECT name, timescale FROM schema_migrations ORDER BY name")
        assert [(r["name"], r["timescale"]) for r in applied] == [
            (name, True) for name, _, _ in _migration_files(SOURCES.migrations)
        ]
        want = declared()
        assert want["hypertables"] and want["compressed"] and want["policies"]
        hypertables = await conn.fetch(
            "SELECT hypertable_name FROM timescaledb_information.hypertables"
            " WHERE hypertable_schema = 'public'"
        )
        compressed = await conn.fetch(
            "SELECT hypertable_name, attname FROM timescaledb_information.compression_settings"
            " WHERE segmentby_column_index IS NOT NULL"
        )
        policies = await conn.fetch(
            "SELECT hypertable_name, config->>'compress_after' AS after FROM timescaledb_information.jobs"
            " WHERE proc_name = 'policy_compression'"
        )
        got = {
            "hypertables": {tuple(r) for r in hypertables},
            "compressed": {tuple(r) for r in compressed},
            "policies": {tuple(r) for r in policies},
        }
        assert got == want
        # idempotent, as every start of a worker runs it again
        assert await migrate(conn, sources=SOURCES.migrations) is True
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(applied)
    finally:
        await conn.close()


async def test_timescale_off_gives_plain_postgresql_tables_on_a_timescaledb_server(
    timescale: TimescaleWasm,
) -> None:
    conn = await asyncpg.connect(timescale.url)
    try:
        assert await migrate(conn, timescale="off", sources=SOURCES.migrations) is False
        assert await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'") == 0
        assert not await conn.fetchval("SELECT bool_or(timescale) FROM schema_migrations")
    finally:
        await conn.close()


# -- (b) the same answers on both -------------------------------------------------------------------


async def test_the_same_events_give_the_same_rows_and_answers_on_postgresql_and_timescaledb(
    ts_url: str, database_url: str
) -> None:
    sent = events(3)
    for url in (database_url, ts_url):
        await store_events(url, sent, NOW)
    pg = await asyncpg.connect(database_url)
    try:
        ts = await asyncpg.connect(ts_url)
        try:
            for table in (*MINUTE_TABLES, "kpi_hour", "kpi_sketch_hour", "kpi_distinct_hour", "vc_presence"):
                assert await rows_of(ts, table) == await rows_of(pg, table), table
        finally:
            await ts.close()
        for as_of in (NOW, NOW + timedelta(minutes=7, seconds=5)):
            expected = await answers(pg, as_of)
            # The API's way in: a pool. The WASM server serves one client: min = max = 1.
            settings = DatabaseSettings(db_pool_min=1, db_pool_max=1)
            pool = await create_pool(settings, url=ts_url)
            try:
                got = await answers(pool, as_of)
                async with pool.acquire() as conn:
                    wrong = await kpi_mismatches(conn, sent, as_of)
            finally:
                await pool.close()
            assert differences(expected, got) == []
            assert wrong == []
    finally:
        await pg.close()


# -- (c) policies, run by hand ------------------------------------------------------------------


async def test_compression_of_every_hypertable_keeps_the_oracle_answers_and_takes_late_writes(
    ts_url: str, database_url: str
) -> None:
    sent = events(5)
    for url in (database_url, ts_url):
        await store_events(url, sent, NOW)
        conn = await asyncpg.connect(url)
        try:  # the leader's state samples, so kpi_state_minute has rows to compress
            for minutes in (3, 2, 1):
                await sample_state(conn, CTX, floor_minute(NOW) - timedelta(minutes=minutes), NOW)
        finally:
            await conn.close()
    ts = await asyncpg.connect(ts_url)
    try:
        assert await kpi_mismatches(ts, sent, NOW) == []
        before = await answers(ts, NOW)
        jobs = await ts.fetch(
            "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression'"
        )
        for job in jobs:
            await ts.execute("CALL run_job($1)", job["job_id"])
        chunks = await ts.fetch(
            "SELECT hypertable_name, bool_and(is_compressed) AS all_compressed"
            " FROM timescaledb_information.chunks GROUP BY 1"
        )
        hypertables = {t for (t,) in declared()["hypertables"]}
        assert {t for t, _ in declared()["policies"]} == hypertables  # 0060: every one compressed
        assert {r["hypertable_name"]: r["all_compressed"] for r in chunks} == dict.fromkeys(hypertables, True)
        after = await answers(ts, NOW)
        assert differences(before, after, "TimescaleDB before and after compression") == []
        assert await kpi_mismatches(ts, sent, NOW) == []  # the oracle's answers, from compressed chunks
        counts = {t: await ts.fetchval(f"SELECT count(*) FROM {t}") for t in hypertables}
    finally:
        await ts.close()

    # Late writes into compressed chunks (another 8 days of history, through the same upserts)
    # leave the same rows as on PostgreSQL.
    for url in (database_url, ts_url):
        await store_events(url, events(6), NOW)
    pg = await asyncpg.connect(database_url)
    ts = await asyncpg.connect(ts_url)
    try:
        grown = [t for t in MINUTE_TABLES[:3] if await ts.fetchval(f"SELECT count(*) FROM {t}") > counts[t]]
        assert grown == list(MINUTE_TABLES[:3])
        for table in (*hypertables, "kpi_hour", "kpi_sketch_hour", "kpi_distinct_hour"):
            assert await rows_of(ts, table) == await rows_of(pg, table), table
        assert differences(await answers(pg, NOW), await answers(ts, NOW)) == []

        # The DELETE job (what a hypertable falls back to where no policy can be set) on both,
        # cutting inside a compressed chunk.
        first = await ts.fetchval("SELECT min(bucket) FROM kpi_minute")
        now = datetime.now(UTC)
        inside = now - (first + timedelta(hours=30))
        deleted = [
            await purge(conn, now=now, minute_retention=inside, dimension_retention=timedelta(days=36500))
            for conn in (pg, ts)
        ]
        assert deleted[0] == deleted[1] and deleted[1]["kpi_minute"] > 0
        for table in MINUTE_TABLES:
            assert await rows_of(ts, table) == await rows_of(pg, table), table
    finally:
        await ts.close()
        await pg.close()


RETENTION_JOBS = (
    "SELECT hypertable_name, job_id, schedule_interval, (config->>'drop_after')::interval AS drop_after"
    " FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'"
)


def ioc_migrate(url: str, days: float) -> str:
    """`ioc migrate` as an operator runs it, with IOC_MINUTE_RETENTION_DAYS=`days`; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "cli", "migrate"],
        env=base_env(IOC_DATABASE_URL=url, IOC_MINUTE_RETENTION_DAYS=str(days)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


async def retention_jobs(url: str) -> dict[str, tuple[int, timedelta, timedelta]]:
    """Each hypertable's retention job: (job id, schedule, drop_after)."""
    conn = await asyncpg.connect(url)
    try:
        return {r["hypertable_name"]: tuple(r)[1:] for r in await conn.fetch(RETENTION_JOBS)}
    finally:
        await conn.close()


async def leader_step(url: str, days: float) -> None:
    """The worker's leader maintenance step (state sample, then retention) once, started with
    IOC_MINUTE_RETENTION_DAYS=`days`, on `url` (one connection: the WASM server's limit)."""
    database = DatabaseSettings(database_url=SecretStr(url), db_pool_min=1, db_pool_max=1)
    maintenance = Maintenance(Settings(database=database, kpi=KpiSettings(minute_retention_days=days)), CTX)
    await maintenance.on_start()
    try:
        now = datetime.now(UTC)
        await maintenance.tick(floor_minute(now) - timedelta(minutes=1), now)
    finally:
        await maintenance.on_stop()


async def test_ioc_migrate_sets_the_retention_policies_and_the_worker_keeps_them(
    timescale: TimescaleWasm,
) -> None:
    """An operator's `ioc migrate` leaves every hypertable with its retention policy at once,
    from IOC_MINUTE_RETENTION_DAYS (10x for `vc_presence`), before any worker runs; a worker
    with the same setting leaves them alone; a later `ioc migrate` with another value moves
    them (the same jobs), and the moved policies still run."""
    hour = timedelta(hours=1)
    out = await asyncio.to_thread(ioc_migrate, timescale.url, 35)
    assert "schema up to date (TimescaleDB)" in out
    first = await retention_jobs(timescale.url)
    assert {t: (every, age) for t, (_, every, age) in first.items()} == {
        **{t: (hour, timedelta(days=35)) for t in MINUTE_TABLES},
        "vc_presence": (hour, timedelta(days=350)),
    }
    await leader_step(timescale.url, 35)
    assert await retention_jobs(timescale.url) == first  # the worker agrees: untouched
    await asyncio.to_thread(ioc_migrate, timescale.url, 35)
    assert await retention_jobs(timescale.url) == first  # idempotent

    await asyncio.to_thread(ioc_migrate, timescale.url, 20.5)
    changed = await retention_jobs(timescale.url)
    assert {t: (job, age) for t, (job, _, age) in changed.items()} == {
        **{t: (first[t][0], timedelta(days=20, hours=12)) for t in MINUTE_TABLES},
        "vc_presence": (first["vc_presence"][0], timedelta(days=205)),
    }
    await leader_step(timescale.url, 20.5)
    assert await retention_jobs(timescale.url) == changed
    await leader_step(timescale.url, 30)  # the worker follows its own setting between migrations
    assert {t: age for t, (_, _, age) in (await retention_jobs(timescale.url)).items()} == {
        **dict.fromkeys(MINUTE_TABLES, timedelta(days=30)),
        "vc_presence": timedelta(days=300),
    }
    conn = await asyncpg.connect(timescale.url)
    try:  # an altered policy still runs
        for job, _, _ in changed.values():
            await conn.execute("CALL run_job($1)", job)
    finally:
        await conn.close()


# The columns and values of a row in each table the retention bounds, its time first.
_SUMS = ("bucket, metric, dim_set, value", "'r', 0, 1")
_BINS = ("bucket, metric, dim_set, bins, counts", "'r', 0, '{0}', '{1}'")
_MEMBERS = ("bucket, metric, dim_set, member", "'r', 0, 'm'")
A_ROW_OF = {
    "kpi_minute": _SUMS,
    "kpi_sketch_minute": _BINS,
    "kpi_distinct_minute": _MEMBERS,
    "kpi_state_minute": ("bucket, metric, value", "'r', 1"),
    "ingest_minute": ("bucket, topic, outcome, records", "'r', 'accepted', 1"),
    "vc_presence": ("hour, endpoint_id, district, site_level, minutes", "'r', 'd', 's', 1"),
    "kpi_hour": _SUMS,
    "kpi_sketch_hour": _BINS,
    "kpi_distinct_hour": _MEMBERS,
}
TIME_OF = {table: columns.split(",")[0] for table, (columns, _) in A_ROW_OF.items()}


async def seed_hourly(conn: asyncpg.Connection, hour_now: datetime) -> None:
    """A row every hour in each table of A_ROW_OF up to `hour_now`: 6 days of the minute
    tables, 50 of the others (kept 10x longer)."""
    for table, (columns, values) in A_ROW_OF.items():
        days = 6 if table in MINUTE_TABLES else 50
        await conn.execute(
            f"INSERT INTO {table} ({columns}) SELECT t, {values}"
            " FROM generate_series($1::timestamptz, $2, interval '1 hour') t",
            hour_now - timedelta(days=days),
            hour_now,
        )


async def oldest_and_newest(url: str) -> dict[str, tuple[datetime, datetime]]:
    """Each table of A_ROW_OF: its oldest and newest row's time."""
    conn = await asyncpg.connect(url)
    try:
        return {
            t: tuple(await conn.fetchrow(f"SELECT min({c}), max({c}) FROM {t}")) for t, c in TIME_OF.items()
        }
    finally:
        await conn.close()


def assert_bounded(
    kept: dict[str, tuple[datetime, datetime]], minute_age: timedelta, before: datetime, after: datetime
) -> None:
    """Every table holds no row older than its age (a step that ran between `before` and
    `after`), its fresh rows (those younger than the age by an hour) and its newest one."""
    for table, (oldest, newest) in kept.items():
        age = minute_age if table in MINUTE_TABLES else ROLLUP_FACTOR * minute_age
        assert before - age <= oldest <= after - age + timedelta(hours=1), (table, oldest)
        assert newest >= floor_hour(before), table  # (the step samples state: a newer minute)


async def test_retention_jobs_drop_expired_chunks_and_keep_fresh_data(ts_url: str, database_url: str) -> None:
    """The same rows on both, the same retention step: PostgreSQL deletes every row older than
    its age; TimescaleDB's policies (run with `run_job`) drop every chunk that ended before it,
    keep the chunk the cut falls in whole, and every row younger than the age on both."""
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    minute_age = now - (midnight - timedelta(days=3) + timedelta(hours=12))  # the cut at a noon
    ages = policy_ages(minute_age)
    cuts = {table: now - age for table, age in ages.items()}
    time_of = {t: columns.split(",")[0] for t, (columns, _) in A_ROW_OF.items()}
    hour_now = floor_hour(now)
    deleted, dropped = {}, {}
    for name, url in (("pg", database_url), ("ts", ts_url)):
        conn = await asyncpg.connect(url)
        try:
            for table, (columns, values) in A_ROW_OF.items():  # a row every hour, the same on both
                days = 6 if table in MINUTE_TABLES else 50  # the hourly tables are kept 10x longer
                await conn.execute(
                    f"INSERT INTO {table} ({columns}) SELECT t, {values}"
                    " FROM generate_series($1::timestamptz, $2, interval '1 hour') t",
                    hour_now - timedelta(days=days),
                    hour_now,
                )
            deleted[name] = await apply_retention(
                conn, now=now, minute_retention=minute_age, dimension_retention=timedelta(days=36500)
            )
            if name == "ts":
                jobs = {r["hypertable_name"]: r["job_id"] for r in await conn.fetch(RETENTION_JOBS)}
                assert jobs.keys() == ages.keys()
                chunks = "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = $1"
                before = {t: await conn.fetchval(chunks, t) for t in jobs}
                for job in jobs.values():
                    await conn.execute("CALL run_job($1)", job)
                dropped = {t: before[t] - await conn.fetchval(chunks, t) for t in jobs}
        finally:
            await conn.close()
    assert deleted["pg"].keys() - deleted["ts"].keys() == ages.keys()  # a policy, not a DELETE
    assert {t: deleted["pg"][t] for t in deleted["ts"]} == deleted["ts"]
    assert all(deleted["pg"][t] > 0 for t in ages) and all(dropped[t] > 0 for t in ages)

    pg = await asyncpg.connect(database_url)
    ts = await asyncpg.connect(ts_url)
    try:
        for table in A_ROW_OF:
            fresh = f"SELECT {time_of[table]} FROM {table} WHERE {time_of[table]} >= $1 ORDER BY 1"
            cut = cuts.get(table)
            if cut is None:  # an hourly rollup: the DELETE on both
                assert await rows_of(ts, table) == await rows_of(pg, table), table
                continue
            assert await pg.fetchval(f"SELECT min({time_of[table]}) FROM {table}") >= cut, table
            assert await ts.fetch(fresh, cut) == await pg.fetch(fresh, cut), table
            # TimescaleDB keeps the chunk the cut falls in whole (it ends after the cut): the
            # rows from its start, and none before.
            start = await ts.fetchval(
                "SELECT range_start FROM timescaledb_information.chunks"
                " WHERE hypertable_name = $1 AND range_start <= $2 AND $2 < range_end",
                table,
                cut,
            )
            assert await ts.fetchval(f"SELECT min({time_of[table]}) FROM {table}") == start, table
    finally:
        await ts.close()
        await pg.close()


async def test_where_the_job_api_refuses_the_delete_job_bounds_the_hypertables_and_says_so(
    timescale: TimescaleWasm, caplog: pytest.LogCaptureFixture
) -> None:
    """The tables' owner ran `ioc migrate` (policies at 35 days) and removed one policy by hand;
    the worker runs as a role that may read and write every table but owns none, so TimescaleDB's
    job API refuses it both a new policy and a moved one. With the setting now 2 days, the
    leader's step raises nothing, logs one warning that names every hypertable it could not
    bound by a policy, why, and the ages the old policies still drop at; and its DELETE keeps
    every table within its age, the hypertables included."""
    conn = await asyncpg.connect(timescale.url)
    try:
        assert await migrate(conn, sources=SOURCES.migrations, retention=policy_ages(timedelta(days=35)))
        await conn.execute("SELECT remove_retention_policy('ingest_minute')")
        await conn.execute(
            "CREATE ROLE ioc_worker;"
            " GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ioc_worker;"
            " GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ioc_worker"
        )
        # PGlite's catalogs are not readable by other roles as a server's are (asyncpg's type
        # lookup reads pg_range); reading everything is still owning nothing
        await conn.execute("GRANT pg_read_all_data TO ioc_worker")
        before = datetime.now(UTC)
        await seed_hourly(conn, floor_hour(before))
    finally:
        await conn.close()
    jobs = await retention_jobs(timescale.url)
    assert jobs.keys() == policy_ages(timedelta(days=35)).keys() - {"ingest_minute"}
    with caplog.at_level(logging.INFO, logger="ioc.db.retention"):
        await leader_step(timescale.url + "?role=ioc_worker", 2)  # raises nothing
    after = datetime.now(UTC)
    mine = [r for r in caplog.records if r.name == "ioc.db.retention"]
    warnings = [r.getMessage() for r in mine if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert all(table in warnings[0] for table in policy_ages(timedelta(days=2))), warnings[0]
    assert 'must be owner of hypertable "ingest_minute"' in warnings[0]  # asked to add one
    assert "insufficient permissions to alter job" in warnings[0]  # asked to move the others
    assert "the hourly DELETE job bounds these tables instead" in warnings[0]
    assert "kpi_minute's existing policy still drops chunks older than 35 days" in warnings[0]
    assert await retention_jobs(timescale.url) == jobs  # nothing was moved behind its back
    assert_bounded(await oldest_and_newest(timescale.url), timedelta(days=2), before, after)


async def test_without_timescaledb_the_delete_job_bounds_every_table(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """On PostgreSQL (no extension, so no policy can be set) the worker's leader step keeps
    every table within its age by DELETE, and says that this is how."""
    before = datetime.now(UTC)
    conn = await asyncpg.connect(database_url)
    try:
        await seed_hourly(conn, floor_hour(before))
    finally:
        await conn.close()
    with caplog.at_level(logging.INFO, logger="ioc.db.retention"):
        await leader_step(database_url, 2)
    after = datetime.now(UTC)
    assert [r.getMessage() for r in caplog.records if r.name == "ioc.db.retention"] == [
        "TimescaleDB is not installed in this database: the DELETE job bounds every table"
    ]
    assert_bounded(await oldest_and_newest(database_url), timedelta(days=2), before, after)


async def test_on_postgresql_the_retention_step_is_the_delete_job_it_was(database_url: str) -> None:
    """Without TimescaleDB `apply_retention` deletes exactly what `purge` deletes, from every
    table: the same counts, the same rows left."""
    await store_events(database_url, events(5), NOW)
    now = datetime.now(UTC)
    cuts = {"minute_retention": now - datetime(2026, 3, 1, 12, tzinfo=UTC), "dimension_retention": now - NOW}
    conn = await asyncpg.connect(database_url)
    try:
        tables = [
            r[0]
            for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                " AND table_name <> 'schema_migrations'"
            )
        ]
        results = []
        for step in (purge, apply_retention):
            transaction = conn.transaction()
            await transaction.start()
            deleted = await step(conn, now=now, **cuts)
            results.append((deleted, {t: await rows_of(conn, t) for t in tables}))
            await transaction.rollback()
        assert results[0] == results[1]
        deleted = results[1][0]
        assert deleted.keys() >= policy_ages(timedelta(days=1)).keys()  # no table left to a policy
        assert all(deleted[t] > 0 for t in ("accepted_fingerprints", "kpi_minute", "portal_applications"))
    finally:
        await conn.close()


# -- (d) views and Grafana's SQL on hypertables ---------------------------------------------------------


async def test_every_view_and_dashboard_query_answers_as_on_postgresql(
    ts_url: str, database_url: str
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(hours=6)
    pg, ts = await asyncpg.connect(database_url), await asyncpg.connect(ts_url)
    try:
        for conn in (pg, ts):
            await conn.execute("SET TIME ZONE 'UTC'")  # as Grafana's datasource sessions
            await seed(conn, now)  # three hours of every table the views and panels read
        tables = await pg.fetch(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
        )
        for (table,) in tables:
            if table != "schema_migrations":  # its applied_at differ
                assert await rows_of(ts, table) == await rows_of(pg, table), table
        # Each query on both, one right after the other: the views that measure ages against
        # now() then differ by the time between the two, which `now_dependent` allows.
        views = await pg.fetch(
            "SELECT table_name, pg_get_viewdef(table_name::regclass) ~* 'now\\(\\)|current_timestamp'"
            " FROM information_schema.views WHERE table_schema = 'public' ORDER BY 1"
        )
        aging = {view for view, uses_now in views if uses_now}
        queries = [(f"view {view}", f"SELECT v::text FROM {view} v") for view, _ in views]
        for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
            board = json.loads(path.read_text(encoding="utf-8"))
            options = await variable_options(pg, board, start, now)
            assert options == await variable_options(ts, board, start, now), path.name
            every = {v["name"]: grafana_value(v, values) for v, values in options}
            first = {v["name"]: grafana_value(v, values[:1]) for v, values in options}
            for panel in board["panels"]:
                for target in (t for t in panel.get("targets", []) if "rawSql" in t):
                    for label, chosen in (("all", every), ("first", first)):
                        where = f"{path.name}: {panel['title']} {target['refId']} ({label})"
                        queries.append((where, grafana_sql(target["rawSql"], start, now, variables=chosen)))
        assert len(queries) > 40 and aging
        wrong, empty = [], 0
        for where, sql in queries:
            got = []
            for conn in (pg, ts):
                try:
                    got.append(sorted((tuple(r) for r in await conn.fetch(sql)), key=repr))
                except asyncpg.PostgresError as exc:
                    raise AssertionError(f"{where}: {exc}\n{sql}") from exc
            empty += not got[1]
            ages = any(view in sql for view in aging) or "now()" in sql.lower()
            if not (same(got[0], got[1]) or (ages and same_but_ages(got[0], got[1]))):
                wrong.append((where, got[0][:3], got[1][:3]))
        assert empty <= len(queries) // 4, "most queries should have rows"
        assert wrong == []
    finally:
        await ts.close()
        await pg.close()


def same_but_ages(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]], seconds: float = 30) -> bool:
    """Equal, but for numbers that are ages (seconds, now() - a time) read a moment apart, and
    the text of a view row holding one."""
    if len(a) != len(b):
        return False
    for row_a, row_b in zip(a, b, strict=True):
        x, y = row_a, row_b
        if len(x) == 1 and isinstance(x[0], str) and isinstance(y[0], str):  # a view row as text
            x, y = tuple(x[0].strip("()").split(",")), tuple(y[0].strip("()").split(","))
        if len(x) != len(y):
            return False
        for u, v in zip(x, y, strict=True):
            if u == v:
                continue
            try:
                if abs(float(u) - float(v)) > seconds:
                    return False
            except (TypeError, ValueError):
                return False
    return True
