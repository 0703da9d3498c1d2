"""What e-office events change: document counts, on-time and signing rates, processing time,
and the documents' rows (backlog and overdue are computed from them at query time)."""

from __future__ import annotations

from typing import Any

from ioc.contributions import Effects, dims_of, hours
from sources.eoffice import kpis as k
from sources.eoffice.wire import DocumentProcessed, DocumentReceived


class Documents:
    def __init__(self, lookups: object = None, sums: object = None) -> None:
        pass

    def event(self, e: Any, order: int, fx: Effects) -> None:
        if isinstance(e, DocumentReceived):
            received(e, fx)
        elif isinstance(e, DocumentProcessed):
            processed(e, fx)

    def flush(self, fx: Effects) -> None:
        pass


def received(e: DocumentReceived, fx: Effects) -> None:
    fx.add(k.RECEIVED, e.occurred_at, dims_of(agency=e.agency))
    fx.entity("eoffice_documents", e.document_id).update(
        agency=e.agency, received_at=e.occurred_at, due_at=e.due_at
    )


def processed(e: DocumentProcessed, fx: Effects) -> None:
    dims = dims_of(agency=e.agency)
    at = e.occurred_at
    fx.add(k.PROCESSED, at, dims)
    if at <= e.due_at:
        fx.add(k.ON_TIME, at, dims)
    if e.digitally_signed:
        fx.add(k.SIGNED, at, dims)
    fx.observe(k.PROCESSING_HOURS, at, dims, hours(at - e.received_at))
    fx.entity("eoffice_documents", e.document_id)["processed_at"] = at
