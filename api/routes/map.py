"""GET /api/v1/map: the province's districts, or one district's communes, each judged by its
worst KPI against the wall's thresholds, with its video-conference sites offline now.

The wall draws these as a schematic tile map (api/static/map.js): no package here ships the
province's boundaries, so each place is one tile, in the registry's order. A place's KPIs are
its values in the KPI's breakdown by that kind of place (`district`, `commune`), the same numbers
the rankings show; a KPI without that breakdown does not colour the map. A token sees only the
places inside its scope: one scoped to a district or a commune, asking for no district, gets its
own district's communes (those inside its scope), not a province map with nothing on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.auth import Caller
from api.deps import AppState, State
from api.errors import ERROR_RESPONSES
from api.routes.places import place_of, visible_place
from ioc.access import Principal
from ioc.names import dimension_values
from schemas.api import ErrorBody
from schemas.kpis import DEFAULT_WINDOW, Dimension, Window
from sources import SOURCES

router = APIRouter(prefix="/api/v1", tags=["map"])

Status = Literal["ok", "warn", "bad", "none"]
RANK: dict[str, int] = {"bad": 3, "warn": 2, "ok": 1, "none": 0}
OUTSIDE = frozenset({"PROVINCE"})
"""Codes that are no place on a map (the province's own sites are filed under this district)."""


class MapProblem(BaseModel):
    kpi: str
    value: float
    status: Literal["warn", "bad"]


class MapTile(BaseModel):
    code: str
    name_vi: str
    name_en: str
    status: Status = Field(description="Its worst KPI's: bad, warn, ok; none: no KPI has a value")
    problems: list[MapProblem] = Field(description="Its KPIs past a threshold, worst first")
    sites_offline: int | None = Field(description="Video-conference sites known and not online now")
    sites_known: int | None


class MapResponse(BaseModel):
    window: str
    as_of: datetime
    level: str = Field(description="The kind of place of the tiles: district, or commune in a district")
    district: str | None = Field(default=None, description="The district whose communes these are")
    district_name_vi: str | None = None
    district_name_en: str | None = None
    kpis: list[str] = Field(description="The KPIs that colour the map (thresholds and this breakdown)")
    tiles: list[MapTile]


def status_of(value: float | None, limits: tuple[float, float], better: str) -> Status:
    """A value's traffic light by its (warn, bad) thresholds, as the wall's tiles judge it."""
    if value is None:
        return "none"
    warn, bad = limits
    if better == "higher":
        return "bad" if value < bad else "warn" if value < warn else "ok"
    return "bad" if value > bad else "warn" if value > warn else "ok"


def judge_place(
    values: Mapping[str, float | None],
    thresholds: Mapping[str, tuple[float, float]],
    better: Mapping[str, str],
) -> tuple[Status, list[MapProblem]]:
    """A place's colour (its worst KPI's status) and its problems, bad before warn, each group
    in the order given."""
    statuses = {k: status_of(v, thresholds[k], better[k]) for k, v in values.items()}
    worst: Status = max(statuses.values(), key=RANK.__getitem__, default="none")
    problems = [
        MapProblem(kpi=k, value=v, status=s)
        for k, s in sorted(statuses.items(), key=lambda kv: -RANK[kv[1]])
        if s in {"bad", "warn"} and (v := values[k]) is not None
    ]
    return worst, problems


def offline(known: float | None, online: float | None) -> int | None:
    """Sites known and not online; null when either count is missing."""
    if known is None or online is None:
        return None
    return max(0, round(known - online))


def home_district(principal: Principal, state: AppState) -> str | None:
    """The district of a token scoped to a district or to one of its communes; None otherwise
    (the whole province, an agency)."""
    scope = principal.scope
    if scope.kind == "district":
        return str(scope.value)
    if scope.kind == "commune":
        above = state.reader.hierarchy.ancestors.get(("commune", str(scope.value)), frozenset())
        return next((code for dim, code in sorted(above) if dim == "district"), None)
    return None


_RESPONSES: dict[int | str, dict[str, object]] = {
    **ERROR_RESPONSES,
    403: {"model": ErrorBody, "description": "The district is outside the token's scope"},
    404: {"model": ErrorBody, "description": "No district with this code"},
}


@router.get(
    "/map",
    response_model=MapResponse,
    responses=_RESPONSES,
    summary="Districts (or a district's communes) by their worst KPI, with sites offline",
)
async def province_map(
    principal: Caller,
    state: State,
    window: Annotated[Window, Query()] = DEFAULT_WINDOW,
    district: Annotated[str | None, Query(description="A district's code: its communes")] = None,
) -> MapResponse:
    reader = state.reader
    scope = principal.scope
    titled: tuple[str | None, str | None] = (None, None)  # the district's names, on its map
    if district is None and (home := home_district(principal, state)) is not None:
        district = home  # its own communes, read with its own scope (a commune's: that one)
        found = place_of(state, "district", home)
        level, titled = "commune", (found.name_vi, found.name_en)
    elif district is None:
        level = "district"
    else:
        level, (found, scope) = "commune", visible_place(principal, state, "district", district)
        titled = (found.name_vi, found.name_en)
    places = [
        v
        for v in dimension_values(reader.ctx.registry, level, SOURCES.value_names)
        if v.code not in OUTSIDE
        and (district is None or v.parent == district)
        and reader.hierarchy.holds(principal.scope, level, v.code)
    ]
    by = Dimension(level)
    rated = [
        k.name
        for k in SOURCES.catalog
        if k.name in state.thresholds and by in k.breakdowns and k.better.value != "neither"
    ]
    if not places:  # nothing of this level inside the token's scope (a commune's, an agency's)
        return MapResponse(
            window=window,
            as_of=reader.clock.now(),
            level=level,
            district=district,
            district_name_vi=titled[0],
            district_name_en=titled[1],
            kpis=rated,
            tiles=[],
        )
    names = [*rated, "vc.endpoints_known", "vc.endpoints_online"]
    answers = await asyncio.gather(*(reader.values(n, window, by, scope) for n in names))
    values = {n: a[1] for n, a in zip(names, answers, strict=True)}
    as_of = max(a[0] for a in answers)
    better = {n: SOURCES.kpis[n].better.value for n in rated}
    tiles = []
    for place in places:
        status, problems = judge_place(
            {n: values[n].get(place.code) for n in rated}, state.thresholds, better
        )
        known = values["vc.endpoints_known"].get(place.code)
        tiles.append(
            MapTile(
                code=place.code,
                name_vi=place.name_vi,
                name_en=place.name_en,
                status=status,
                problems=problems,
                sites_offline=offline(known, values["vc.endpoints_online"].get(place.code)),
                sites_known=None if known is None else round(known),
            )
        )
    return MapResponse(
        window=window,
        as_of=as_of,
        level=level,
        district=district,
        district_name_vi=titled[0],
        district_name_en=titled[1],
        kpis=rated,
        tiles=tiles,
    )
