"""A coroutine run every few seconds in the background, surviving database hiccups."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ioc.db.stored import REFRESH_GAP_S
from ioc.retry import TRANSIENT_DB_ERRORS

log = logging.getLogger("ioc.api.periodic")


class Periodic:
    """Runs `work` every `interval` seconds until stopped, and sooner when poked (new data was
    stored), but never twice within `min_gap`; a database error is logged, not fatal."""

    def __init__(
        self,
        name: str,
        interval: float,
        work: Callable[[], Awaitable[object]],
        *,
        min_gap: float = REFRESH_GAP_S,
    ) -> None:
        self.name = name
        self.interval = interval
        self.min_gap = min(min_gap, interval)
        self.work = work
        self._task: asyncio.Task[None] | None = None
        self._poked = asyncio.Event()

    def poke(self) -> None:
        """Run again as soon as `min_gap` allows."""
        self._poked.set()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            self._poked.clear()
            try:
                await self.work()
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("%s failed, retrying in %.0f s: %s", self.name, self.interval, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), max(0.0, started + self.interval - loop.time()))
            await asyncio.sleep(max(0.0, started + self.min_gap - loop.time()))

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"ioc-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
