"""KPI building blocks: what the worker stores per minute, and how each windowed KPI is made of them.

The worker writes sums (`kpi_minute`) and sketches (`kpi_sketch_minute`) under these block
names; the query side adds them up over a window and applies `WINDOW_FORMULAS`. A ratio,
average or percentile over nothing is None, never 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ioc.kpi.sketch import percentile

# Sums and counts (kpi_minute.metric)
VC_HEARTBEATS = "vc.heartbeats"
VC_JITTER_SUM = "vc.jitter_ms.sum"
VC_LOSS_SUM = "vc.packet_loss_pct.sum"
EO_RECEIVED = "eoffice.received"
EO_PROCESSED = "eoffice.processed"
EO_ON_TIME = "eoffice.processed.on_time"
EO_SIGNED = "eoffice.processed.signed"
PO_SUBMITTED = "portal.submitted"
PO_ONLINE = "portal.submitted.online"
PO_LEVEL4 = "portal.submitted.level4"
PO_RESOLVED = "portal.resolved"
PO_ON_TIME = "portal.resolved.on_time"
PO_APPROVED = "portal.resolved.approved"
PO_PAID = "portal.paid"
PO_CASHLESS = "portal.paid.cashless"
PO_REVENUE = "portal.paid.revenue_vnd"
PO_RATED = "portal.rated"
PO_RATING_SUM = "portal.rated.score_sum"

# Sketches (kpi_sketch_minute.metric)
VC_RTT = "vc.rtt_ms"
EO_PROCESSING_HOURS = "eoffice.processing_hours"
PO_RESOLUTION_HOURS = "portal.resolution_hours"


@dataclass
class Blocks:
    """Building blocks summed over one window and one dimension value."""

    sums: dict[str, float] = field(default_factory=dict)
    sketches: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def sum(self, name: str) -> float:
        return self.sums.get(name, 0.0)

    def percentile(self, name: str, p: float) -> float | None:
        return percentile(self.sketches.get(name, ()), p)


def ratio_pct(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole > 0 else None


def mean(total: float, n: float) -> float | None:
    return total / n if n > 0 else None


def _count(name: str) -> Callable[[Blocks], float | None]:
    return lambda b: b.sum(name)


def _pct(part: str, whole: str) -> Callable[[Blocks], float | None]:
    return lambda b: ratio_pct(b.sum(part), b.sum(whole))


def _mean(total: str, n: str) -> Callable[[Blocks], float | None]:
    return lambda b: mean(b.sum(total), b.sum(n))


def _pctl(sketch: str, p: float) -> Callable[[Blocks], float | None]:
    return lambda b: b.percentile(sketch, p)


WINDOW_FORMULAS: Mapping[str, Callable[[Blocks], float | None]] = {
    "vc.heartbeats": _count(VC_HEARTBEATS),
    "vc.rtt_ms_p95": _pctl(VC_RTT, 0.95),
    "vc.jitter_ms_avg": _mean(VC_JITTER_SUM, VC_HEARTBEATS),
    "vc.packet_loss_pct_avg": _mean(VC_LOSS_SUM, VC_HEARTBEATS),
    "eoffice.received": _count(EO_RECEIVED),
    "eoffice.processed": _count(EO_PROCESSED),
    "eoffice.on_time_pct": _pct(EO_ON_TIME, EO_PROCESSED),
    "eoffice.signed_pct": _pct(EO_SIGNED, EO_PROCESSED),
    "eoffice.processing_hours_p50": _pctl(EO_PROCESSING_HOURS, 0.5),
    "eoffice.processing_hours_p95": _pctl(EO_PROCESSING_HOURS, 0.95),
    "portal.submitted": _count(PO_SUBMITTED),
    "portal.online_pct": _pct(PO_ONLINE, PO_SUBMITTED),
    "portal.level4_pct": _pct(PO_LEVEL4, PO_SUBMITTED),
    "portal.resolved": _count(PO_RESOLVED),
    "portal.on_time_pct": _pct(PO_ON_TIME, PO_RESOLVED),
    "portal.approved_pct": _pct(PO_APPROVED, PO_RESOLVED),
    "portal.resolution_hours_p50": _pctl(PO_RESOLUTION_HOURS, 0.5),
    "portal.paid": _count(PO_PAID),
    "portal.cashless_pct": _pct(PO_CASHLESS, PO_PAID),
    "portal.revenue_vnd": _count(PO_REVENUE),
    "portal.rating_avg": _mean(PO_RATING_SUM, PO_RATED),
}
"""Every windowed KPI but vc.availability_pct, which needs presence and known endpoints."""


SUM_BLOCKS: tuple[str, ...] = (
    VC_HEARTBEATS, VC_JITTER_SUM, VC_LOSS_SUM,
    EO_RECEIVED, EO_PROCESSED, EO_ON_TIME, EO_SIGNED,
    PO_SUBMITTED, PO_ONLINE, PO_LEVEL4, PO_RESOLVED, PO_ON_TIME, PO_APPROVED,
    PO_PAID, PO_CASHLESS, PO_REVENUE, PO_RATED, PO_RATING_SUM,
)  # fmt: skip
SKETCH_BLOCKS: tuple[str, ...] = (VC_RTT, EO_PROCESSING_HOURS, PO_RESOLUTION_HOURS)


def area_of(name: str) -> str:
    """`vc`, `eoffice` or `portal`: blocks and KPIs of one area share its dimensions."""
    return name.split(".", 1)[0]
