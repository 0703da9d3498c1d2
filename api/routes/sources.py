"""GET /api/v1/sources: each source topic's freshness."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException

from api.deps import State
from schemas.api import SourcesResponse, SourceStatus

router = APIRouter(prefix="/api/v1", tags=["sources"])

STALE_AFTER = timedelta(minutes=5)


@router.get("/sources", response_model=SourcesResponse, summary="Freshness of each source topic")
async def sources(state: State) -> SourcesResponse:
    snap = state.snapshotter.current
    if snap is None:
        raise HTTPException(503, "no snapshot yet: the database has not answered since start")
    return SourcesResponse(
        as_of=snap.as_of,
        sources=[
            SourceStatus(
                topic=s.topic,
                newest_event_at=s.newest_event_at,
                accepted_5m=s.accepted_5m,
                rejected_5m=s.rejected_5m,
                duplicates_5m=s.records_5m.get("duplicate", 0),
                stale=s.newest_event_at is None or snap.as_of - s.newest_event_at > STALE_AFTER,
            )
            for s in snap.sources
        ],
    )
