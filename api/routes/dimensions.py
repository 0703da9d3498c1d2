"""GET /api/v1/dimensions and /api/v1/dimensions/{name}: the names behind the codes.

Breakdowns answer in registry codes (CHIEM_HOA, SO_TN_MT); these routes give each code its
Vietnamese and English names and its parent place (ioc/names.py), so the wall, Grafana and
alert texts can say "Chiêm Hóa" and "Sở Tài nguyên và Môi trường". Read once by a client and
kept: the registry changes only with a restart.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.auth import Caller
from api.deps import AppState, State
from api.errors import ApiError
from ioc.access import Principal
from ioc.names import ValueName, dimension_values
from ioc.registry import Registry
from schemas.api import (
    DimensionInfo,
    DimensionsResponse,
    DimensionValue,
    DimensionValuesResponse,
    ErrorBody,
)
from sources import SOURCES

router = APIRouter(prefix="/api/v1", tags=["dimensions"])

DimensionName = Annotated[str, Path(description="A dimension from /api/v1/dimensions, e.g. district")]


def dimension_names(registry: Registry) -> list[str]:
    """The sources' breakdown dimensions, then the registry's other kinds of place (teams)."""
    return list(dict.fromkeys([*SOURCES.dimensions, *registry.places]))


def describe(registry: Registry, name: str) -> DimensionInfo:
    vi, en = SOURCES.dimension_labels.get(name, (name, name))
    return DimensionInfo(
        name=name,
        label_vi=vi,
        label_en=en,
        kpis=[k.name for k in SOURCES.catalog if name in k.breakdowns],
        areas=[s.name for s in SOURCES.all if name in s.dimensions or name in s.dimension_labels],
        values=len(dimension_values(registry, name, SOURCES.value_names)),
    )


@router.get(
    "/dimensions",
    response_model=DimensionsResponse,
    summary="The breakdown dimensions and what breaks down by each",
)
async def dimensions(principal: Caller, state: State) -> DimensionsResponse:
    registry = state.reader.ctx.registry
    found = [describe(registry, n) for n in dimension_names(registry)]
    if not principal.scope.is_all:  # count only what the token may see
        for info in found:
            info.values = len(_visible(state, principal, info.name))
    return DimensionsResponse(dimensions=found)


def _visible(state: AppState, principal: Principal, name: str) -> list[ValueName]:
    """The dimension's values a token may see (ioc.hierarchy: inside its scope or above it)."""
    values = dimension_values(state.reader.ctx.registry, name, SOURCES.value_names)
    visible = state.reader.hierarchy.visible
    return [v for v in values if visible(principal.scope, name, v.code)]


@router.get(
    "/dimensions/{name}",
    response_model=DimensionValuesResponse,
    responses={404: {"model": ErrorBody, "description": "Unknown dimension; `allowed` lists them"}},
    summary="A dimension's values: code, Vietnamese and English names, parent",
)
async def dimension(principal: Caller, state: State, name: DimensionName) -> DimensionValuesResponse:
    """A scoped token gets only the places inside its scope (and those above it)."""
    registry = state.reader.ctx.registry
    allowed = dimension_names(registry)
    if name not in allowed:
        raise ApiError(404, "unknown_dimension", f"no dimension named {name!r}", allowed)
    values = _visible(state, principal, name)
    return DimensionValuesResponse(
        name=name,
        values=[
            DimensionValue(code=v.code, name_vi=v.name_vi, name_en=v.name_en, parent=v.parent) for v in values
        ],
    )
