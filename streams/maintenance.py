"""Leader-only housekeeping: state KPIs sampled at each minute's end, and retention.

State KPIs are computed from entity tables at query time, so their history must be written
down as it happens; one process (the advisory-lock leader) samples them once a minute.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import asyncpg
import mode

from ioc.clock import Clock, SystemClock
from ioc.db.leader import AdvisoryLeader
from ioc.db.pool import create_pool
from ioc.db.retention import apply_retention
from ioc.kpi.query import KpiContext, kpi_values
from ioc.retry import TRANSIENT_DB_ERRORS
from ioc.settings import Settings
from schemas.kpis import Dimension, Kind

log = logging.getLogger("ioc.streams.maintenance")

_LEADER_KEY = 0x10C_0002


async def sample_state(conn: asyncpg.Pool, ctx: KpiContext, bucket: datetime, as_of: datetime) -> int:
    """Write every state KPI's total and breakdowns (all but per-endpoint) for minute `bucket`."""
    rows: list[tuple[datetime, str, str, str, float]] = []
    state_kpis = [k for k in ctx.sources.catalog if k.kind is Kind.STATE]
    names = [k.name for k in state_kpis]
    for by in (None, *(d for d in ctx.sources.dimensions if d != Dimension.ENDPOINT)):
        wanted = [k.name for k in state_kpis if by is None or by in k.breakdowns]
        if not wanted:
            continue
        values = await kpi_values(conn, wanted, as_of=as_of, window="1h", by=by, ctx=ctx)
        for name in names:
            for key, value in values.get(name, {}).items():
                if value is not None:
                    rows.append((bucket, name, str(by) if by else "", key, value))
    await conn.executemany(
        "INSERT INTO kpi_state_minute (bucket, metric, dimension, value_key, value)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (metric, bucket, dimension, value_key) DO UPDATE SET value = EXCLUDED.value",
        rows,
    )
    return len(rows)


class Maintenance(mode.Service):
    """Samples state KPIs every minute and applies retention every hour, while leader."""

    def __init__(
        self, settings: Settings, ctx: KpiContext, *, clock: Clock | None = None, **kw: object
    ) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.settings = settings
        self.ctx = ctx
        self.clock: Clock = clock or SystemClock()
        self.leader = AdvisoryLeader(settings.database_url, _LEADER_KEY, "state sampling and retention")
        self._pool: asyncpg.Pool | None = None
        self._last_purge: datetime | None = None

    async def on_start(self) -> None:
        self._pool = await create_pool(self.settings.database)

    async def on_stop(self) -> None:
        await self.leader.release()
        if self._pool is not None:
            await self._pool.close()

    @mode.Service.task
    async def _every_minute(self) -> None:
        while not self.should_stop:
            now = self.clock.now()
            next_minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
            await self.sleep((next_minute - now).total_seconds())
            if self.should_stop or self._pool is None:
                return
            try:
                if await self.leader.is_leader():
                    await self.tick(next_minute - timedelta(minutes=1), self.clock.now())
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("maintenance failed, will retry next minute: %s", exc)

    async def tick(self, bucket: datetime, now: datetime) -> None:
        """One minute's work: the state sample for `bucket`, and retention once an hour."""
        if self._pool is None:
            raise RuntimeError("maintenance not started")
        await sample_state(self._pool, self.ctx, bucket, now)
        if self._last_purge is None or now - self._last_purge >= timedelta(hours=1):
            kpi = self.settings.kpi
            deleted = await apply_retention(
                self._pool,
                now=now,
                minute_retention=timedelta(days=kpi.minute_retention_days),
                dimension_retention=timedelta(days=kpi.dimension_retention_days),
            )
            self._last_purge = now
            log.info("retention applied", extra={"deleted": deleted})
