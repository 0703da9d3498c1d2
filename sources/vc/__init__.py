"""The video-conference network linking province, districts and communes (topics ioc.vc.*).

Everything particular to it is in this folder: events (`events.py`, `wire.py`), KPIs and
dimensions (`kpis.py`), per-batch arithmetic (`arithmetic.py`, with the native heartbeat scan
`fastpath.pyx` behind `fast.py`), its tables' writes (`store.py`) and state KPIs (`state.py`,
`availability.py`), its simulator profile (`simulator.py`, `simulator_network.py`), and its wall
area (below).
"""

from __future__ import annotations

from ioc.sources import Source, WallArea
from schemas.kpis import Dimension
from sources.vc import events, kpis, state, wire
from sources.vc.arithmetic import Telemetry
from sources.vc.availability import Availability
from sources.vc.fast import HeartbeatFastPath
from sources.vc.simulator import profiles as vc_profiles
from sources.vc.store import VcStore

SOURCE = Source(
    name="vc",
    label_vi="Hội nghị truyền hình",
    label_en="Video conference",
    topics=kpis.TOPICS,
    topic_labels=kpis.TOPIC_LABELS,
    models=(events.VcHeartbeat, events.VcStatus, events.VcMeetingStarted, events.VcMeetingEnded),
    structs=(wire.VcHeartbeat, wire.VcStatus, wire.VcMeetingStarted, wire.VcMeetingEnded),
    dimensions=kpis.DIMENSIONS,
    dimension_labels={
        "district": ("theo địa bàn", "by district"),
        "site_level": ("theo cấp", "by site level"),
        "commune": ("theo xã", "by commune"),
    },
    value_names={
        "site_level": {
            "province": ("Cấp tỉnh", "Province"),
            "department": ("Sở, ngành", "Department"),
            "district": ("Cấp huyện", "District"),
            "commune": ("Cấp xã", "Commune"),
        }
    },
    freshness={kpis.TELEMETRY: "10s always", kpis.MEETINGS: "8h office"},
    kpis=kpis.KPIS,
    sum_blocks=kpis.SUM_BLOCKS,
    sketch_blocks=kpis.SKETCH_BLOCKS,
    formulas=kpis.FORMULAS,
    thresholds=kpis.THRESHOLDS,
    state=state.STATE,
    computed={"vc.availability_pct": Availability()},
    registry_values=state.registry_values,
    breakdown_extras=state.breakdown_extras,
    arithmetic=Telemetry,
    store=VcStore(),
    fast_path=HeartbeatFastPath(),
    simulator=vc_profiles,
    wall=WallArea(
        headline=(
            "vc.endpoints_online",
            "vc.availability_pct",
            "vc.meetings_active",
            "vc.meeting_endpoints_offline",
        ),
        of={"vc.endpoints_online": "vc.endpoints_known"},
        secondary=("vc.rtt_ms_p95", "vc.jitter_ms_avg", "vc.packet_loss_pct_avg", "vc.heartbeats"),
        trend=("vc.availability_pct",),
        breakdown=("vc.availability_pct", Dimension.DISTRICT),
    ),
)
