"""Community digital-technology teams (tổ công nghệ số cộng đồng), topic ioc.community.activities.

Events (`events.py`, `wire.py`), KPIs and the level derived from a team (`kpis.py`), per-batch
arithmetic (`arithmetic.py`), its teams' table (`migrations/`) with its writes and state KPIs
(`state.py`), and its wall area (below). Its places (teams) are registry data:
`registry.places["team"]`.
"""

from __future__ import annotations

from ioc.sources import Source, WallArea
from schemas.kpis import Dimension
from sources.community import events, kpis, state, wire
from sources.community.arithmetic import Activities
from sources.community.simulator import profiles as community_profiles

SOURCE = Source(
    name="community",
    label_vi="Tổ công nghệ số cộng đồng",
    label_en="Community digital teams",
    topics=kpis.TOPICS,
    topic_labels=kpis.TOPIC_LABELS,
    models=(events.TeamRegistered, events.TeamMembersChanged, events.ActivityReported),
    structs=(wire.TeamRegistered, wire.TeamMembersChanged, wire.ActivityReported),
    dimensions=kpis.DIMS,
    dimension_labels={
        "district": ("theo địa bàn", "by district"),
        "commune": ("theo xã", "by commune"),
        "level": ("theo cấp tổ", "by team level"),
        "kind": ("theo loại hoạt động", "by activity"),
        "team": ("theo tổ", "by team"),  # not a breakdown: names its registry places (teams)
    },
    value_names={
        "level": {"commune": ("Tổ cấp xã", "Commune team"), "village": ("Tổ cấp thôn", "Village team")},
        "kind": {
            "account_setup": ("Tạo tài khoản", "Account setup"),
            "app_install": ("Cài đặt ứng dụng", "App installation"),
            "online_service_help": ("Hỗ trợ dịch vụ công trực tuyến", "Online public-service help"),
            "cashless_help": ("Hỗ trợ thanh toán không tiền mặt", "Cashless payment help"),
            "training": ("Tập huấn", "Training"),
        },
    },
    freshness={kpis.ACTIVITIES: "1h office"},
    kpis=kpis.KPIS,
    sum_blocks=kpis.SUM_BLOCKS,
    sketch_blocks=(),
    distinct_blocks=kpis.DISTINCT_BLOCKS,
    derived=kpis.DERIVED,
    formulas=kpis.FORMULAS,
    thresholds=kpis.THRESHOLDS,
    state=state.STATE,
    registry_values=state.registry_values,
    breakdown_extras=state.breakdown_extras,
    arithmetic=Activities,
    store=state.STORE,
    migrations="sources.community",
    simulator=community_profiles,
    wall=WallArea(
        headline=(
            "community.activities",
            "community.citizens_helped",
            "community.teams_active_pct",
            "community.teams",
        ),
        aside={"community.teams": "community.members"},
        secondary=("community.hours", "community.members"),
        trend=("community.activities",),
        breakdown=("community.teams_active_pct", Dimension.DISTRICT),
    ),
)
