"""GET /api/v1/series/{name}: a KPI over time, one point per step; GET /api/v1/comparisons:
the wall's headline KPIs as they were at the same time yesterday and last week. Both take a
place (`dimension=&code=`, a district, commune, agency or market inside the token's scope): its
series and comparisons are what a token scoped to that place would get (a place's view).

A series' points are aligned to their steps, and a ratio's points do not add up to a window's
ratio, so "the last hour, as it was yesterday at this time" is asked for directly: a windowed
KPI is computed over the same window ending a day (a week) ago, from the same building blocks
as now; a state KPI is its newest per-minute sample up to then (a state KPI's series). Where a
windowed ratio divides by a state KPI (availability, active shares) the divisor is today's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.auth import Caller, check_breakdown
from api.deps import AppState, State
from api.errors import BAD_PLACE, ERROR_RESPONSES, ApiError, time_range, with_400_examples
from api.reader import KpiReader, TtlCache
from api.routes.kpis import KpiName, QueryTime, UndocumentedBy, dimension_for, kpi_or_404, own_operations
from api.routes.places import visible_place
from ioc.access import Principal, Scope
from ioc.kpi.query import TOTAL
from ioc.kpi.scoped import scoped_series, scoped_values
from ioc.kpi.series import Point as SeriesPoint
from ioc.kpi.series import point_count
from ioc.kpi.windows import step_size
from schemas.api import ErrorBody, Point, SeriesResponse
from schemas.kpis import DEFAULT_STEP, DEFAULT_WINDOW, MAX_POINTS, Kind, Step, Window
from sources import SOURCES

router = APIRouter(prefix="/api/v1", tags=["series"])

_PLACE_RESPONSES: dict[int | str, dict[str, object]] = {
    **with_400_examples(ERROR_RESPONSES, bad_place=BAD_PLACE),
    403: {"model": ErrorBody, "description": "The place is outside the token's scope"},
    404: {"model": ErrorBody, "description": "Unknown kind of place or code"},
}

PlaceDimension = Annotated[
    str | None, Query(description="A place's kind (district, commune, agency, market), with `code`")
]
PlaceCode = Annotated[str | None, Query(description="The place's code; without both: the token's scope")]


def asked_scope(principal: Principal, state: AppState, dimension: str | None, code: str | None) -> Scope:
    """The place asked for as a scope (checked: 404 unknown, 403 outside the token's), or the
    token's own scope when none is asked for."""
    if dimension is None and code is None:
        return principal.scope
    if dimension is None or code is None:
        raise ApiError(400, "bad_place", "a place needs both `dimension` and `code`")
    return visible_place(principal, state, dimension, code)[1]


async def kpi_series(
    principal: Caller,
    state: State,
    name: KpiName,
    from_: Annotated[
        QueryTime | None, Query(alias="from", description="RFC 3339; default 24 hours before `to`")
    ] = None,
    to: Annotated[QueryTime | None, Query(description="RFC 3339; default now")] = None,
    step: Annotated[Step, Query()] = DEFAULT_STEP,
    by: UndocumentedBy = None,
    dimension: PlaceDimension = None,
    code: PlaceCode = None,
) -> SeriesResponse:
    """With a place, the series over it (a breakdown then lists only the values inside it)."""
    kpi_or_404(name)
    dim = dimension_for(name, by)
    scope = asked_scope(principal, state, dimension, code)
    breakdowns = [str(d) for d in SOURCES.kpis[name].breakdowns]
    check_breakdown(replace(principal, scope=scope), by, breakdowns, state.reader.hierarchy)
    start, end = time_range(from_, to, now=state.reader.clock.now())
    ctx = state.reader.ctx
    values = 1 if dim is None else max(1, len(ctx.sources.source_of(name).registry_values(dim, ctx.registry)))
    # a bound first, in constant time: counting 8,000 years of minutes one by one takes hours
    n = points_at_least(start, end, step) * values
    if n <= MAX_POINTS:
        n = point_count(start, end, step, ctx) * values
    if n > MAX_POINTS:
        raise ApiError(
            400,
            "too_many_points",
            f"{n} points asked for; at most {MAX_POINTS} per response:"
            " shorten the range or use a larger step",
        )
    got = await state.reader.series(name, start, end, step, dim, scope)
    answered = sum(map(len, got.values()))
    if answered > MAX_POINTS:  # a breakdown also lists the values seen that the registry lacks
        raise ApiError(
            400,
            "too_many_points",
            f"{answered} points asked for; at most {MAX_POINTS} per response:"
            " shorten the range or use a larger step",
        )
    as_points = {k: [Point(t=t, value=v) for t, v in pts] for k, pts in got.items()}
    if dim is None:
        return SeriesResponse(name=name, step=step, from_=start, to=end, points=as_points.get("", []))
    return SeriesResponse(name=name, step=step, by=by, from_=start, to=end, series=as_points)


own_operations(
    router,
    "/series",
    kpi_series,
    response_model=SeriesResponse,
    responses=_PLACE_RESPONSES,
    summary="This KPI over time, as a total or broken down by one of its dimensions",
)
router.add_api_route(
    "/series/{name}",
    kpi_series,
    methods=["GET"],
    response_model=SeriesResponse,
    responses=_PLACE_RESPONSES,
    summary="A KPI over time (each KPI's own operation also lists its breakdowns)",
)


def points_at_least(start: datetime, end: datetime, step: str) -> int:
    """A lower bound of the steps in [start, end), in constant time, so a range of millennia is
    refused at once (`point_count` counts them one by one); a day is at most 25 hours."""
    size = timedelta(hours=25) if step == "1d" else step_size(step)
    return max(0, (end - start) // size)


AGO = {"yesterday": timedelta(days=1), "last_week": timedelta(days=7)}
"""What the wall compares its headline figures with: the same time a day and a week ago."""
SAMPLES_BACK = timedelta(minutes=5)
"""A state KPI then is its newest sample at most this long before (samples are per minute)."""
COMPARE_TTL_S = 30.0


class PastKpis(BaseModel):
    as_of: datetime = Field(
        description="The time the values are for: `as_of` of the answer, a day or a week ago"
    )
    kpis: dict[str, float | None] = Field(description="Each headline KPI then; null: no data then")


class ComparisonsResponse(BaseModel):
    window: str
    as_of: datetime
    dimension: str | None = Field(default=None, description="The place compared, if one was asked for")
    code: str | None = None
    yesterday: PastKpis
    last_week: PastKpis


def headline_kpis() -> list[str]:
    """The KPIs of the wall's headline tiles, every source's, in the wall's order."""
    return list(dict.fromkeys(n for s in SOURCES.all for n in s.wall.headline))


def last_sampled(points: Sequence[SeriesPoint]) -> float | None:
    """A state KPI's value then: the newest of its samples that holds one (null: none did)."""
    return next((v for _, v in reversed(points) if v is not None), None)


def compared_times(as_of: datetime) -> dict[str, datetime]:
    """The times the comparisons are for, to the second of `as_of`."""
    return {label: as_of - ago for label, ago in AGO.items()}


async def kpis_then(
    reader: KpiReader, names: Sequence[str], *, scope: Scope, at: datetime, window: str
) -> dict[str, float | None]:
    """`names` as `scope` saw them at `at`: windowed ones over the window ending then, state
    ones by their newest sample up to then."""
    ctx, kinds = reader.ctx, SOURCES.kpis
    windowed = [n for n in names if kinds[n].kind is Kind.WINDOW]
    got = await scoped_values(
        reader.pool,
        windowed,
        scope=scope,
        hierarchy=reader.hierarchy,
        as_of=at,
        window=window,
        by=None,
        ctx=ctx,
    )
    out = {n: got[n][TOTAL] for n in windowed}
    end = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for n in names:
        if n in out:
            continue
        points = await scoped_series(
            reader.pool,
            n,
            scope=scope,
            hierarchy=reader.hierarchy,
            start=end - SAMPLES_BACK,
            end=end,
            step="1m",
            by=None,
            ctx=ctx,
            as_of=at,
        )
        out[n] = last_sampled(points.get(TOTAL, []))
    return out


_CACHES: WeakKeyDictionary[KpiReader, TtlCache] = WeakKeyDictionary()


def _cache(reader: KpiReader) -> TtlCache:
    """Past values barely move: each (window, scope, minute) is computed once in a while."""
    if reader not in _CACHES:
        _CACHES[reader] = TtlCache(COMPARE_TTL_S)
    return _CACHES[reader]


@router.get(
    "/comparisons",
    response_model=ComparisonsResponse,
    responses=_PLACE_RESPONSES,
    summary="The wall's headline KPIs at the same time yesterday and last week",
)
async def comparisons(
    principal: Caller,
    state: State,
    window: Annotated[Window, Query()] = DEFAULT_WINDOW,
    dimension: PlaceDimension = None,
    code: PlaceCode = None,
) -> ComparisonsResponse:
    scope = asked_scope(principal, state, dimension, code)
    reader = state.reader
    as_of = reader.clock.now().replace(microsecond=0)
    names = headline_kpis()

    async def compute() -> dict[str, PastKpis]:
        return {
            label: PastKpis(as_of=at, kpis=await kpis_then(reader, names, scope=scope, at=at, window=window))
            for label, at in compared_times(as_of).items()
        }

    minute = as_of.replace(second=0)
    past: dict[str, PastKpis] = await _cache(reader).get(("comparisons", window, scope, minute), compute)
    return ComparisonsResponse(
        window=window,
        as_of=as_of,
        dimension=dimension,
        code=code,
        yesterday=past["yesterday"],
        last_week=past["last_week"],
    )
