"""Idempotent schema migrations, applied in file-name order at start.

Each `NNNN_name.sql` runs once, recorded in `schema_migrations`; its `NNNN_name.timescale.sql`
sibling runs after it only when the TimescaleDB extension is in use, so plain PostgreSQL and
TimescaleDB share one schema and one set of queries. An advisory lock lets several processes
start at once.

The kernel's migrations (ioc/db/migrations) hold the shared tables; a source package may hold
its own tables' migrations in its `migrations/` folder, named `NNNN_<source>_what.sql` so
that names never collide; all run together in name order. The kernel imports no source: the
caller names the packages (`sources.SOURCES.migrations`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from importlib import resources
from typing import Literal

import asyncpg

from ioc.db.retention import retention_policies
from ioc.errors import ConfigError

log = logging.getLogger("ioc.db.migrate")

_LOCK_ID = 0x10C_0001


def _migration_files(packages: Sequence[str] = ()) -> list[tuple[str, str, str | None]]:
    """(name, sql, timescale_sql or None) for every migration of the kernel and `packages`, in order."""
    files: dict[str, str] = {}
    for package in ("ioc.db", *packages):
        folder = resources.files(package) / "migrations"
        if not folder.is_dir():
            continue
        for f in folder.iterdir():
            if f.name.endswith(".sql"):
                if f.name in files:
                    raise ConfigError(f"two migrations named {f.name} ({package} and another package)")
                files[f.name] = f.read_text(encoding="utf-8")
    out = []
    for name in sorted(n for n in files if not n.endswith(".timescale.sql")):
        stem = name.removesuffix(".sql")
        out.append((stem, files[name], files.get(f"{stem}.timescale.sql")))
    return out


async def timescale_available(conn: asyncpg.Connection) -> bool:
    row = await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    return row is not None


async def migrate(
    conn: asyncpg.Connection,
    *,
    timescale: Literal["auto", "on", "off"] = "auto",
    sources: Sequence[str] = (),
    retention: Mapping[str, timedelta] | None = None,
) -> bool:
    """Bring the schema up to date (the kernel's and the `sources` packages' migrations);
    returns whether TimescaleDB features are used.

    With TimescaleDB, `retention` (`retention.policy_ages` of the settings) also gives each
    hypertable its retention policy now, so a database that `ioc migrate` prepared is bounded
    before any worker's leader runs its hourly step (which keeps the policies in line after)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
        use_ts = timescale == "on" or (timescale == "auto" and await timescale_available(conn))
        if use_ts:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   timescale boolean NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for name, sql, ts_sql in _migration_files(sources):
            if name in done:
                continue
            await conn.execute(sql)
            if use_ts and ts_sql:
                await conn.execute(ts_sql)
            await conn.execute(
                "INSERT INTO schema_migrations (name, timescale) VALUES ($1, $2)", name, use_ts
            )
            log.info("applied migration %s", name)
        if use_ts and retention:
            await retention_policies(conn, retention)
    log.info(
        "database schema ready; %s",
        "TimescaleDB features in use" if use_ts else "plain PostgreSQL (TimescaleDB not available)",
    )
    return use_ts
