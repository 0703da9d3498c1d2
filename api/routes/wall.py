"""GET /api/v1/wall: the wall's layout as data, from the sources' registry.

Each source declares its area (headline and secondary tiles, trend, ranking) and the words
for its topics and breakdowns; the page builds itself from this answer, so a new source
appears on the wall without touching the page. The registry names the places a ranking lists
(districts, communes, a source's own places such as markets), so the wall shows "Chợ Tam Cờ",
not CHO_TAM_CO.

What the page does with a source beyond its tiles (the lists behind its numbers in a place's
view) is that source's own script, `sources/<name>/wall.js`, shipped as package data and served
here as `/api/v1/wall/<name>/wall.js`; a source without one shows its tiles alone.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Response

from api.auth import Caller
from api.deps import State
from api.errors import ApiError
from ioc.names import registry_values
from ioc.registry import Registry
from schemas.api import WallArea, WallBreakdown, WallDimension, WallResponse, WallTopic
from sources import SOURCES

router = APIRouter(prefix="/api/v1", tags=["wall"])


def place_names(registry: Registry, dimension: str) -> dict[str, tuple[str, str]] | None:
    """Names (vi, en) of a dimension's values when the registry holds them (ioc/names.py); None
    otherwise. The wall page itself reads them from /api/v1/dimensions/{name}."""
    found = registry_values(registry, dimension)
    return None if found is None else {v.code: (v.name_vi, v.name_en) for v in found}


def area_script(source: str) -> str | None:
    """Where the page loads a source's script from, if its package ships one (so the page never
    asks for a script that is not there)."""
    shipped = resources.files(f"sources.{source}") / "wall.js"
    return f"api/v1/wall/{source}/wall.js" if shipped.is_file() else None


def wall_layout(registry: Registry) -> WallResponse:
    areas = [
        WallArea(
            id=s.name,
            label_vi=s.label_vi,
            label_en=s.label_en,
            headline=list(s.wall.headline),
            secondary=list(s.wall.secondary),
            trend=list(s.wall.trend),
            breakdown=WallBreakdown(kpi=s.wall.breakdown[0], by=str(s.wall.breakdown[1])),
            of=dict(s.wall.of),
            aside=dict(s.wall.aside),
            script=area_script(s.name),
        )
        for s in SOURCES.all
    ]
    topics = [
        WallTopic(
            topic=t.name,
            source=s.name,
            label_vi=s.topic_labels[t.name][0],
            label_en=s.topic_labels[t.name][1],
        )
        for s in SOURCES.all
        for t in s.topics
    ]
    ranked = {area.breakdown.by for area in areas}
    dimensions = [
        WallDimension(
            name=n, label_vi=vi, label_en=en, values=place_names(registry, n) if n in ranked else None
        )
        for n, (vi, en) in SOURCES.dimension_labels.items()
    ]
    return WallResponse(areas=areas, topics=topics, dimensions=dimensions)


@router.get("/wall", response_model=WallResponse, summary="The wall's layout")
async def wall(principal: Caller, state: State) -> WallResponse:
    """The layout; a scoped token gets the names of only the places inside its scope."""
    layout = wall_layout(state.reader.ctx.registry)
    scope, holds = principal.scope, state.reader.hierarchy.holds
    if not scope.is_all:
        for dim in layout.dimensions:
            if dim.values is not None:
                dim.values = {k: v for k, v in dim.values.items() if holds(scope, dim.name, k)}
    return layout


AREA_FILES = {"wall.js": "text/javascript; charset=utf-8"}
"""The files of a source's wall area the page may load, with their types."""


@router.get("/wall/{source}/{file}", include_in_schema=False)
async def area_file(source: str, file: str) -> Response:
    """A source's wall script, from its package (no KPI values: open like the static files).
    Only a registered source's named files are read, so a path can never leave the package."""
    names = [s.name for s in SOURCES.all]
    if source not in names or file not in AREA_FILES:
        raise ApiError(404, "unknown_area_file", f"no wall file {source}/{file}", names)
    shipped = resources.files(f"sources.{source}") / file
    if not shipped.is_file():
        raise ApiError(404, "unknown_area_file", f"the source {source!r} has no {file}", list(AREA_FILES))
    return Response(shipped.read_bytes(), media_type=AREA_FILES[file])
