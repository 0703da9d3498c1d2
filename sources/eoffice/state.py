"""E-office state KPIs (backlog, overdue) from `eoffice_documents` at query time, and its
tables' writes."""

from __future__ import annotations

from datetime import datetime

from ioc.db.entities import Upsert, UpsertStore
from ioc.db.pool import Queryable
from ioc.kpi.backlog import backlog
from ioc.kpi.context import KpiContext
from ioc.registry import Registry
from schemas.kpis import Dimension


def registry_values(dim: Dimension, registry: Registry) -> set[str]:
    return set(registry.agency_codes) if dim == Dimension.AGENCY else set()


async def documents_backlog(
    conn: Queryable, by: Dimension | None, ctx: KpiContext, as_of: datetime
) -> dict[str, float]:
    return await backlog(conn, "eoffice_documents", ("received_at", "processed_at"), by, as_of, overdue=False)


async def documents_overdue(
    conn: Queryable, by: Dimension | None, ctx: KpiContext, as_of: datetime
) -> dict[str, float]:
    return await backlog(conn, "eoffice_documents", ("received_at", "processed_at"), by, as_of, overdue=True)


STATE = {"eoffice.backlog": documents_backlog, "eoffice.overdue": documents_overdue}

STORE = UpsertStore(
    Upsert(
        "eoffice_documents",
        "document_id",
        (
            ("agency", "text"),
            ("received_at", "timestamptz"),
            ("due_at", "timestamptz"),
            ("processed_at", "timestamptz"),
        ),
    )
)
"""Documents merged column-wise: each event fills in what it knows."""
