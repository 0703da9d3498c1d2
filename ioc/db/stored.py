""" "A batch was stored": the worker's batch statement notifies, the API listens.

The batch statement ends in `pg_notify` (ioc/db/writes.py), so the notice leaves with the
commit that made the data visible, never before it, and costs no extra round trip. The API
listens on one connection of its pool and, told, drops its cached answers and refreshes the
live snapshot at once: an event reaches the wall a query after it is stored, not up to a
cache period later. Notices are hints: a listener that missed some (a lost connection) loses
nothing, since answers still expire with their age.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

from ioc.retry import TRANSIENT_DB_ERRORS, backoff

log = logging.getLogger("ioc.db.stored")

CHANNEL = "ioc_stored"
"""The LISTEN/NOTIFY channel: one notice per stored batch."""

RECOMPUTE_AFTER_S = 0.05
"""Under a stream of notices, a cached answer is recomputed once it is this old (api/reader.py)."""

REFRESH_GAP_S = 2 * RECOMPUTE_AFTER_S
"""A poked refresh runs at most this often (api/periodic.py). Longer than RECOMPUTE_AFTER_S, so
that a refresh a notice set off never finds the cache's answer too young to be recomputed."""


class StoredListener:
    """Calls `on_stored` for every notice on CHANNEL, reconnecting after a lost connection."""

    def __init__(self, pool: asyncpg.Pool, on_stored: Callable[[], None]) -> None:
        self.pool = pool
        self.on_stored = on_stored
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _notified(self, *_args: object) -> None:
        self.on_stored()

    async def _listen_once(self) -> None:
        async with self.pool.acquire() as conn:
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c: lost.set())
            await conn.add_listener(CHANNEL, self._notified)
            self.listening.set()
            try:
                await lost.wait()
            finally:
                self.listening.clear()
                with contextlib.suppress(*TRANSIENT_DB_ERRORS):
                    await conn.remove_listener(CHANNEL, self._notified)

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                await self._listen_once()
                attempt = 0
            except TRANSIENT_DB_ERRORS as exc:
                attempt += 1
                delay = backoff(attempt, initial=0.5, maximum=15)
                log.warning("listening for stored batches failed, again in %.1f s: %s", delay, exc)
                await asyncio.sleep(delay)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ioc-stored-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
