"""A coroutine run every few seconds in the background, surviving database hiccups."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ioc.retry import TRANSIENT_DB_ERRORS

log = logging.getLogger("ioc.api.periodic")


class Periodic:
    """Runs `work` every `interval` seconds until stopped; a database error is logged, not fatal."""

    def __init__(self, name: str, interval: float, work: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self.interval = interval
        self.work = work
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.work()
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("%s failed, retrying in %.0f s: %s", self.name, self.interval, exc)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"ioc-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
