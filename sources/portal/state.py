"""Portal state KPIs (backlog, overdue) from `portal_applications`, the breakdown values it
lists, and how it writes its tables (applications merged, held contributions row by row)."""

from __future__ import annotations

from datetime import datetime

from ioc.contributions import Dims, Effects
from ioc.db.entities import merge_entities
from ioc.db.pool import Conn, Queryable
from ioc.db.writes import Writes
from ioc.kpi.backlog import backlog
from ioc.kpi.context import KpiContext
from ioc.registry import Registry
from schemas.kpis import UNKNOWN, Dimension
from sources.portal.kpis import SERVICE_LEVEL

_SPAN = ("submitted_at", "resolved_at")


def registry_values(dim: Dimension, registry: Registry) -> set[str]:
    if dim == Dimension.DISTRICT:
        return set(registry.district_codes)
    if dim == Dimension.AGENCY:
        return set(registry.agency_codes)
    if dim == SERVICE_LEVEL:
        return {str(level) for level in registry.service_levels}
    return set()


async def breakdown_extras(conn: Queryable, dim: Dimension, ctx: KpiContext) -> set[str]:
    """`unknown` while a contribution is held under it (its submission has not arrived)."""
    if dim not in (Dimension.DISTRICT, Dimension.AGENCY, SERVICE_LEVEL):
        return set()
    held = f"SELECT EXISTS (SELECT 1 FROM portal_pending WHERE {dim} = $1)"
    return {UNKNOWN} if await conn.fetchval(held, UNKNOWN) else set()


async def applications_backlog(
    conn: Queryable, by: Dimension | None, ctx: KpiContext, as_of: datetime
) -> dict[str, float]:
    return await backlog(conn, "portal_applications", _SPAN, by, as_of, overdue=False)


async def applications_overdue(
    conn: Queryable, by: Dimension | None, ctx: KpiContext, as_of: datetime
) -> dict[str, float]:
    return await backlog(conn, "portal_applications", _SPAN, by, as_of, overdue=True)


STATE = {"portal.backlog": applications_backlog, "portal.overdue": applications_overdue}

_MERGED = {
    "portal_applications": (
        "application_id",
        (
            ("district", "text"),
            ("agency", "text"),
            ("service_level", "text"),
            ("service_code", "text"),
            ("submitted_at", "timestamptz"),
            ("due_at", "timestamptz"),
            ("resolved_at", "timestamptz"),
        ),
    ),
}


def _held_columns(dims: Dims) -> tuple[str, str, str]:
    """portal_pending's (district, agency, service_level) of a held contribution."""
    d = dict(dims)
    return d["district"], d["agency"], d["service_level"]


class ApplicationStore:
    def add_parts(self, writes: Writes, fx: Effects) -> None:
        merge_entities(writes, fx, _MERGED)

    def has_rows(self, fx: Effects) -> bool:
        return bool(fx.pending)

    async def write_rows(self, conn: Conn, fx: Effects) -> None:
        """Contributions held under `unknown` until their submission arrives (rare)."""
        if fx.pending:
            await conn.executemany(
                "INSERT INTO portal_pending"
                " (application_id, bucket, metric, bin, value, district, agency, service_level)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                [
                    (p.entity_id, p.bucket, p.metric, p.bin, p.value, *_held_columns(p.dims))
                    for p in fx.pending
                ],
            )
