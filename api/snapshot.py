"""The snapshot every live client and every page load shares, refreshed about once a second.

It holds what the wall shows: every KPI's total for the default window, each source's
freshness, and the firing alerts. A thousand clients cost the database one refresh a second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from api.periodic import Periodic
from api.reader import KpiReader
from ioc.access import ALL, Scope
from ioc.db.alerts import firing_alerts
from ioc.db.sources import source_stats
from schemas.alerts import Alert
from schemas.api import SourceStatus
from schemas.kpis import DEFAULT_WINDOW
from sources import SOURCES


@dataclass
class Snapshot:
    as_of: datetime
    window: str = DEFAULT_WINDOW
    kpis: dict[str, float | None] = field(default_factory=dict)
    sources: list[SourceStatus] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


class Snapshotter:
    """Owns the current snapshot, refreshes it, and tells listeners when it changed."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        reader: KpiReader,
        *,
        interval: float,
        stale_after: timedelta,
        scope: Scope = ALL,
    ) -> None:
        self.pool = pool
        self.reader = reader
        self.scope = scope  # a scoped token's snapshot: totals over its part, its alerts only
        self.interval = interval
        self.stale_after = stale_after
        self.current: Snapshot | None = None
        self.listeners: list[Callable[[Snapshot | None, Snapshot], None]] = []
        self._periodic = Periodic("snapshot refresh", interval, self.refresh)

    async def refresh(self) -> Snapshot:
        as_of, kpis = await self.reader.totals(DEFAULT_WINDOW, self.scope)
        stats = await source_stats(self.pool, now=as_of, topics=[t.name for t in SOURCES.topics])
        fresh = self.reader.ctx.freshness  # per topic: how often, in which hours
        sources = [
            SourceStatus(
                topic=s.topic,
                newest_event_at=s.newest_event_at,
                accepted_5m=s.accepted_5m,
                rejected_5m=s.rejected_5m,
                duplicates_5m=s.records_5m.get("duplicate", 0),
                consumer_lag=s.consumer_lag,
                stale=fresh.stale(s.topic, s.newest_event_at, as_of, fallback=self.stale_after),
                active=fresh.active(s.topic, as_of, fallback=self.stale_after),
                expected_every_s=fresh.of(s.topic, self.stale_after).every.total_seconds(),
            )
            for s in stats
        ]
        snap = Snapshot(
            as_of=as_of, kpis=kpis, sources=sources, alerts=self.visible(await firing_alerts(self.pool))
        )
        previous, self.current = self.current, snap
        for listener in list(self.listeners):
            listener(previous, snap)
        return snap

    def visible(self, alerts: list[Alert]) -> list[Alert]:
        """The alerts whose labels fall in this snapshot's scope."""
        inside = self.reader.hierarchy.labels_inside
        return [a for a in alerts if inside(self.scope, a.labels)]

    def start(self) -> None:
        self._periodic.start()

    def poke(self) -> None:
        """New data was stored: refresh now rather than at the next period."""
        self._periodic.poke()

    async def stop(self) -> None:
        await self._periodic.stop()
