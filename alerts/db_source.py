"""The alert evaluator's KPI source: the same query module the API answers with."""

from __future__ import annotations

import asyncpg

from ioc.clock import Clock, SystemClock
from ioc.db.pool import create_pool
from ioc.kpi.query import KpiContext, kpi_values
from ioc.settings import DatabaseSettings
from schemas.kpis import Dimension


class DatabaseKpiSource:
    """KPI values read from the database at evaluation time (opens its pool on first use)."""

    def __init__(self, database: DatabaseSettings, ctx: KpiContext, clock: Clock | None = None) -> None:
        self.database = database
        self.ctx = ctx
        self.clock: Clock = clock or SystemClock()
        self._pool: asyncpg.Pool | None = None

    async def kpi_values(self, name: str, *, window: str, by: str | None) -> dict[str, float | None]:
        if self._pool is None:
            self._pool = await create_pool(self.database)
        values = await kpi_values(
            self._pool,
            [name],
            as_of=self.clock.now(),
            window=window,
            by=Dimension(by) if by else None,
            ctx=self.ctx,
        )
        return values[name]

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
