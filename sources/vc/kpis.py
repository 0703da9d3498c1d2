"""The video-conference source's topics, dimensions, KPIs, building blocks and thresholds."""

from __future__ import annotations

from ioc.kpi import formulas as f
from schemas.kpis import Better, Dimension, Kind, Kpi
from schemas.topics import SourceTopic

TELEMETRY = "ioc.vc.telemetry"
MEETINGS = "ioc.vc.meetings"

TOPICS = (
    SourceTopic(TELEMETRY, "vc", "endpoint_id", ("vc.heartbeat", "vc.status")),
    SourceTopic(MEETINGS, "vc", "meeting_id", ("vc.meeting.started", "vc.meeting.ended")),
)
TOPIC_LABELS = {
    TELEMETRY: ("HNTH · điểm cầu", "VC · endpoints"),
    MEETINGS: ("HNTH · cuộc họp", "VC · meetings"),
}

SITE_LEVEL = Dimension("site_level")
DIMS = (Dimension.DISTRICT, SITE_LEVEL)
"""Of the heartbeat sums: what a heartbeat carries (its minute rows are summed per these)."""
SITE_DIMS = (Dimension.DISTRICT, SITE_LEVEL, Dimension.COMMUNE)
"""Of the per-endpoint KPIs (availability): also the site's commune, from the registry."""
STATE_DIMS = (Dimension.DISTRICT, SITE_LEVEL, Dimension.COMMUNE, Dimension.ENDPOINT)
DIMENSIONS = STATE_DIMS

# Building blocks: sums and counts (kpi_minute.metric), sketches (kpi_sketch_minute.metric)
HEARTBEATS = "vc.heartbeats"
JITTER_SUM = "vc.jitter_ms.sum"
LOSS_SUM = "vc.packet_loss_pct.sum"
RTT = "vc.rtt_ms"
SUM_BLOCKS = (HEARTBEATS, JITTER_SUM, LOSS_SUM)
SKETCH_BLOCKS = (RTT,)

W, S = Kind.WINDOW, Kind.STATE
HI, LO, NO = Better.HIGHER, Better.LOWER, Better.NEITHER

KPIS = (
    Kpi("vc.endpoints_known", S, "count", NO, STATE_DIMS, "Điểm cầu đã biết", "Endpoints known"),
    Kpi("vc.endpoints_online", S, "count", HI, STATE_DIMS, "Điểm cầu trực tuyến", "Endpoints online"),
    Kpi("vc.meetings_active", S, "count", NO, (), "Cuộc họp đang diễn ra", "Active meetings"),
    Kpi(
        "vc.meeting_endpoints_offline",
        S,
        "count",
        LO,
        STATE_DIMS,
        "Điểm cầu trong họp bị mất kết nối",
        "Meeting endpoints offline",
    ),
    Kpi("vc.heartbeats", W, "count", NO, DIMS, "Tín hiệu nhịp", "Heartbeats"),
    Kpi("vc.availability_pct", W, "percent", HI, SITE_DIMS, "Tỷ lệ sẵn sàng", "Availability"),
    Kpi("vc.rtt_ms_p95", W, "ms", LO, DIMS, "Độ trễ p95", "Round-trip time p95"),
    Kpi("vc.jitter_ms_avg", W, "ms", LO, DIMS, "Độ rung trung bình", "Mean jitter"),
    Kpi("vc.packet_loss_pct_avg", W, "percent", LO, DIMS, "Tỷ lệ mất gói", "Mean packet loss"),
)

FORMULAS = {
    "vc.heartbeats": f.count(HEARTBEATS),
    "vc.rtt_ms_p95": f.pctl(RTT, 0.95),
    "vc.jitter_ms_avg": f.avg(JITTER_SUM, HEARTBEATS),
    "vc.packet_loss_pct_avg": f.avg(LOSS_SUM, HEARTBEATS),
}
"""Every windowed KPI but vc.availability_pct, which needs presence and known endpoints (state.py)."""

THRESHOLDS = {
    "vc.availability_pct": (99.0, 95.0),
    "vc.rtt_ms_p95": (150.0, 300.0),
    "vc.jitter_ms_avg": (20.0, 40.0),
    "vc.packet_loss_pct_avg": (1.0, 5.0),
    "vc.meeting_endpoints_offline": (1.0, 3.0),
}
"""The wall's traffic lights (warn, bad) in the KPI's unit; IOC_THRESHOLDS_FILE overrides them."""
