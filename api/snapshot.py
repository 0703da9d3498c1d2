"""A snapshot of what the API serves, refreshed in the background at most every second.

Scrapes, page loads and live pushes all read the same snapshot, so a thousand clients cost
the database one query a second, and every answer says when it was taken (`as_of`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ioc.clock import Clock
from ioc.db.sources import SourceStats, source_stats

log = logging.getLogger("ioc.api.snapshot")


@dataclass
class Snapshot:
    as_of: datetime
    sources: list[SourceStats] = field(default_factory=list)


class Snapshotter:
    """Owns the current snapshot and the task that refreshes it."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock, interval: float = 1.0) -> None:
        self.pool = pool
        self.clock = clock
        self.interval = interval
        self.current: Snapshot | None = None
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> Snapshot:
        now = self.clock.now()
        snap = Snapshot(as_of=now, sources=await source_stats(self.pool, now=now))
        self.current = snap
        return snap

    async def _loop(self) -> None:
        while True:
            try:
                await self.refresh()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("snapshot refresh failed: %s", exc)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="ioc-snapshot")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class SnapshotCollector(Collector):
    """Exposes the snapshot to Prometheus; an absent value is an absent series."""

    def __init__(self, snapshotter: Snapshotter) -> None:
        self.snapshotter = snapshotter

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snap = self.snapshotter.current
        if snap is None:
            return
        records = GaugeMetricFamily(
            "ioc_source_records_5m",
            "Records consumed from a source topic in the last 5 minutes, by outcome.",
            labels=["topic", "outcome"],
        )
        newest = GaugeMetricFamily(
            "ioc_source_newest_event_timestamp_seconds",
            "Event time of the newest accepted event of a source topic.",
            labels=["topic"],
        )
        for s in snap.sources:
            for outcome, n in sorted(s.records_5m.items()):
                records.add_metric([s.topic, outcome], n)
            if s.newest_event_at is not None:
                newest.add_metric([s.topic], s.newest_event_at.timestamp())
        yield records
        yield newest
