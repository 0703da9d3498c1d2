"""The KPIs as Prometheus gauges, named by the contract's rule (schemas.kpis.Kpi.prometheus_name).

Values are in base units (seconds), windowed KPIs carry a `window` label, breakdowns a
`district`, `site_level`, `agency` or `service_level` label (never `endpoint`: too many
series); the series without a dimension label is the total, so sum over
`{agency!=""}` to aggregate a breakdown. A null KPI is an absent series. Gauges are
recomputed in the background every IOC_METRICS_REFRESH_S, so a scrape costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample as PromSample

from api.periodic import Periodic
from api.snapshot import Snapshotter
from ioc.clock import Clock
from ioc.kpi.query import KpiContext, kpi_values
from schemas.kpis import Dimension, Kind
from sources import SOURCES

_EXPORTED_DIMS = tuple(d for d in SOURCES.dimensions if d != Dimension.ENDPOINT)
"""Every declared dimension but `endpoint`, which would explode the series count (contract)."""

Sample = tuple[str, tuple[tuple[str, str], ...], float]


async def compute_samples(
    pool: asyncpg.Pool, ctx: KpiContext, clock: Clock, windows: list[str]
) -> list[Sample]:
    """(metric, labels, value) for every KPI, window and exported breakdown."""
    out: list[Sample] = []
    as_of = clock.now()
    for window in windows:
        for by in (None, *_EXPORTED_DIMS):
            kpis = [k for k in SOURCES.catalog if (by is None or by in k.breakdowns)]
            if window != windows[0]:
                kpis = [k for k in kpis if k.kind is Kind.WINDOW]  # state KPIs once
            if not kpis:
                continue
            values = await kpi_values(
                pool, [k.name for k in kpis], as_of=as_of, window=window, by=by, ctx=ctx
            )
            for k in kpis:
                base: tuple[tuple[str, str], ...] = (("window", window),) if k.kind is Kind.WINDOW else ()
                for key, value in values[k.name].items():
                    if value is None:
                        continue
                    labels = (*base, (str(by), key)) if by is not None else base
                    out.append((k.prometheus_name, labels, value * k.prometheus_scale))
    return out


class KpiCollector(Collector):
    """Serves the last computed KPI samples and the API's pipeline view."""

    def __init__(self, snapshotter: Snapshotter) -> None:
        self.snapshotter = snapshotter
        self.samples: list[Sample] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        for name, labels, value in self.samples:
            fam = families.get(name)
            if fam is None:
                kpi = next(k for k in SOURCES.catalog if k.prometheus_name == name)
                fam = families[name] = GaugeMetricFamily(name, f"KPI {kpi.name}: {kpi.label_en}")
            # labels differ within a family (total vs breakdown), so samples are added directly
            fam.samples.append(PromSample(name, dict(labels), value, None, None))
        yield from families.values()
        yield from self._sources()

    def _sources(self) -> Iterator[GaugeMetricFamily]:
        snap = self.snapshotter.current
        if snap is None:
            return
        newest = GaugeMetricFamily(
            "ioc_source_newest_event_timestamp_seconds",
            "Event time of the newest accepted event of a source topic.",
            labels=["topic"],
        )
        accepted = GaugeMetricFamily(
            "ioc_source_accepted_5m",
            "Events accepted from a source topic in the last 5 minutes.",
            labels=["topic"],
        )
        rejected = GaugeMetricFamily(
            "ioc_source_rejected_5m",
            "Records dead-lettered from a source topic in the last 5 minutes.",
            labels=["topic"],
        )
        lag = GaugeMetricFamily(
            "ioc_source_consumer_lag_records", "Records of a source topic not yet consumed.", labels=["topic"]
        )
        stale = GaugeMetricFamily(
            "ioc_source_stale",
            "1 while a source topic is silent longer than expected in the hours it should speak.",
            labels=["topic"],
        )
        active = GaugeMetricFamily(
            "ioc_source_active",
            "1 in the hours a source topic is expected to speak (IOC_OFFICE_HOURS, IOC_SOURCE_FRESHNESS).",
            labels=["topic"],
        )
        for s in snap.sources:
            stale.add_metric([s.topic], float(s.stale))
            active.add_metric([s.topic], float(s.active))
            if s.newest_event_at is not None:
                newest.add_metric([s.topic], s.newest_event_at.timestamp())
            accepted.add_metric([s.topic], s.accepted_5m)
            rejected.add_metric([s.topic], s.rejected_5m)
            if s.consumer_lag is not None:
                lag.add_metric([s.topic], s.consumer_lag)
        yield from (newest, accepted, rejected, lag, stale, active)


class KpiRefresher:
    """Recomputes the collector's samples every `interval` seconds in the background."""

    def __init__(
        self,
        collector: KpiCollector,
        pool: asyncpg.Pool,
        ctx: KpiContext,
        clock: Clock,
        windows: list[str],
        interval: float,
    ) -> None:
        self.collector = collector
        self.pool = pool
        self.ctx = ctx
        self.clock = clock
        self.windows = windows
        self.interval = interval
        self._periodic = Periodic("KPI gauges", interval, self.refresh)

    async def refresh(self) -> None:
        self.collector.samples = await compute_samples(self.pool, self.ctx, self.clock, self.windows)

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
