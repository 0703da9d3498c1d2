"""GET /api/v1/series/{name}: a KPI over time, one point per step."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import Caller, check_breakdown
from api.deps import State
from api.errors import ERROR_RESPONSES, ApiError, time_range
from api.routes.kpis import By, KpiName, QueryTime, dimension_for, kpi_or_404
from ioc.kpi.series import point_count
from schemas.api import Point, SeriesResponse
from schemas.kpis import DEFAULT_STEP, MAX_POINTS, Step
from sources import SOURCES

router = APIRouter(prefix="/api/v1", tags=["series"])


@router.get(
    "/series/{name}", response_model=SeriesResponse, responses=ERROR_RESPONSES, summary="A KPI over time"
)
async def kpi_series(
    principal: Caller,
    state: State,
    name: KpiName,
    from_: Annotated[
        QueryTime | None, Query(alias="from", description="RFC 3339; default 24 hours before `to`")
    ] = None,
    to: Annotated[QueryTime | None, Query(description="RFC 3339; default now")] = None,
    step: Annotated[Step, Query()] = DEFAULT_STEP,
    by: By = None,
) -> SeriesResponse:
    kpi_or_404(name)
    dim = dimension_for(name, by)
    check_breakdown(principal, by, [str(d) for d in SOURCES.kpis[name].breakdowns], state.reader.hierarchy)
    start, end = time_range(from_, to, now=state.reader.clock.now())
    n = point_count(start, end, step, state.reader.ctx)
    if dim is not None:
        ctx = state.reader.ctx
        n *= max(1, len(ctx.sources.source_of(name).registry_values(dim, ctx.registry)))
    if n > MAX_POINTS:
        raise ApiError(
            400,
            "too_many_points",
            f"{n} points asked for; at most {MAX_POINTS} per response:"
            " shorten the range or use a larger step",
        )
    got = await state.reader.series(name, start, end, step, dim, principal.scope)
    as_points = {k: [Point(t=t, value=v) for t, v in pts] for k, pts in got.items()}
    if dim is None:
        return SeriesResponse(name=name, step=step, from_=start, to=end, points=as_points.get("", []))
    return SeriesResponse(name=name, step=step, by=by, from_=start, to=end, series=as_points)
