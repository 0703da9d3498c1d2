"""GET /api/v1/sources: each source topic's freshness, from the current snapshot."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import Caller
from api.deps import State
from api.errors import ApiError
from schemas.api import SourcesResponse

router = APIRouter(prefix="/api/v1", tags=["sources"])


@router.get("/sources", response_model=SourcesResponse, summary="Freshness of each source topic")
async def sources(_: Caller, state: State) -> SourcesResponse:
    """The province's systems' health (every token: the wall needs it; it names no place)."""
    snap = state.snapshotter.current
    if snap is None:
        raise ApiError(503, "not_ready", "no snapshot yet: the database has not answered since start")
    return SourcesResponse(as_of=snap.as_of, sources=snap.sources)
