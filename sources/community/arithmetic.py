"""What community events change: activity counts, citizens helped, hours, the teams that were
active, and each team's registration and latest member count.

A team's member count is the one of its latest report (`team.registered` or
`team.members_changed`, by `occurred_at`; the larger count wins a tie), so reports may arrive in
any order; `state.py` merges rows the same way across batches. Activities carry their team as
a dimension, so a breakdown by level reads the team's level when asked (kpis.DERIVED).
"""

from __future__ import annotations

from typing import Any

from ioc.contributions import Effects, dims_of
from sources.community import kpis as b
from sources.community.wire import ActivityReported, TeamMembersChanged, TeamRegistered

TEAMS = "community_teams"


def newer_count(at: Any, members: int, than: dict[str, Any]) -> bool:
    """Whether a member count reported at `at` supersedes the one in row `than`."""
    seen = than.get("members_at")
    return seen is None or (at, members) > (seen, than["members"])


class Activities:
    """Community arithmetic: no lookups, every event carries what its rows need."""

    def __init__(self, lookups: object = None, sums: object = None) -> None:
        pass

    def event(self, e: Any, order: int, fx: Effects) -> None:
        if isinstance(e, ActivityReported):
            dims = dims_of(district=e.district, commune=e.commune, kind=e.kind, team=e.team_id)
            at = e.occurred_at
            fx.add(b.REPORTED, at, dims)
            fx.add(b.HELPED, at, dims, float(e.citizens_helped))
            fx.add(b.HOURS, at, dims, e.hours)
            fx.count_distinct(b.ACTIVE, at, dims, e.team_id)
        elif isinstance(e, TeamRegistered | TeamMembersChanged):
            row = fx.entity(TEAMS, e.team_id)
            if isinstance(e, TeamRegistered):
                first = row.get("registered_at")
                if first is None or e.occurred_at < first:  # the earliest registration places the team
                    row.update(
                        level=e.level, district=e.district, commune=e.commune, registered_at=e.occurred_at
                    )
            else:
                row.setdefault("district", e.district)
                row.setdefault("commune", e.commune)
            if newer_count(e.occurred_at, e.members, row):
                row.update(members=e.members, members_at=e.occurred_at)
            fx.seen(b.REPORTED, dims_of(district=e.district, commune=e.commune))  # own area

    def flush(self, fx: Effects) -> None:
        return None
