"""One asyncpg pool per process, with the codecs the project relies on."""

from __future__ import annotations

import socket

import asyncpg

from ioc.settings import DatabaseSettings

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy
"""A connection, held directly or borrowed from a pool (what a transaction runs on)."""
Queryable = Conn | asyncpg.Pool
"""Anything a single query can run on."""


# A batch's statement is a few hundred kB. Sent through a local socket's default buffer it leaves
# in pieces, each when the worker's event loop next gets a turn, between slices of judging:
# about 20 ms of a batch's write went to that (bench/FINDINGS.md). The kernel caps this at
# net.core.wmem_max.
_BATCH_SEND_BUFFER_BYTES = 4 * 1024 * 1024


async def create_pool(
    settings: DatabaseSettings, *, url: str | None = None, batch_writer: bool = False
) -> asyncpg.Pool:
    """Open a pool; `url` overrides the settings (the embedded server's URL).

    `batch_writer` is for the ingest worker's pool, whose connections write whole batches: on a
    Unix-domain socket (a database on the same host, as the embedded one), a send buffer that
    takes a batch's statement at once. A TCP socket is left to the kernel, which grows its
    buffer as needed (and would stop doing so once one is set).
    """
    dsn = url or (settings.database_url.get_secret_value() if settings.database_url else None)
    if dsn is None:
        raise RuntimeError("no database URL configured")
    server_settings = {"application_name": "ioc-ingest" if batch_writer else "ioc", "timezone": "UTC"}
    pool = await asyncpg.create_pool(
        dsn,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        command_timeout=30,
        server_settings=server_settings,
        init=_widen_send_buffer if batch_writer else None,
    )
    if pool is None:  # only when created without awaiting, which we never do
        raise RuntimeError("database pool was not created")
    return pool


async def _widen_send_buffer(conn: asyncpg.Connection) -> None:
    # asyncpg has no public accessor for its transport; without one the default buffer stays.
    transport = getattr(conn, "_transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None and sock.family == socket.AF_UNIX:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _BATCH_SEND_BUFFER_BYTES)
