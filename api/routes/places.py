"""GET /api/v1/places/{dimension}/{code}: one place's view (a district, commune, agency or market).

A place's KPIs are exactly what a token scoped to that place would see: totals over the scope
through the registry's parent links (ioc/kpi/scoped.py, `KpiReader.totals`), no new arithmetic.
Each wall area's ranking goes one level down: the area's own breakdown when its values lie
inside the place (a district's agencies, markets), else the first of the KPI's breakdowns that
does (a district's communes). A token sees only places inside its own scope: another district is
a 403, an unknown place a 404.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Path, Query

from api.auth import Caller
from api.auth.scopes import AuthError
from api.deps import AppState, State
from api.errors import ERROR_RESPONSES, ApiError
from api.place_lists import place_lists
from ioc.access import Principal, Scope, ScopeKind
from ioc.names import ValueName, dimension_values
from schemas.api import ErrorBody, PlaceLists, PlaceRanking, PlaceRef, PlaceResponse
from schemas.kpis import DEFAULT_WINDOW, Dimension, Window
from sources import SOURCES

router = APIRouter(prefix="/api/v1", tags=["places"])

PLACE_KINDS = ("district", "commune", "agency", "market")
"""The places the wall drills into, top first (the order a path is told in)."""
BELOW = ("commune", "agency", "market", "endpoint")
"""Preferred dimensions of a ranking one level down, when the area's own does not lie inside."""

_RESPONSES: dict[int | str, dict[str, object]] = {
    **ERROR_RESPONSES,  # the 422 of a bad parameter is the house's ErrorBody, not FastAPI's default
    403: {"model": ErrorBody, "description": "The place is outside the token's scope"},
    404: {"model": ErrorBody, "description": "Unknown kind of place or code; `allowed` lists them"},
}


def place_of(state: AppState, dimension: str, code: str) -> ValueName:
    """The registry's place, or a 404 naming what is allowed."""
    if dimension not in PLACE_KINDS:
        raise ApiError(404, "unknown_place_kind", f"no kind of place named {dimension!r}", PLACE_KINDS)
    values = dimension_values(state.reader.ctx.registry, dimension, SOURCES.value_names)
    found = next((v for v in values if v.code == code), None)
    if found is None:
        raise ApiError(404, "unknown_place", f"no {dimension} with the code {code!r}")
    return found


def check_place(principal: Principal, state: AppState, dimension: str, code: str) -> None:
    """403 unless the place lies inside the token's scope (its own scope included)."""
    if not state.reader.hierarchy.holds(principal.scope, dimension, code):
        raise AuthError(
            403,
            "forbidden",
            f"{dimension} {code} is outside the scope {principal.scope} of the token {principal.name!r}",
            [str(principal.scope)],
        )


def ranking_dimension(state: AppState, kind: str, kpi: str, area_by: str) -> str | None:
    """The dimension an area's ranking is read by inside a place of `kind`, or None."""
    under = state.reader.hierarchy.children.get(kind, frozenset())
    breakdowns = [str(d) for d in SOURCES.kpis[kpi].breakdowns]
    if area_by in under:
        return area_by
    return next((d for d in BELOW if d in under and d in breakdowns), None)


def path_to(principal: Principal, state: AppState, dimension: str, code: str) -> list[PlaceRef]:
    """The places above this one that the token may open, top first."""
    ancestors = state.reader.hierarchy.ancestors.get((dimension, code), frozenset())
    names = {
        kind: {v.code: v for v in dimension_values(state.reader.ctx.registry, kind, SOURCES.value_names)}
        for kind in PLACE_KINDS
    }
    out: list[PlaceRef] = []
    for kind in PLACE_KINDS:
        for dim, value in sorted(ancestors):
            named = names[kind].get(value)
            if dim == kind and named and state.reader.hierarchy.holds(principal.scope, dim, value):
                out.append(PlaceRef(dimension=dim, code=value, name_vi=named.name_vi, name_en=named.name_en))
    return out


def place_scope(dimension: str, code: str) -> Scope:
    """The place as a scope: its totals are what a token of that scope sees (a market is a
    scope as good as any: its KPIs break down by market, and nothing lies under it)."""
    return Scope(cast(ScopeKind, dimension), code)


def visible_place(
    principal: Principal, state: AppState, dimension: str, code: str
) -> tuple[ValueName, Scope]:
    """The place the token asks for, and it as a scope: 404 for an unknown one, 403 for one
    outside the token's scope. Every route that takes a place starts here."""
    found = place_of(state, dimension, code)
    check_place(principal, state, dimension, code)
    return found, place_scope(dimension, code)


PlaceKind = Annotated[str, Path(description="district, commune, agency or market")]
PlaceCode = Annotated[str, Path(description="A code from /api/v1/dimensions/{dimension}")]


@router.get(
    "/places/{dimension}/{code}",
    response_model=PlaceResponse,
    responses=_RESPONSES,
    summary="A place's view: every KPI over it and each area's ranking inside it",
)
async def place(
    principal: Caller,
    state: State,
    dimension: PlaceKind,
    code: PlaceCode,
    window: Annotated[Window, Query()] = DEFAULT_WINDOW,
) -> PlaceResponse:
    found, scope = visible_place(principal, state, dimension, code)
    as_of, totals = await state.reader.totals(window, scope)
    rankings: dict[str, PlaceRanking] = {}
    for source in SOURCES.all:
        kpi, area_by = source.wall.breakdown
        by = ranking_dimension(state, dimension, kpi, str(area_by))
        if by is None:
            continue
        _, values = await state.reader.values(kpi, window, Dimension(by), scope)
        rankings[source.name] = PlaceRanking(kpi=kpi, by=by, values=values)
    return PlaceResponse(
        dimension=dimension,
        code=code,
        name_vi=found.name_vi,
        name_en=found.name_en,
        path=path_to(principal, state, dimension, code),
        window=window,
        as_of=as_of,
        kpis=totals,
        rankings=rankings,
    )


@router.get(
    "/places/{dimension}/{code}/lists",
    response_model=PlaceLists,
    responses=_RESPONSES,
    summary="The lists behind a place's numbers: sites offline, meetings missing sites, overdue work",
)
async def lists(
    principal: Caller,
    state: State,
    dimension: PlaceKind,
    code: PlaceCode,
    limit: Annotated[int, Query(ge=1, le=200, description="Most rows of each list")] = 20,
) -> PlaceLists:
    """Sites offline now (longest silent first), meetings in progress with planned sites not
    online (most missing first, naming them), documents and applications past their due time and
    not finished (most overdue first), each inside the place; totals count them all."""
    _, scope = visible_place(principal, state, dimension, code)
    reader = state.reader
    as_of = reader.clock.now()
    return await place_lists(
        reader.pool,
        scope=scope,
        hierarchy=reader.hierarchy,
        as_of=as_of,
        ctx=reader.ctx,
        limit=limit,
    )
