"""The lists behind a place's numbers: its sites offline now, its overdue documents and its
overdue applications, most overdue first. Read at query time from the sources' entity tables
(`vc_endpoints` with the registry's sites, `eoffice_documents`, `portal_applications`), with the
same rules as the KPIs they explain (vc.endpoints_online, eoffice.overdue, portal.overdue), and
kept inside the place through the registry hierarchy (ioc/hierarchy.py)."""

from __future__ import annotations

from datetime import datetime

from ioc.access import Scope
from ioc.db.pool import Queryable as Conn
from ioc.hierarchy import Hierarchy
from ioc.kpi.context import KpiContext
from schemas.api import OfflineSite, OverdueItem, PlaceLists
from sources.vc.state import KNOWN_ENDPOINTS, registry_sites

_OFFLINE = KNOWN_ENDPOINTS + (
    ", seen AS (SELECT endpoint_id, last_event_at FROM vc_endpoints)"
    " SELECT k.endpoint_id, k.district, k.commune, s.last_event_at"
    " FROM known k LEFT JOIN seen s USING (endpoint_id) WHERE NOT k.online"
    " ORDER BY s.last_event_at ASC NULLS FIRST, k.endpoint_id"
)
_DOCUMENTS = (
    "SELECT document_id AS id, agency, NULL::text AS district, received_at AS started_at, due_at,"
    " count(*) OVER () AS total"
    " FROM eoffice_documents WHERE received_at IS NOT NULL AND processed_at IS NULL AND due_at < $1"
    " AND agency = ANY($2::text[]) ORDER BY due_at, document_id LIMIT $3"
)
_APPLICATIONS = (
    "SELECT application_id AS id, agency, district, submitted_at AS started_at, due_at,"
    " count(*) OVER () AS total"
    " FROM portal_applications WHERE submitted_at IS NOT NULL AND resolved_at IS NULL AND due_at < $1"
    " AND (agency = ANY($2::text[]) OR district = ANY($4::text[]))"
    " ORDER BY due_at, application_id LIMIT $3"
)


def _inside_site(hierarchy: Hierarchy, scope: Scope, endpoint: str, district: str, commune: str) -> bool:
    """A site lies in the place by the registry, or (one it does not know) by its own district."""
    if hierarchy.holds(scope, "endpoint", endpoint):
        return True
    return (scope.kind, scope.value) in (("district", district), ("commune", commune))


async def place_lists(
    conn: Conn, *, scope: Scope, hierarchy: Hierarchy, as_of: datetime, ctx: KpiContext, limit: int
) -> PlaceLists:
    """At most `limit` of each list; `*_total` counts them all."""
    rows = await conn.fetch(_OFFLINE, *registry_sites(ctx), as_of, ctx.offline_after)
    offline = [
        OfflineSite(
            endpoint_id=r["endpoint_id"],
            district=r["district"],
            commune=r["commune"],
            last_seen=r["last_event_at"],
        )
        for r in rows
        if _inside_site(hierarchy, scope, r["endpoint_id"], r["district"], r["commune"])
    ]
    agencies = [a.code for a in ctx.registry.agencies if hierarchy.holds(scope, "agency", a.code)]
    districts = [str(scope.value)] if scope.kind == "district" else []
    lists: dict[str, list[OverdueItem]] = {}
    totals: dict[str, int] = {}
    for name, sql in (("documents", _DOCUMENTS), ("applications", _APPLICATIONS)):
        args = [as_of, agencies, limit] + ([districts] if name == "applications" else [])
        found = await conn.fetch(sql, *args)
        lists[name] = [
            OverdueItem(
                id=r["id"],
                agency=r["agency"],
                district=r["district"],
                started_at=r["started_at"],
                due_at=r["due_at"],
                overdue_s=(as_of - r["due_at"]).total_seconds(),
            )
            for r in found
        ]
        totals[name] = int(found[0]["total"]) if found else 0
    return PlaceLists(
        as_of=as_of,
        offline_sites=offline[:limit],
        offline_sites_total=len(offline),
        overdue_documents=lists["documents"],
        overdue_documents_total=totals["documents"],
        overdue_applications=lists["applications"],
        overdue_applications_total=totals["applications"],
    )
