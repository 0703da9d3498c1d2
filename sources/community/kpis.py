"""The community digital-team source's topic, dimensions, KPIs, building blocks and thresholds."""

from __future__ import annotations

from ioc.kpi import formulas as f
from ioc.sources import Derived
from schemas.kpis import Better, Dimension, Kind, Kpi
from schemas.topics import SourceTopic

ACTIVITIES = "ioc.community.activities"
TOPICS = (
    SourceTopic(
        ACTIVITIES,
        "community",
        "team_id",
        ("team.registered", "team.members_changed", "activity.reported"),
    ),
)
TOPIC_LABELS = {ACTIVITIES: ("Tổ công nghệ số", "Community teams")}

LEVEL = Dimension("level")
KIND = Dimension("kind")
TEAM = "team"  # carried by activity rows, so `level` can be the team's (DERIVED); not a breakdown
LEVELS = ("commune", "village")
KINDS = ("account_setup", "app_install", "online_service_help", "cashless_help", "training")
STATE_DIMS = (Dimension.DISTRICT, Dimension.COMMUNE, LEVEL)
DIMS = (*STATE_DIMS, KIND)

DERIVED = {str(LEVEL): Derived(via=TEAM, table="community_teams", key="team_id", column="level")}
"""Activities do not carry their team's level: a breakdown by level reads it from the team."""

REPORTED = "community.activities"
HELPED = "community.citizens_helped"
HOURS = "community.hours"
ACTIVE = "community.active_teams"  # distinct teams with an activity
SUM_BLOCKS = (REPORTED, HELPED, HOURS)
DISTINCT_BLOCKS = (ACTIVE,)

W, S = Kind.WINDOW, Kind.STATE
HI, LO, NO = Better.HIGHER, Better.LOWER, Better.NEITHER

KPIS = (
    Kpi(
        "community.teams", S, "count", HI, STATE_DIMS, "Tổ công nghệ số cộng đồng", "Community digital teams"
    ),
    Kpi("community.members", S, "count", HI, STATE_DIMS, "Thành viên tổ", "Team members"),
    Kpi("community.activities", W, "count", HI, DIMS, "Hoạt động hỗ trợ", "Activities reported"),
    Kpi("community.citizens_helped", W, "count", HI, DIMS, "Lượt người dân được hỗ trợ", "Citizens helped"),
    Kpi("community.hours", W, "hours", HI, DIMS, "Giờ hỗ trợ", "Hours of help"),
    Kpi("community.teams_active_pct", W, "percent", HI, DIMS, "Tỷ lệ tổ hoạt động", "Teams active"),
)

FORMULAS = {
    "community.activities": f.count(REPORTED),
    "community.citizens_helped": f.count(HELPED),
    "community.hours": f.count(HOURS),
    "community.teams_active_pct": f.pct_of_state(ACTIVE, "community.teams"),
}

# No wall thresholds: the wall judges its 1 h window, in which an active share swings from its
# daytime level to 0 every night (markets close, teams report a few times a week), so any fixed
# colour would be red half the day. Time-aware expectations are the operator's wall issue.
THRESHOLDS: dict[str, tuple[float, float]] = {}
