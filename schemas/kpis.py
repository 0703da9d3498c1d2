"""The KPI catalogue of contract/KPIS.md: names, kinds, units, breakdowns, labels, thresholds.

The names are the public interface (wall page, Grafana panels, alert rules), so every other
module takes them from here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

WINDOWS: dict[str, int] = {"5m": 5, "15m": 15, "1h": 60, "6h": 360, "24h": 1440, "7d": 10080}
"""Window name -> minutes."""
DEFAULT_WINDOW = "1h"

STEPS: dict[str, int] = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 1440}
"""Series step name -> minutes (`1d` aligns to days in IOC_TIMEZONE)."""
DEFAULT_STEP = "1m"
MAX_POINTS = 10_000


class Kind(enum.StrEnum):
    WINDOW = "window"
    STATE = "state"


class Better(enum.StrEnum):
    HIGHER = "higher"
    LOWER = "lower"
    NEITHER = "neither"


class Dimension(enum.StrEnum):
    DISTRICT = "district"
    SITE_LEVEL = "site_level"
    AGENCY = "agency"
    SERVICE_LEVEL = "service_level"
    ENDPOINT = "endpoint"


UNKNOWN = "unknown"
"""The breakdown value of an event whose entity never told us the dimension."""

VC_DIMS = (Dimension.DISTRICT, Dimension.SITE_LEVEL)
VC_STATE_DIMS = (Dimension.DISTRICT, Dimension.SITE_LEVEL, Dimension.ENDPOINT)
EOFFICE_DIMS = (Dimension.AGENCY,)
PORTAL_DIMS = (Dimension.AGENCY, Dimension.DISTRICT, Dimension.SERVICE_LEVEL)


@dataclass(frozen=True, slots=True)
class Kpi:
    name: str
    kind: Kind
    unit: str  # "count", "percent", "ms", "hours", "vnd", "score"
    better: Better
    breakdowns: tuple[Dimension, ...]
    label_vi: str
    label_en: str

    @property
    def area(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def prometheus_name(self) -> str:
        """`ioc_` + the name with dots as underscores and units in base units (seconds)."""
        stem = self.name.replace(".", "_")
        stem = stem.replace("_ms_", "_seconds_").replace("_hours_", "_seconds_")
        if stem.endswith("_ms"):
            stem = stem[: -len("_ms")] + "_seconds"
        return "ioc_" + stem

    @property
    def prometheus_scale(self) -> float:
        """Multiply the KPI's value by this for its Prometheus gauge."""
        return {"ms": 0.001, "hours": 3600.0}.get(self.unit, 1.0)


def _k(
    name: str,
    kind: Kind,
    unit: str,
    better: Better,
    breakdowns: tuple[Dimension, ...],
    vi: str,
    en: str,
) -> Kpi:
    return Kpi(name, kind, unit, better, breakdowns, vi, en)


W, S = Kind.WINDOW, Kind.STATE
HI, LO, NO = Better.HIGHER, Better.LOWER, Better.NEITHER

