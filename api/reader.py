"""KPI answers for the API, each computed at most once a second however many clients ask.

A request for an answer younger than `ttl` gets the cached one; concurrent requests for the
same answer share one database query (single flight). An answer that has just expired (younger
than twice `ttl`) is still returned at once while one background task recomputes it
(stale-while-revalidate): when every request that found it expired waited for the query, the
API's tail latency followed the database and whatever else the process did that second; now
only the one refresher pays it. Answers are thus at most one refresh interval older than
before, and carry the `as_of` they were computed for, so a client always knows how fresh
they are. A failed computation is never cached: a failed refresh is logged and the previous
answer stays until it is too old to serve, after which requests wait for a computation again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from typing import Any

import asyncpg

from ioc.access import ALL, Scope
from ioc.clock import Clock
from ioc.db.stored import RECOMPUTE_AFTER_S
from ioc.hierarchy import Hierarchy
from ioc.kpi.query import KpiContext
from ioc.kpi.scoped import scoped_series, scoped_totals, scoped_values
from ioc.kpi.series import Series
from schemas.kpis import Dimension

log = logging.getLogger("ioc.api.reader")


class TtlCache:
    """Single-flight, stale-while-revalidate cache of coroutine results, fresh for `ttl` seconds."""

    def __init__(
        self,
        ttl: float,
        max_entries: int = 2048,
        timer: Callable[[], float] = time.monotonic,
        min_age: float = RECOMPUTE_AFTER_S,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.timer = timer  # monotonic seconds; a stand-in in tests
        self.min_age = min(min_age, ttl)
        self._changed_at = float("-inf")
        # key -> (monotonic time its computation started, the good answer)
        self._answers: dict[Hashable, tuple[float, Any]] = {}
        # key -> the one computation under way; also keeps background tasks referenced
        self._flights: dict[Hashable, asyncio.Task[Any]] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        """The answer for `key`: cached if fresh, cached and refreshed behind if just expired,
        else computed (or the computation under way joined) and waited for."""
        hit = self._answers.get(key)
        if hit is not None:
            age = self.timer() - hit[0]
            outdated = hit[0] < self._changed_at and age >= self.min_age  # computed before new data
            if age < self.ttl and not outdated:
                return hit[1]
            if outdated:  # wait for an answer with the new data (shared, single flight)
                hit = None
            elif age < 2 * self.ttl:  # serve it, at most one interval stale, and refresh behind
                if key not in self._flights:
                    self._start(key, compute, background=True)
                return hit[1]
        flight = self._flights.get(key)
        if flight is None:
            flight = self._start(key, compute, background=False)
        return await asyncio.shield(flight)  # a cancelled request leaves the computation running

    def changed(self) -> None:
        """New data was stored: answers computed before now are recomputed when next asked
        (once they are `min_age` old, which bounds the recomputations under a stream of batches)."""
        self._changed_at = self.timer()

    async def settle(self) -> None:
        """Wait until no computation is under way (their failures are their waiters' or logged)."""
        while self._flights:
            await asyncio.gather(*self._flights.values(), return_exceptions=True)

    def _start(
        self, key: Hashable, compute: Callable[[], Awaitable[Any]], *, background: bool
    ) -> asyncio.Task[Any]:
        task = asyncio.create_task(self._run(key, compute, background=background))
        task.add_done_callback(_retrieve)
        self._flights[key] = task
        return task

    async def _run(self, key: Hashable, compute: Callable[[], Awaitable[Any]], *, background: bool) -> Any:
        started = self.timer()
        try:
            value = await compute()
        except Exception:
            if background:  # a refresh behind served answers: say so; the previous answer stays
                log.exception(
                    "refreshing a cached answer failed; the previous one stays", extra={"key": repr(key)}
                )
            raise
        finally:
            if self._flights.get(key) is asyncio.current_task():
                del self._flights[key]
        if key not in self._answers and len(self._answers) >= self.max_entries:
            self._evict(self.timer())
        self._answers[key] = (started, value)
        return value

    def _evict(self, now: float) -> None:
        """Make room: drop answers too old to serve, then, if still full, every expired one."""
        for limit in (2 * self.ttl, self.ttl):
            self._answers = {k: v for k, v in self._answers.items() if now - v[0] < limit}
            if len(self._answers) < self.max_entries:
                return


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a computation's failure as seen: its waiters got it, or `_run` logged it."""
    if not task.cancelled():
        task.exception()


class KpiReader:
    """The API's read side: totals, breakdowns and series, cached for `ttl` seconds, each as the
    asking token's scope sees it (`ioc.kpi.scoped`); answers are shared by tokens of one scope."""

    def __init__(self, pool: asyncpg.Pool, ctx: KpiContext, clock: Clock, ttl: float = 1.0) -> None:
        self.pool = pool
        self.ctx = ctx
        self.clock = clock
        self.cache = TtlCache(ttl)
        self.hierarchy = Hierarchy.of(ctx.registry)

    async def totals(self, window: str, scope: Scope = ALL) -> tuple[datetime, dict[str, float | None]]:
        async def compute() -> tuple[datetime, dict[str, float | None]]:
            as_of = self.clock.now()
            values = await scoped_totals(
                self.pool, scope=scope, hierarchy=self.hierarchy, as_of=as_of, window=window, ctx=self.ctx
            )
            return as_of, values

        result: tuple[datetime, dict[str, float | None]] = await self.cache.get(
            ("totals", window, scope), compute
        )
        return result

    async def values(
        self, name: str, window: str, by: Dimension | None, scope: Scope = ALL
    ) -> tuple[datetime, dict[str, float | None]]:
        async def compute() -> tuple[datetime, dict[str, float | None]]:
            as_of = self.clock.now()
            values = await scoped_values(
                self.pool,
                [name],
                scope=scope,
                hierarchy=self.hierarchy,
                as_of=as_of,
                window=window,
                by=by,
                ctx=self.ctx,
            )
            return as_of, dict(sorted(values[name].items()))

        result: tuple[datetime, dict[str, float | None]] = await self.cache.get(
            ("kpi", name, window, by, scope), compute
        )
        return result

    async def series(
        self, name: str, start: datetime, end: datetime, step: str, by: Dimension | None, scope: Scope = ALL
    ) -> Series:
        """Points per breakdown value; for a scoped total, the series of the scope's own value
        (`scoped_series`)."""

        async def compute() -> Series:
            return await scoped_series(
                self.pool,
                name,
                scope=scope,
                hierarchy=self.hierarchy,
                start=start,
                end=end,
                step=step,
                by=by,
                ctx=self.ctx,
                as_of=self.clock.now(),
            )

        result: Series = await self.cache.get(("series", name, start, end, step, by, scope), compute)
        return result
