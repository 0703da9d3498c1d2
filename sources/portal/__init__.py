"""The public-service portal where citizens file applications (topic ioc.portal.applications).

Events (`events.py`, `wire.py`), KPIs (`kpis.py`), per-batch arithmetic (`arithmetic.py`) with
what it reads first (`lookups.py`), its tables' writes and state KPIs (`state.py`), its simulator
profile (`simulator.py`), and its wall area (below).
"""

from __future__ import annotations

from ioc.sources import Source, WallArea
from schemas.kpis import Dimension
from sources.portal import events, kpis, state, wire
from sources.portal.arithmetic import PortalEffects
from sources.portal.lookups import ApplicationLookups
from sources.portal.simulator import profiles as portal_profiles

SOURCE = Source(
    name="portal",
    label_vi="Cổng dịch vụ công",
    label_en="Public-service portal",
    topics=kpis.TOPICS,
    topic_labels=kpis.TOPIC_LABELS,
    models=(
        events.ApplicationSubmitted,
        events.ApplicationResolved,
        events.ApplicationPaid,
        events.ApplicationRated,
    ),
    structs=(
        wire.ApplicationSubmitted,
        wire.ApplicationResolved,
        wire.ApplicationPaid,
        wire.ApplicationRated,
    ),
    dimensions=kpis.DIMS,
    dimension_labels={
        "agency": ("theo cơ quan", "by agency"),
        "district": ("theo địa bàn", "by district"),
        "service_level": ("theo mức dịch vụ", "by service level"),
    },
    value_names={"service_level": {str(n): (f"Mức {n}", f"Level {n}") for n in (2, 3, 4)}},
    freshness={kpis.APPLICATIONS: "15m office"},
    kpis=kpis.KPIS,
    sum_blocks=kpis.SUM_BLOCKS,
    sketch_blocks=kpis.SKETCH_BLOCKS,
    formulas=kpis.FORMULAS,
    thresholds=kpis.THRESHOLDS,
    state=state.STATE,
    registry_values=state.registry_values,
    breakdown_extras=state.breakdown_extras,
    arithmetic=PortalEffects,
    lookups=ApplicationLookups(),
    store=state.ApplicationStore(),
    simulator=portal_profiles,
    wall=WallArea(
        headline=("portal.submitted", "portal.resolved", "portal.on_time_pct", "portal.overdue"),
        aside={"portal.overdue": "portal.backlog"},
        secondary=("portal.online_pct", "portal.level4_pct", "portal.cashless_pct", "portal.rating_avg"),
        trend=("portal.submitted", "portal.resolved"),
        breakdown=("portal.on_time_pct", Dimension.AGENCY),
    ),
)
