"""One asyncpg pool per process, with the codecs the project relies on."""

from __future__ import annotations

import asyncpg

from ioc.settings import DatabaseSettings

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy
"""A connection, held directly or borrowed from a pool (what a transaction runs on)."""
Queryable = Conn | asyncpg.Pool
"""Anything a single query can run on."""


async def create_pool(settings: DatabaseSettings, *, url: str | None = None) -> asyncpg.Pool:
    """Open a pool; `url` overrides the settings (the embedded server's URL)."""
    dsn = url or (settings.database_url.get_secret_value() if settings.database_url else None)
    if dsn is None:
        raise RuntimeError("no database URL configured")
    pool = await asyncpg.create_pool(
        dsn,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        command_timeout=30,
        server_settings={"application_name": "ioc", "timezone": "UTC"},
    )
    if pool is None:  # only when created without awaiting, which we never do
        raise RuntimeError("database pool was not created")
    return pool
