"""One process at a time: a PostgreSQL advisory lock held on a dedicated connection.

The lock is released by the server when the holder's connection dies, so a crashed leader
is replaced by whichever replica asks next; no broker-side election is needed.
"""

from __future__ import annotations

import contextlib
import logging

import asyncpg

log = logging.getLogger("ioc.db.leader")


class AdvisoryLeader:
    """Asks for leadership of `key`; `is_leader()` re-checks that the connection still holds it."""

    def __init__(self, dsn: str, key: int, name: str) -> None:
        self.dsn = dsn
        self.key = key
        self.name = name
        self._conn: asyncpg.Connection | None = None

    async def is_leader(self) -> bool:
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self.dsn, timeout=5)
                got = await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key)
                if got:
                    log.info("this process now leads %s", self.name)
                else:
                    await self.release()
                return bool(got)
            await self._conn.fetchval("SELECT 1", timeout=5)
            return True
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("lost or could not check leadership of %s: %s", self.name, exc)
            await self.release()
            return False

    async def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
