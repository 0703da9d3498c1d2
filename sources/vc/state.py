"""The video-conference state KPIs, computed at query time from its entity tables.

They depend on the clock ("online" means a recent event), so they are SQL over `vc_endpoints`
and `vc_meetings` at `as_of`, never counters.
"""

from __future__ import annotations

from datetime import datetime

from ioc.db.pool import Queryable as Conn
from ioc.kpi.context import KpiContext
from ioc.registry import Registry
from schemas.kpis import UNKNOWN, Dimension

TOTAL = ""

# Every endpoint known: registry sites joined with what was seen; seen dimensions win. The
# commune comes from the registry only (events do not carry it): `unknown` for an endpoint the
# registry does not place in a commune.
KNOWN_ENDPOINTS = f"""
WITH reg AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
        AS r(endpoint_id, district, site_level, commune)
), known AS (
    SELECT endpoint_id,
           COALESCE(e.district, reg.district) AS district,
           COALESCE(e.site_level, reg.site_level) AS site_level,
           COALESCE(reg.commune, '{UNKNOWN}') AS commune,
           e.last_event_at IS NOT NULL AND NOT e.last_offline
               AND e.last_event_at >= $5::timestamptz - $6::interval AS online
    FROM vc_endpoints e FULL JOIN reg USING (endpoint_id)
)
"""


def column_of(by: Dimension | None) -> str:
    """The entity tables' column of breakdown `by` (a declared dimension, never user text)."""
    if by is None:
        return "''"
    if by == Dimension.ENDPOINT:
        return "endpoint_id"
    if by not in ("district", "site_level", "commune"):
        raise ValueError(f"video-conference entities have no {by!r} breakdown")
    return str(by)


def registry_sites(ctx: KpiContext) -> tuple[list[str], list[str], list[str], list[str | None]]:
    sites = ctx.registry.sites
    return (
        [s.endpoint_id for s in sites],
        [s.district for s in sites],
        [s.site_level for s in sites],
        [s.commune for s in sites],
    )


def registry_values(dim: Dimension, registry: Registry) -> set[str]:
    """The values a breakdown lists from the registry even where nothing was seen."""
    if dim == Dimension.DISTRICT:
        return set(registry.district_codes) | {s.district for s in registry.sites}
    if dim == "site_level":
        return {s.site_level for s in registry.sites}
    if dim == Dimension.COMMUNE:  # a site the registry places in no commune counts as unknown
        return set(registry.commune_codes) | (
            {UNKNOWN} if any(s.commune is None for s in registry.sites) else set()
        )
    if dim == Dimension.ENDPOINT:
        return set(registry.endpoint_ids)
    return set()


_PLANNED_UNKNOWN = """
SELECT DISTINCT p.endpoint_id FROM (SELECT unnest(planned_endpoints) AS endpoint_id FROM vc_meetings) p
WHERE p.endpoint_id <> ALL($1::text[])
  AND NOT EXISTS (SELECT 1 FROM vc_endpoints e WHERE e.endpoint_id = p.endpoint_id)
"""


async def breakdown_extras(conn: Conn, dim: Dimension, ctx: KpiContext) -> set[str]:
    """Endpoints planned for a meeting but never seen are listed (by endpoint), and make
    `unknown` a district and site level; every endpoint seen is listed by endpoint."""
    planned_unknown = {
        r["endpoint_id"] for r in await conn.fetch(_PLANNED_UNKNOWN, list(ctx.registry.endpoint_ids))
    }
    if dim == Dimension.ENDPOINT:
        rows = await conn.fetch("SELECT endpoint_id FROM vc_endpoints")
        return {r["endpoint_id"] for r in rows} | planned_unknown
    if dim == Dimension.COMMUNE:
        placed = [s.endpoint_id for s in ctx.registry.sites if s.commune is not None]
        unplaced = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM vc_endpoints WHERE endpoint_id <> ALL($1::text[]))", placed
        )
        return {UNKNOWN} if planned_unknown or unplaced else set()
    return {UNKNOWN} if planned_unknown else set()


async def endpoint_counts(
    conn: Conn, by: Dimension | None, ctx: KpiContext, as_of: datetime, *, online: bool = False
) -> dict[str, float]:
    col = column_of(by)
    sql = KNOWN_ENDPOINTS + (
        f"SELECT {col} AS d, count(*) FILTER (WHERE online OR NOT $7) AS n FROM known GROUP BY d"
    )
    rows = await conn.fetch(sql, *registry_sites(ctx), as_of, ctx.offline_after, online)
    return {r["d"]: float(r["n"]) for r in rows}


async def endpoints_known(
    conn: Conn, by: Dimension | None, ctx: KpiContext, as_of: datetime
) -> dict[str, float]:
    return await endpoint_counts(conn, by, ctx, as_of)


async def endpoints_online(
    conn: Conn, by: Dimension | None, ctx: KpiContext, as_of: datetime
) -> dict[str, float]:
    return await endpoint_counts(conn, by, ctx, as_of, online=True)


async def meeting_endpoints_offline(
    conn: Conn, by: Dimension | None, ctx: KpiContext, as_of: datetime
) -> dict[str, float]:
    if by is None:
        col = "''"
    elif by == Dimension.ENDPOINT:
        col = "m.endpoint_id"
    else:
        col = f"COALESCE(k.{column_of(by)}, $8)"
    sql = KNOWN_ENDPOINTS + (
        f"""
        , planned AS (
            SELECT DISTINCT unnest(planned_endpoints) AS endpoint_id FROM vc_meetings
            WHERE started_at IS NOT NULL AND ended_at IS NULL AND started_at + $7::interval > $5
        )
        SELECT {col} AS d, count(*) AS n
        FROM planned m LEFT JOIN known k USING (endpoint_id)
        WHERE NOT COALESCE(k.online, false)
        GROUP BY d"""
    )
    rows = await conn.fetch(
        sql,
        *registry_sites(ctx),
        as_of,
        ctx.offline_after,
        ctx.meeting_max_duration,
        *([UNKNOWN] if "$8" in col else []),
    )
    return {r["d"]: float(r["n"]) for r in rows}


async def meetings_active(
    conn: Conn, by: Dimension | None, ctx: KpiContext, as_of: datetime
) -> dict[str, float]:
    n = await conn.fetchval(
        "SELECT count(*) FROM vc_meetings WHERE started_at IS NOT NULL AND ended_at IS NULL"
        " AND started_at + $2::interval > $1",
        as_of,
        ctx.meeting_max_duration,
    )
    return {TOTAL: float(n)}


STATE = {
    "vc.endpoints_known": endpoints_known,
    "vc.endpoints_online": endpoints_online,
    "vc.meetings_active": meetings_active,
    "vc.meeting_endpoints_offline": meeting_endpoints_offline,
}
