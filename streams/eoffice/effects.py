"""What e-office events change: document counts, on-time and signing rates, processing time, backlog."""

from __future__ import annotations

from ioc.kpi import blocks as b
from schemas.wire import DocumentProcessed, DocumentReceived
from streams.aggregate import Effects, dims_of, hours


def received(e: DocumentReceived, fx: Effects) -> None:
    fx.add(b.EO_RECEIVED, e.occurred_at, dims_of(agency=e.agency))
    fx.entity("eoffice_documents", e.document_id).update(
        agency=e.agency, received_at=e.occurred_at, due_at=e.due_at
    )


def processed(e: DocumentProcessed, fx: Effects) -> None:
    dims = dims_of(agency=e.agency)
    at = e.occurred_at
    fx.add(b.EO_PROCESSED, at, dims)
    if at <= e.due_at:
        fx.add(b.EO_ON_TIME, at, dims)
    if e.digitally_signed:
        fx.add(b.EO_SIGNED, at, dims)
    fx.observe(b.EO_PROCESSING_HOURS, at, dims, hours(at - e.received_at))
    fx.entity("eoffice_documents", e.document_id)["processed_at"] = at
