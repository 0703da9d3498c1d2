"""The e-office source's topic, dimension, KPIs, building blocks and thresholds."""

from __future__ import annotations

from ioc.kpi import formulas as f
from schemas.kpis import Better, Dimension, Kind, Kpi
from schemas.topics import SourceTopic

DOCUMENTS = "ioc.eoffice.documents"
TOPICS = (SourceTopic(DOCUMENTS, "eoffice", "document_id", ("document.received", "document.processed")),)
TOPIC_LABELS = {DOCUMENTS: ("Văn phòng điện tử", "E-office")}

DIMS = (Dimension.AGENCY,)

RECEIVED = "eoffice.received"
PROCESSED = "eoffice.processed"
ON_TIME = "eoffice.processed.on_time"
SIGNED = "eoffice.processed.signed"
PROCESSING_HOURS = "eoffice.processing_hours"
SUM_BLOCKS = (RECEIVED, PROCESSED, ON_TIME, SIGNED)
SKETCH_BLOCKS = (PROCESSING_HOURS,)

W, S = Kind.WINDOW, Kind.STATE
HI, LO, NO = Better.HIGHER, Better.LOWER, Better.NEITHER

KPIS = (
    Kpi("eoffice.received", W, "count", NO, DIMS, "Văn bản đến", "Documents received"),
    Kpi("eoffice.processed", W, "count", HI, DIMS, "Văn bản đã xử lý", "Documents processed"),
    Kpi("eoffice.on_time_pct", W, "percent", HI, DIMS, "Xử lý đúng hạn", "Processed on time"),
    Kpi("eoffice.signed_pct", W, "percent", HI, DIMS, "Ký số", "Digitally signed"),
    Kpi(
        "eoffice.processing_hours_p50",
        W,
        "hours",
        LO,
        DIMS,
        "Thời gian xử lý trung vị",
        "Processing time median",
    ),
    Kpi("eoffice.processing_hours_p95", W, "hours", LO, DIMS, "Thời gian xử lý p95", "Processing time p95"),
    Kpi("eoffice.backlog", S, "count", LO, DIMS, "Văn bản tồn", "Document backlog"),
    Kpi("eoffice.overdue", S, "count", LO, DIMS, "Văn bản quá hạn", "Documents overdue"),
)

FORMULAS = {
    "eoffice.received": f.count(RECEIVED),
    "eoffice.processed": f.count(PROCESSED),
    "eoffice.on_time_pct": f.pct(ON_TIME, PROCESSED),
    "eoffice.signed_pct": f.pct(SIGNED, PROCESSED),
    "eoffice.processing_hours_p50": f.pctl(PROCESSING_HOURS, 0.5),
    "eoffice.processing_hours_p95": f.pctl(PROCESSING_HOURS, 0.95),
}

THRESHOLDS = {
    "eoffice.on_time_pct": (95.0, 85.0),
    "eoffice.signed_pct": (90.0, 75.0),
    "eoffice.processing_hours_p95": (24.0, 72.0),
    "eoffice.overdue": (10.0, 50.0),
}
