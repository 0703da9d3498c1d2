"""Upgrades lose nothing: data stored before a schema change answers the same after it.

Migration 0030 keys KPI rows by a dimension set (`dimension_sets`) instead of four fixed columns. The
test stores a scenario through the real pipeline, turns its KPI rows back into the previous
shape in a database migrated only up to 0020, runs the remaining migrations there, and holds
every KPI, total and breakdown, to the independent oracle.
"""

from __future__ import annotations

import functools
import json
import random
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
import pytest

from cli.runtime.postgres import EmbeddedPostgres
from ioc.db.migrate import _migration_files, migrate
from ioc.kpi.tables import SKETCHES
from sources import SOURCES
from tests.conftest import empty_database
from tests.integration.test_kpis_oracle import NOW, REGISTRY, TABLES, assert_matches_oracle, run_pipeline
from tests.scenarios import scenario

pytestmark = pytest.mark.integration

_BEFORE = "0030_dimension_sets"
_OLD_COLUMNS = ("district", "site_level", "agency", "service_level")
_KPI_TABLES = ("kpi_minute", "kpi_hour", "kpi_sketch_minute", "kpi_sketch_hour")


@asynccontextmanager
async def _database_before(
    pg_server: EmbeddedPostgres,
    before: str,
    packages: Sequence[str] = (),
    as_released: Callable[[str], str] = lambda sql: sql,
) -> AsyncIterator[asyncpg.Connection]:
    """A new database migrated as a release before `before` left it: the kernel's migrations
    before it and, with `packages`, every migration of theirs (a source's own migrations sort
    after the kernel's). `as_released` turns a migration's text back into what that release held."""
    kernel = {stem for stem, _, _ in _migration_files()}
    async with empty_database(pg_server) as url:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "CREATE TABLE schema_migrations (name text PRIMARY KEY, timescale boolean NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for stem, sql, _ in _migration_files(packages):
                if stem < before or stem not in kernel:
                    await conn.execute(as_released(sql))
                    await conn.execute(
                        "INSERT INTO schema_migrations (name, timescale) VALUES ($1, false)", stem
                    )
            yield conn
        finally:
            await conn.close()


@pytest.fixture
async def old_database(pg_server: EmbeddedPostgres) -> AsyncIterator[asyncpg.Connection]:
    """A database migrated only up to the migration before `_BEFORE`: the previous release's."""
    async with _database_before(pg_server, _BEFORE) as conn:
        yield conn


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(database_url)
    yield c
    await c.close()


async def _copy_back(new: asyncpg.Connection, old: asyncpg.Connection) -> int:
    """Copy every table of `new` into `old`, KPI rows in the four-column shape; rows copied."""
    copied = 0
    for table in (t.strip() for t in TABLES.split(",")):
        if table in _KPI_TABLES:
            rows = await new.fetch(
                f"SELECT t.*, ds.dims::text AS dims FROM {_rows_of(table)} t"
                " JOIN dimension_sets ds ON ds.id = t.dim_set"
            )
        else:
            rows = await new.fetch(f"SELECT * FROM {table}")
        if not rows:
            continue
        if table in _KPI_TABLES:
            extra = [c for c in rows[0].keys() if c not in ("dims", "dim_set")]  # noqa: SIM118 - Record keys
            records = [
                (*(r[c] for c in extra), *(_dims(r["dims"]).get(d, "") for d in _OLD_COLUMNS)) for r in rows
            ]
            columns = [*extra, *_OLD_COLUMNS]
        else:
            columns = list(rows[0].keys())
            records = [tuple(r) for r in rows]
        await old.copy_records_to_table(table, records=records, columns=columns)
        copied += len(records)
    return copied


def _rows_of(table: str) -> str:
    """Where `table`'s rows are read one per key: the sketches a row per bin (0070 stores arrays)."""
    prefix, _, suffix = table.rpartition("_")
    return SKETCHES.rows(suffix) if prefix == SKETCHES.prefix else table


def _dims(value: str | dict[str, str]) -> dict[str, str]:
    return value if isinstance(value, dict) else dict(json.loads(value))


