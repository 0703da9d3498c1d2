"""GET /api/v1/alerts (firing now) and /api/v1/alerts/history (state changes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import Caller
from api.deps import State
from api.errors import ERROR_RESPONSES, time_range
from api.routes.kpis import QueryTime
from ioc.db.alerts import alert_history, firing_alerts
from schemas.alerts import AlertHistoryResponse, AlertsResponse

router = APIRouter(prefix="/api/v1", tags=["alerts"])


async def time_bounds(
    state: State,
    from_: Annotated[
        QueryTime | None, Query(alias="from", description="RFC 3339; default 24 h before `to`")
    ] = None,
    to: Annotated[QueryTime | None, Query(description="RFC 3339; default now")] = None,
) -> tuple[datetime, datetime]:
    """The `from`/`to` query parameters of a log read by time (alert history, audit), checked
    by the rule every ranged route shares (`time_range`: the same 400s)."""
    return time_range(from_, to, now=state.reader.clock.now())


TimeBounds = Annotated[tuple[datetime, datetime], Depends(time_bounds)]
"""`(start, end)` from the `from`/`to` query parameters."""


@router.get("/alerts", response_model=AlertsResponse, summary="Alerts firing now, most severe first")
async def alerts(principal: Caller, state: State) -> AlertsResponse:
    inside = state.reader.hierarchy.labels_inside
    found = [a for a in await firing_alerts(state.pool) if inside(principal.scope, a.labels)]
    return AlertsResponse(as_of=state.reader.clock.now(), alerts=found)


@router.get(
    "/alerts/history",
    response_model=AlertHistoryResponse,
    response_model_by_alias=True,
    responses=ERROR_RESPONSES,
    summary="Alert state changes in a time range, oldest first",
)
async def history(principal: Caller, state: State, bounds: TimeBounds) -> AlertHistoryResponse:
    start, end = bounds
    inside = state.reader.hierarchy.labels_inside
    changes = [c for c in await alert_history(state.pool, start, end) if inside(principal.scope, c.labels)]
    return AlertHistoryResponse(from_=start, to=end, changes=changes)
