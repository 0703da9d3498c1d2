"""Community state KPIs (teams, members) from `community_teams`, the breakdown values the
registry gives (and `unknown` levels), and how the teams' rows are merged."""

from __future__ import annotations

from datetime import datetime

from ioc.db.entities import Upsert, UpsertStore
from ioc.db.pool import Queryable
from ioc.kpi.context import KpiContext
from ioc.registry import Registry
from schemas.kpis import UNKNOWN, Dimension
from sources.community.arithmetic import TEAMS
from sources.community.kpis import KIND, KINDS, LEVEL, LEVELS, STATE_DIMS, TEAM


def registry_values(dim: Dimension, registry: Registry) -> set[str]:
    if dim == Dimension.DISTRICT:
        return {c.district for c in registry.communes}
    if dim == Dimension.COMMUNE:
        return set(registry.commune_codes)
    if dim == LEVEL:
        return set(LEVELS)
    if dim == KIND:
        return set(KINDS)
    return set()


async def breakdown_extras(conn: Queryable, dim: Dimension, ctx: KpiContext) -> set[str]:
    """`unknown` levels while some team has reported activities but not its registration."""
    if dim != LEVEL:
        return set()
    orphan = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM dimension_values v WHERE v.area = 'community'"
        " AND v.dimension = $1 AND NOT EXISTS (SELECT 1 FROM community_teams t"
        " WHERE t.team_id = v.value AND t.level IS NOT NULL))",
        TEAM,
    )
    return {UNKNOWN} if orphan else set()


async def _registered(conn: Queryable, by: Dimension | None, what: str) -> dict[str, float]:
    if by is not None and by not in STATE_DIMS:
        raise ValueError(f"teams have no {by!r} breakdown")
    col = "''" if by is None else str(by)  # a declared dimension, never user text
    rows = await conn.fetch(
        f"SELECT {col} AS d, {what} AS n FROM community_teams WHERE registered_at IS NOT NULL GROUP BY d"
    )
    return {r["d"]: float(r["n"]) for r in rows}


async def teams(conn: Queryable, by: Dimension | None, ctx: KpiContext, as_of: datetime) -> dict[str, float]:
    """Teams whose registration arrived."""
    return await _registered(conn, by, "count(*)")


async def members(
    conn: Queryable, by: Dimension | None, ctx: KpiContext, as_of: datetime
) -> dict[str, float]:
    """The latest member count of each registered team, summed."""
    return await _registered(conn, by, "sum(members)")


STATE = {"community.teams": teams, "community.members": members}

_COLUMNS = (
    ("level", "text"),
    ("district", "text"),
    ("commune", "text"),
    ("registered_at", "timestamptz"),
    ("members", "int8"),
    ("members_at", "timestamptz"),
)

_EARLIER = (
    "(EXCLUDED.registered_at IS NOT NULL"
    " AND (t.registered_at IS NULL OR EXCLUDED.registered_at < t.registered_at))"
)

# Registration fills level and place (the earliest registration counts; a tie keeps the first);
# the latest member report wins (the larger count on a tie), whatever order batches come in.
STORE = UpsertStore(
    Upsert(
        TEAMS,
        "team_id",
        _COLUMNS,
        sets={
            "level": f"CASE WHEN {_EARLIER} THEN EXCLUDED.level ELSE t.level END",
            "district": f"CASE WHEN {_EARLIER} OR t.registered_at IS NULL THEN EXCLUDED.district"
            " ELSE t.district END",
            "commune": f"CASE WHEN {_EARLIER} OR t.registered_at IS NULL THEN EXCLUDED.commune"
            " ELSE t.commune END",
            "registered_at": "LEAST(t.registered_at, EXCLUDED.registered_at)",
            "members": "CASE WHEN (EXCLUDED.members_at, EXCLUDED.members) > (t.members_at, t.members)"
            " THEN EXCLUDED.members ELSE t.members END",
            "members_at": "GREATEST(t.members_at, EXCLUDED.members_at)",
        },
    )
)
