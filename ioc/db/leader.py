"""One process at a time: a PostgreSQL advisory lock held on a dedicated connection.

The lock is released by the server when the holder's connection dies, so a crashed leader
is replaced by whichever replica asks next; no broker-side election is needed. A leader that
must not write once it has lost the lock writes through `connection`, the very session that
holds it: when that session dies, its writes fail with it.
"""

from __future__ import annotations

import contextlib
import logging

import asyncpg

from ioc.retry import TRANSIENT_DB_ERRORS

log = logging.getLogger("ioc.db.leader")


class AdvisoryLeader:
    """Asks for leadership of `key`; `is_leader()` re-checks that the connection still holds it.

    The connection is kept while another process leads, so asking again costs one query rather
    than a new session. `connect_timeout`, `command_timeout` and `application_name` apply to that
    connection (a leader that writes through it wants its queries bounded and recognisable).
    """

    def __init__(
        self,
        dsn: str,
        key: int,
        name: str,
        *,
        connect_timeout: float = 5,
        command_timeout: float | None = None,
        application_name: str | None = None,
    ) -> None:
        self.dsn = dsn
        self.key = key
        self.name = name
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.application_name = application_name
        self._conn: asyncpg.Connection | None = None
        self._held = False

    @property
    def connection(self) -> asyncpg.Connection | None:
        """The session holding the lock while this process leads, else None."""
        return self._conn if self._held else None

    async def _connect(self) -> asyncpg.Connection:
        server_settings = {"timezone": "UTC"}
        if self.application_name:
            server_settings["application_name"] = self.application_name
        return await asyncpg.connect(
            self.dsn,
            timeout=self.connect_timeout,
            command_timeout=self.command_timeout,
            server_settings=server_settings,
        )

    async def is_leader(self) -> bool:
        """Whether this process leads now; False once after losing leadership, then asks again."""
        try:
            if self._held:  # a session that ended took the lock with it: leadership was lost
                if self._conn is None or self._conn.is_closed():
                    raise ConnectionError("the session holding the lock ended")
                await self._conn.fetchval("SELECT 1", timeout=5)
                return True
            if self._conn is None or self._conn.is_closed():
                self._conn = await self._connect()
            self._held = bool(await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key))
            if self._held:
                log.info("this process now leads %s", self.name)
            return self._held
        except TRANSIENT_DB_ERRORS as exc:
            log.warning("lost or could not check leadership of %s: %s", self.name, exc)
            await self.release()
            return False

    async def release(self) -> None:
        """Give leadership up by ending the session (the server frees the lock with it)."""
        self._held = False
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
