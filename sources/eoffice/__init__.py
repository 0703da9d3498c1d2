"""The e-office system that carries official documents between agencies (topic ioc.eoffice.documents).

Events (`events.py`, `wire.py`), KPIs (`kpis.py`), per-batch arithmetic (`arithmetic.py`), its
table's writes and state KPIs (`state.py`), its simulator profile (`simulator.py`), and its wall
area (below).
"""

from __future__ import annotations

from ioc.sources import Source, WallArea
from schemas.kpis import Dimension
from sources.eoffice import events, kpis, state, wire
from sources.eoffice.arithmetic import Documents
from sources.eoffice.simulator import profiles as eoffice_profiles

SOURCE = Source(
    name="eoffice",
    label_vi="Văn phòng điện tử",
    label_en="E-office",
    topics=kpis.TOPICS,
    topic_labels=kpis.TOPIC_LABELS,
    models=(events.DocumentReceived, events.DocumentProcessed),
    structs=(wire.DocumentReceived, wire.DocumentProcessed),
    dimensions=kpis.DIMS,
    dimension_labels={"agency": ("theo cơ quan", "by agency")},
    freshness={kpis.DOCUMENTS: "15m office"},
    kpis=kpis.KPIS,
    sum_blocks=kpis.SUM_BLOCKS,
    sketch_blocks=kpis.SKETCH_BLOCKS,
    formulas=kpis.FORMULAS,
    thresholds=kpis.THRESHOLDS,
    state=state.STATE,
    registry_values=state.registry_values,
    arithmetic=Documents,
    store=state.STORE,
    simulator=eoffice_profiles,
    wall=WallArea(
        headline=("eoffice.received", "eoffice.processed", "eoffice.on_time_pct", "eoffice.overdue"),
        aside={"eoffice.overdue": "eoffice.backlog"},
        secondary=("eoffice.signed_pct", "eoffice.processing_hours_p50", "eoffice.processing_hours_p95"),
        trend=("eoffice.received", "eoffice.processed"),
        breakdown=("eoffice.overdue", Dimension.AGENCY),
    ),
)
