"""The public-service portal's topic, dimensions, KPIs, building blocks and thresholds."""

from __future__ import annotations

from ioc.kpi import formulas as f
from schemas.kpis import Better, Dimension, Kind, Kpi
from schemas.topics import SourceTopic

APPLICATIONS = "ioc.portal.applications"
TOPICS = (
    SourceTopic(
        APPLICATIONS,
        "portal",
        "application_id",
        ("application.submitted", "application.resolved", "application.paid", "application.rated"),
    ),
)
TOPIC_LABELS = {APPLICATIONS: ("Dịch vụ công", "Portal")}

SERVICE_LEVEL = Dimension("service_level")
DIMS = (Dimension.AGENCY, Dimension.DISTRICT, SERVICE_LEVEL)

SUBMITTED = "portal.submitted"
ONLINE = "portal.submitted.online"
LEVEL4 = "portal.submitted.level4"
RESOLVED = "portal.resolved"
ON_TIME = "portal.resolved.on_time"
APPROVED = "portal.resolved.approved"
PAID = "portal.paid"
CASHLESS = "portal.paid.cashless"
REVENUE = "portal.paid.revenue_vnd"
RATED = "portal.rated"
RATING_SUM = "portal.rated.score_sum"
RESOLUTION_HOURS = "portal.resolution_hours"
SUM_BLOCKS = (
    SUBMITTED,
    ONLINE,
    LEVEL4,
    RESOLVED,
    ON_TIME,
    APPROVED,
    PAID,
    CASHLESS,
    REVENUE,
    RATED,
    RATING_SUM,
)
SKETCH_BLOCKS = (RESOLUTION_HOURS,)

W, S = Kind.WINDOW, Kind.STATE
HI, LO, NO = Better.HIGHER, Better.LOWER, Better.NEITHER

KPIS = (
    Kpi("portal.submitted", W, "count", NO, DIMS, "Hồ sơ tiếp nhận", "Applications submitted"),
    Kpi("portal.online_pct", W, "percent", HI, DIMS, "Nộp trực tuyến", "Submitted online"),
    Kpi("portal.level4_pct", W, "percent", HI, DIMS, "Dịch vụ mức 4", "Level-4 services"),
    Kpi("portal.resolved", W, "count", HI, DIMS, "Hồ sơ đã giải quyết", "Applications resolved"),
    Kpi("portal.on_time_pct", W, "percent", HI, DIMS, "Giải quyết đúng hạn", "Resolved on time"),
    Kpi("portal.approved_pct", W, "percent", NO, DIMS, "Tỷ lệ chấp thuận", "Approved"),
    Kpi(
        "portal.resolution_hours_p50",
        W,
        "hours",
        LO,
        DIMS,
        "Thời gian giải quyết trung vị",
        "Resolution time median",
    ),
    Kpi("portal.paid", W, "count", NO, DIMS, "Lượt thanh toán", "Payments"),
    Kpi("portal.cashless_pct", W, "percent", HI, DIMS, "Thanh toán không tiền mặt", "Cashless"),
    Kpi("portal.revenue_vnd", W, "vnd", NO, DIMS, "Phí, lệ phí thu", "Revenue"),
    Kpi("portal.rating_avg", W, "score", HI, DIMS, "Mức hài lòng", "Mean rating"),
    Kpi("portal.backlog", S, "count", LO, DIMS, "Hồ sơ đang giải quyết", "Application backlog"),
    Kpi("portal.overdue", S, "count", LO, DIMS, "Hồ sơ quá hạn", "Applications overdue"),
)

FORMULAS = {
    "portal.submitted": f.count(SUBMITTED),
    "portal.online_pct": f.pct(ONLINE, SUBMITTED),
    "portal.level4_pct": f.pct(LEVEL4, SUBMITTED),
    "portal.resolved": f.count(RESOLVED),
    "portal.on_time_pct": f.pct(ON_TIME, RESOLVED),
    "portal.approved_pct": f.pct(APPROVED, RESOLVED),
    "portal.resolution_hours_p50": f.pctl(RESOLUTION_HOURS, 0.5),
    "portal.paid": f.count(PAID),
    "portal.cashless_pct": f.pct(CASHLESS, PAID),
    "portal.revenue_vnd": f.count(REVENUE),
    "portal.rating_avg": f.avg(RATING_SUM, RATED),
}

THRESHOLDS = {
    "portal.on_time_pct": (95.0, 90.0),
    "portal.online_pct": (60.0, 40.0),
    "portal.level4_pct": (60.0, 40.0),
    "portal.cashless_pct": (60.0, 40.0),
    "portal.rating_avg": (4.0, 3.0),
    "portal.overdue": (20.0, 100.0),
}