CATALOG: tuple[Kpi, ...] = (
    # Video conference
    _k("vc.endpoints_known", S, "count", NO, VC_STATE_DIMS, "Điểm cầu đã biết", "Endpoints known"),
    _k("vc.endpoints_online", S, "count", HI, VC_STATE_DIMS, "Điểm cầu trực tuyến", "Endpoints online"),
    _k("vc.meetings_active", S, "count", NO, (), "Cuộc họp đang diễn ra", "Active meetings"),
    _k(
        "vc.meeting_endpoints_offline",
        S,
        "count",
        LO,
        VC_STATE_DIMS,
        "Điểm cầu trong họp bị mất kết nối",
        "Meeting endpoints offline",
    ),
    _k("vc.heartbeats", W, "count", NO, VC_DIMS, "Tín hiệu nhịp", "Heartbeats"),
    _k("vc.availability_pct", W, "percent", HI, VC_DIMS, "Tỷ lệ sẵn sàng", "Availability"),
    _k("vc.rtt_ms_p95", W, "ms", LO, VC_DIMS, "Độ trễ p95", "Round-trip time p95"),
    _k("vc.jitter_ms_avg", W, "ms", LO, VC_DIMS, "Độ rung trung bình", "Mean jitter"),
    _k("vc.packet_loss_pct_avg", W, "percent", LO, VC_DIMS, "Tỷ lệ mất gói", "Mean packet loss"),
    # E-office
    _k("eoffice.received", W, "count", NO, EOFFICE_DIMS, "Văn bản đến", "Documents received"),
    _k("eoffice.processed", W, "count", HI, EOFFICE_DIMS, "Văn bản đã xử lý", "Documents processed"),
    _k("eoffice.on_time_pct", W, "percent", HI, EOFFICE_DIMS, "Xử lý đúng hạn", "Processed on time"),
    _k("eoffice.signed_pct", W, "percent", HI, EOFFICE_DIMS, "Ký số", "Digitally signed"),
    _k(
        "eoffice.processing_hours_p50",
        W,
        "hours",
        LO,
        EOFFICE_DIMS,
        "Thời gian xử lý trung vị",
        "Processing time median",
    ),
    _k(
        "eoffice.processing_hours_p95",
        W,
        "hours",
        LO,
        EOFFICE_DIMS,
        "Thời gian xử lý p95",
        "Processing time p95",
    ),
    _k("eoffice.backlog", S, "count", LO, EOFFICE_DIMS, "Văn bản tồn", "Document backlog"),
    _k("eoffice.overdue", S, "count", LO, EOFFICE_DIMS, "Văn bản quá hạn", "Documents overdue"),
    # Public-service portal
    _k("portal.submitted", W, "count", NO, PORTAL_DIMS, "Hồ sơ tiếp nhận", "Applications submitted"),
    _k("portal.online_pct", W, "percent", HI, PORTAL_DIMS, "Nộp trực tuyến", "Submitted online"),
    _k("portal.level4_pct", W, "percent", HI, PORTAL_DIMS, "Dịch vụ mức 4", "Level-4 services"),
    _k("portal.resolved", W, "count", HI, PORTAL_DIMS, "Hồ sơ đã giải quyết", "Applications resolved"),
    _k("portal.on_time_pct", W, "percent", HI, PORTAL_DIMS, "Giải quyết đúng hạn", "Resolved on time"),
    _k("portal.approved_pct", W, "percent", NO, PORTAL_DIMS, "Tỷ lệ chấp thuận", "Approved"),
    _k(
        "portal.resolution_hours_p50",
        W,
        "hours",
        LO,
        PORTAL_DIMS,
        "Thời gian giải quyết trung vị",
        "Resolution time median",
    ),
    _k("portal.paid", W, "count", NO, PORTAL_DIMS, "Lượt thanh toán", "Payments"),
    _k("portal.cashless_pct", W, "percent", HI, PORTAL_DIMS, "Thanh toán không tiền mặt", "Cashless"),
    _k("portal.revenue_vnd", W, "vnd", NO, PORTAL_DIMS, "Phí, lệ phí thu", "Revenue"),
    _k("portal.rating_avg", W, "score", HI, PORTAL_DIMS, "Mức hài lòng", "Mean rating"),
    _k("portal.backlog", S, "count", LO, PORTAL_DIMS, "Hồ sơ đang giải quyết", "Application backlog"),
    _k("portal.overdue", S, "count", LO, PORTAL_DIMS, "Hồ sơ quá hạn", "Applications overdue"),
)

BY_NAME: dict[str, Kpi] = {k.name: k for k in CATALOG}

DEFAULT_THRESHOLDS: dict[str, tuple[float, float]] = {
    # name: (warn, bad), in the KPI's unit; crossing them in the "worse" direction colours the wall
    "vc.availability_pct": (99.0, 95.0),
    "vc.rtt_ms_p95": (150.0, 300.0),
    "vc.jitter_ms_avg": (20.0, 40.0),
    "vc.packet_loss_pct_avg": (1.0, 5.0),
    "vc.meeting_endpoints_offline": (1.0, 3.0),
    "eoffice.on_time_pct": (95.0, 85.0),
    "eoffice.signed_pct": (90.0, 75.0),
    "eoffice.processing_hours_p95": (24.0, 72.0),
    "eoffice.overdue": (10.0, 50.0),
    "portal.on_time_pct": (95.0, 90.0),
    "portal.online_pct": (60.0, 40.0),
    "portal.level4_pct": (60.0, 40.0),
    "portal.cashless_pct": (60.0, 40.0),
    "portal.rating_avg": (4.0, 3.0),
    "portal.overdue": (20.0, 100.0),
}
"""Traffic-light thresholds of the wall page; IOC_THRESHOLDS_FILE overrides any of them."""


def status_of(kpi: Kpi, value: float | None, thresholds: tuple[float, float] | None) -> str:
    """`ok`, `warn`, `bad` or `none` (no value or no thresholds), by the KPI's better direction."""
    if value is None or thresholds is None or kpi.better is Better.NEITHER:
        return "none"
    warn, bad = thresholds
    if kpi.better is Better.HIGHER:
        return "bad" if value < bad else "warn" if value < warn else "ok"
    return "bad" if value > bad else "warn" if value > warn else "ok"
