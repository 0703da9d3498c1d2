"""KPI answers for the API, each computed at most once a second however many clients ask.

A request for an answer younger than `ttl` gets the cached one; concurrent requests for the
same answer share one database query (single flight). Answers carry the `as_of` they were
computed for, so a client always knows how fresh it is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from typing import Any

import asyncpg

from ioc.clock import Clock
from ioc.kpi.query import TOTAL, KpiContext, kpi_values
from ioc.kpi.series import Series, series
from schemas.kpis import BY_NAME, Dimension


class TtlCache:
    """Single-flight cache of coroutine results, each kept `ttl` seconds."""

    def __init__(self, ttl: float, max_entries: int = 2048) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, asyncio.Future[Any]]] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and (now - hit[0] < self.ttl or not hit[1].done()):
            return await asyncio.shield(hit[1])
        if len(self._entries) >= self.max_entries:
            self._entries = {k: v for k, v in self._entries.items() if now - v[0] < self.ttl}
        fut: asyncio.Future[Any] = asyncio.ensure_future(compute())
        self._entries[key] = (now, fut)
        try:
            return await asyncio.shield(fut)
        except BaseException:
            self._entries.pop(key, None)
            raise


class KpiReader:
    """The API's read side: totals, breakdowns and series, cached for `ttl` seconds."""

    def __init__(self, pool: asyncpg.Pool, ctx: KpiContext, clock: Clock, ttl: float = 1.0) -> None:
        self.pool = pool
        self.ctx = ctx
        self.clock = clock
        self.cache = TtlCache(ttl)

    async def totals(self, window: str) -> tuple[datetime, dict[str, float | None]]:
        async def compute() -> tuple[datetime, dict[str, float | None]]:
            as_of = self.clock.now()
            values = await kpi_values(
                self.pool, list(BY_NAME), as_of=as_of, window=window, by=None, ctx=self.ctx
            )
            return as_of, {n: values[n][TOTAL] for n in BY_NAME}

        result: tuple[datetime, dict[str, float | None]] = await self.cache.get(("totals", window), compute)
        return result

    async def values(
        self, name: str, window: str, by: Dimension | None
    ) -> tuple[datetime, dict[str, float | None]]:
        async def compute() -> tuple[datetime, dict[str, float | None]]:
            as_of = self.clock.now()
            values = await kpi_values(self.pool, [name], as_of=as_of, window=window, by=by, ctx=self.ctx)
            return as_of, dict(sorted(values[name].items()))

        result: tuple[datetime, dict[str, float | None]] = await self.cache.get(
            ("kpi", name, window, by), compute
        )
        return result

    async def series(
        self, name: str, start: datetime, end: datetime, step: str, by: Dimension | None
    ) -> Series:
        async def compute() -> Series:
            return await series(
                self.pool, name, start=start, end=end, step=step, by=by, ctx=self.ctx, as_of=self.clock.now()
            )

        result: Series = await self.cache.get(("series", name, start, end, step, by), compute)
        return result
