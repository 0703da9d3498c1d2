"""Idempotent schema migrations, applied in file-name order at start.

Each `NNNN_name.sql` runs once, recorded in `schema_migrations`; its `NNNN_name.timescale.sql`
sibling runs after it only when the TimescaleDB extension is in use, so plain PostgreSQL and
TimescaleDB share one schema and one set of queries. An advisory lock lets several processes
start at once.
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import Literal

import asyncpg

log = logging.getLogger("ioc.db.migrate")

_LOCK_ID = 0x10C_0001


def _migration_files() -> list[tuple[str, str, str | None]]:
    """(name, sql, timescale_sql or None) for every migration, in order."""
    folder = resources.files("ioc.db") / "migrations"
    files = {f.name: f.read_text(encoding="utf-8") for f in folder.iterdir() if f.name.endswith(".sql")}
    out = []
    for name in sorted(n for n in files if not n.endswith(".timescale.sql")):
        stem = name.removesuffix(".sql")
        out.append((stem, files[name], files.get(f"{stem}.timescale.sql")))
    return out


async def timescale_available(conn: asyncpg.Connection) -> bool:
    row = await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    return row is not None


async def migrate(conn: asyncpg.Connection, *, timescale: Literal["auto", "on", "off"] = "auto") -> bool:
    """Bring the schema up to date; returns whether TimescaleDB features are used."""
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
        for name, sql, ts_sql in _migration_files():
            if name in done:
                continue
            await conn.execute(sql)
            if use_ts and ts_sql:
                await conn.execute(ts_sql)
            await conn.execute(
                "INSERT INTO schema_migrations (name, timescale) VALUES ($1, $2)", name, use_ts
            )
            log.info("applied migration %s", name)
    log.info(
        "database schema ready; %s",
        "TimescaleDB features in use" if use_ts else "plain PostgreSQL (TimescaleDB not available)",
    )
    return use_ts
