"""The lists behind a place's numbers: its sites offline now, its meetings in progress missing
planned sites, its overdue documents and its overdue applications, most overdue first. Read at
query time from the sources' entity tables (`vc_endpoints` with the registry's sites,
`vc_meetings`, `eoffice_documents`, `portal_applications`), with the same rules as the KPIs they
explain (vc.endpoints_online, vc.meeting_endpoints_offline, eoffice.overdue, portal.overdue),
and kept inside the place through the registry hierarchy (ioc/hierarchy.py): a meeting shows
only its sites inside the place, and is listed only when one of those is missing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from ioc.access import Scope
from ioc.db.pool import Queryable as Conn
from ioc.hierarchy import Hierarchy
from ioc.kpi.context import KpiContext
from schemas.api import MeetingMissingEndpoints, OfflineSite, OverdueItem, PlaceLists
from sources.vc.state import KNOWN_ENDPOINTS, registry_sites

_OFFLINE = KNOWN_ENDPOINTS + (
    ", seen AS (SELECT endpoint_id, last_event_at FROM vc_endpoints)"
    " SELECT k.endpoint_id, k.district, k.commune, s.last_event_at"
    " FROM known k LEFT JOIN seen s USING (endpoint_id) WHERE NOT k.online"
    " ORDER BY s.last_event_at ASC NULLS FIRST, k.endpoint_id"
)
_MEETINGS = KNOWN_ENDPOINTS + (
    ", seen AS (SELECT endpoint_id, last_event_at FROM vc_endpoints)"
    ", active AS (SELECT meeting_id, title, organiser, started_at, planned_endpoints FROM vc_meetings"
    "  WHERE started_at IS NOT NULL AND ended_at IS NULL AND started_at + $7::interval > $5)"
    ", planned AS (SELECT DISTINCT a.meeting_id, p.endpoint_id"
    "  FROM active a CROSS JOIN LATERAL unnest(a.planned_endpoints) AS p(endpoint_id))"
    " SELECT a.meeting_id, a.title, a.organiser, a.started_at, p.endpoint_id,"
    " COALESCE(k.district, 'unknown') AS district, COALESCE(k.commune, 'unknown') AS commune,"
    " COALESCE(k.online, false) AS online, s.last_event_at"
    " FROM planned p JOIN active a USING (meeting_id)"
    " LEFT JOIN known k USING (endpoint_id) LEFT JOIN seen s USING (endpoint_id)"
    " ORDER BY a.started_at, a.meeting_id, p.endpoint_id"
)
"""Every planned site of every meeting in progress, online or not (the rule of
vc.meeting_endpoints_offline: a site never seen is not online)."""
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


def _missing_meetings(
    rows: Sequence[asyncpg.Record], hierarchy: Hierarchy, scope: Scope
) -> list[MeetingMissingEndpoints]:
    """Per meeting, its planned sites inside the place and those of them not online; a meeting
    with none missing there is left out. Most missing first, then the earliest started."""
    meetings: dict[str, MeetingMissingEndpoints] = {}
    for r in rows:
        site = OfflineSite(
            endpoint_id=r["endpoint_id"],
            district=r["district"],
            commune=r["commune"],
            last_seen=r["last_event_at"],
        )
        if not _inside_site(hierarchy, scope, site.endpoint_id, site.district, site.commune):
            continue
        key: str = r["meeting_id"]
        if key not in meetings:
            organiser = r["organiser"]
            meetings[key] = MeetingMissingEndpoints(
                meeting_id=key,
                title=r["title"],
                organiser=organiser
                if isinstance(organiser, str) and hierarchy.holds(scope, "agency", organiser)
                else None,
                started_at=r["started_at"],
                planned_endpoints=0,
                endpoints_offline=[],
            )
        meetings[key].planned_endpoints += 1
        if not r["online"]:
            meetings[key].endpoints_offline.append(site)
    found = [m for m in meetings.values() if m.endpoints_offline]
    return sorted(found, key=lambda m: (-len(m.endpoints_offline), m.started_at, m.meeting_id))


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
    planned = await conn.fetch(
        _MEETINGS, *registry_sites(ctx), as_of, ctx.offline_after, ctx.meeting_max_duration
    )
    meetings = _missing_meetings(planned, hierarchy, scope)
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
        meetings_missing_endpoints=meetings[:limit],
        meetings_missing_endpoints_total=len(meetings),
        overdue_documents=lists["documents"],
        overdue_documents_total=totals["documents"],
        overdue_applications=lists["applications"],
        overdue_applications_total=totals["applications"],
    )