async def test_an_upgrade_keeps_every_kpi_answer(
    conn: asyncpg.Connection, old_database: asyncpg.Connection
) -> None:
    # the sources that existed in the four-column shape: later ones never had rows in it
    events = [
        e
        for e in scenario(random.Random(30), NOW, REGISTRY)
        if SOURCES.source_of_type[str(e["type"])].name in ("vc", "eoffice", "portal")
    ]
    await run_pipeline(conn, events, cuts=[len(events) // 3, 2 * len(events) // 3])
    kpi_rows = await conn.fetchval("SELECT count(*) FROM kpi_minute") + await conn.fetchval(
        "SELECT count(*) FROM kpi_sketch_bins_minute"
    )
    assert kpi_rows > 0

    assert await _copy_back(conn, old_database) > kpi_rows
    # Runs 0030 (and anything later) over the previous shape.
    await migrate(old_database, sources=SOURCES.migrations)

    migrated = await old_database.fetchval("SELECT count(*) FROM kpi_minute") + await old_database.fetchval(
        "SELECT count(*) FROM kpi_sketch_bins_minute"
    )
    assert migrated == kpi_rows
    rows = (
        "SELECT bucket, metric, ds.dims, value FROM kpi_minute x JOIN dimension_sets ds ON ds.id = x.dim_set"
        " ORDER BY 1, 2, 3"
    )
    assert await old_database.fetch(rows) == await conn.fetch(rows)
    await assert_matches_oracle(old_database, events, NOW)
    # The Grafana views read the same numbers from either database.
    for view in ("vc_kpi_hour", "eoffice_kpi_hour", "portal_kpi_hour"):
        sql = f"SELECT * FROM {view} ORDER BY 1, 2, 3"
        assert await old_database.fetch(sql) == await conn.fetch(sql), view


async def test_sketch_bins_move_into_arrays_and_every_view_follows(pg_server: EmbeddedPostgres) -> None:
    """0070 (sketch bins as arrays) over a database holding bins as rows, the sources' views
    already built on them (a source's migrations sort after it): the same bins, the same
    percentiles from every view, the views' comments kept."""
    # the sources' views as that release held them: on the tables, not the bins views
    old_views = functools.partial(re.sub, r"\bkpi_sketch_bins_", "kpi_sketch_")
    async with _database_before(pg_server, "0070_sketch_arrays", SOURCES.migrations, old_views) as db:
        sets = [
            await db.fetchval("INSERT INTO dimension_sets (dims) VALUES ($1::jsonb) RETURNING id", d)
            for d in ('{"district": "A"}', '{"district": "B"}', '{"market": "M"}')
        ]
        bins = [
            (NOW.replace(second=0, microsecond=0) + timedelta(minutes=m), metric, dim_set, b, float(n))
            for m in range(3)
            for metric, dim_set in zip(("vc.rtt_ms", "vc.rtt_ms", "market.amount_vnd"), sets, strict=True)
            for b, n in ((-3, 0), (10 + m, 2), (40, 1 + m), (200 + 7 * m, 5))
        ]
        await db.copy_records_to_table(
            "kpi_sketch_minute", records=bins, columns=["bucket", "metric", "dim_set", "bin", "count"]
        )
        await db.execute(
            "INSERT INTO kpi_sketch_hour (bucket, metric, dim_set, bin, count)"
            " SELECT date_trunc('hour', bucket), metric, dim_set, bin, sum(count)"
            " FROM kpi_sketch_minute GROUP BY 1, 2, 3, 4"
        )
        for grain in ("minute", "hour"):
            await db.execute(
                f"INSERT INTO kpi_{grain} (bucket, metric, dim_set, value) SELECT DISTINCT bucket,"
                f" 'market.payments', dim_set, 3 FROM kpi_sketch_{grain} WHERE dim_set = $1",
                sets[2],
            )
        views = (
            "kpi_percentile_minute",
            "kpi_percentile_hour",
            "market_kpi_minute_total",
            "market_kpi_hour_total",
        )
        comment = "SELECT obj_description($1::regclass, 'pg_class')"
        before = {v: await db.fetch(f"SELECT * FROM {v} ORDER BY 1, 2") for v in views}
        comments = {v: await db.fetchval(comment, v) for v in views}
        assert all(before.values()) and all(comments.values())
        per_bin = {
            table: await db.fetch(
                f"SELECT bucket, metric, dim_set, bin, count FROM {table}"
                " WHERE count <> 0 ORDER BY 1, 2, 3, 4"
            )
            for table in ("kpi_sketch_minute", "kpi_sketch_hour")
        }

        await migrate(db, sources=SOURCES.migrations)

        for table, rows in per_bin.items():
            assert await db.fetch(f"SELECT * FROM {_rows_of(table)} ORDER BY 1, 2, 3, 4") == rows
        # one row per minute (hour), metric and dimension set, bins ascending, the zero bin gone
        assert await db.fetchval("SELECT count(*) FROM kpi_sketch_minute") == 9
        assert await db.fetchval("SELECT bool_and(bins[1] > -3) FROM kpi_sketch_minute")
        for view in views:
            assert await db.fetch(f"SELECT * FROM {view} ORDER BY 1, 2") == before[view], view
            assert await db.fetchval(comment, view) == comments[view]
