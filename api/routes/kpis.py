"""GET /api/v1/kpis, /api/v1/kpis/{name} and /api/v1/catalog."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from api.auth import Caller, caller, check_breakdown
from api.deps import State
from api.errors import ERROR_RESPONSES, ApiError
from ioc.settings import Settings
from schemas.api import CatalogEntry, CatalogResponse, KpiResponse, KpisResponse, Thresholds
from schemas.kpis import DEFAULT_WINDOW, STEPS, WINDOWS, Dimension, Window
from sources import SOURCES

router = APIRouter(prefix="/api/v1", tags=["kpis"])

_DIMENSIONS = [str(d) for d in SOURCES.dimensions]


def _declared(value: str | None) -> str | None:
    """A dimension some source declares, refused as an unknown literal otherwise (a 422 that
    lists them); whether the KPI has it is `dimension_for`'s question (a 400)."""
    if value is not None and value not in _DIMENSIONS:
        expected = ", ".join(repr(n) for n in _DIMENSIONS[:-1]) + f" or {_DIMENSIONS[-1]!r}"
        raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
    return value


By = Annotated[
    str | None,
    Query(
        description="Breakdown; see the KPI's `breakdowns` in the catalog",
        json_schema_extra={"enum": _DIMENSIONS},
    ),
    AfterValidator(_declared),
]
"""A breakdown dimension: any a source declares (checked against the KPI by `dimension_for`)."""
KpiName = Annotated[str, Path(description="A KPI name from /api/v1/catalog, e.g. portal.on_time_pct")]

_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)


def _rfc3339(value: Any) -> Any:
    """Query times are RFC 3339 text; pydantic alone would also take `100` as a unix time."""
    if isinstance(value, str) and _TIME.fullmatch(value):
        return value
    raise ValueError("must be an RFC 3339 timestamp such as 2026-03-03T10:00:00+07:00")


QueryTime = Annotated[datetime, BeforeValidator(_rfc3339)]
"""A `from`/`to` query parameter (an offset is checked by the route, to say so plainly)."""


def kpi_or_404(name: str) -> None:
    if name not in SOURCES.kpis:
        raise ApiError(404, "unknown_kpi", f"no KPI named {name!r}", sorted(SOURCES.kpis))


def dimension_for(name: str, by: str | None) -> Dimension | None:
    """The breakdown asked for, if the KPI has it; else a 400 naming the ones it has."""
    if by is None:
        return None
    allowed = [str(d) for d in SOURCES.kpis[name].breakdowns]
    if by not in allowed:
        raise ApiError(400, "unknown_breakdown", f"{name} has no breakdown by {by!r}", allowed)
    return Dimension(by)


@router.get(
    "/kpis",
    response_model=KpisResponse,
    responses=ERROR_RESPONSES,
    summary="Every KPI's total (over the token's scope)",
)
async def kpis(
    principal: Caller, state: State, window: Annotated[Window, Query()] = DEFAULT_WINDOW
) -> KpisResponse:
    as_of, values = await state.reader.totals(window, principal.scope)
    return KpisResponse(window=window, as_of=as_of, kpis=values)


@router.get(
    "/kpis/{name}",
    response_model=KpiResponse,
    responses=ERROR_RESPONSES,
    summary="One KPI, as a total or broken down by a dimension",
)
async def kpi(
    principal: Caller,
    state: State,
    name: KpiName,
    window: Annotated[Window, Query()] = DEFAULT_WINDOW,
    by: By = None,
) -> KpiResponse:
    kpi_or_404(name)
    dim = dimension_for(name, by)
    check_breakdown(principal, by, [str(d) for d in SOURCES.kpis[name].breakdowns], state.reader.hierarchy)
    as_of, values = await state.reader.values(name, window, dim, principal.scope)
    return KpiResponse(name=name, window=window, by=by, as_of=as_of, values=values)


class CatalogEntryWithTarget(CatalogEntry):
    target: float | None = Field(
        default=None, description="The province's target for this KPI (IOC_KPI_TARGETS); null: none"
    )


class CatalogWithTargets(CatalogResponse):
    kpis: list[CatalogEntryWithTarget]  # type: ignore[assignment]  # the same entries, with a target


def kpi_targets(settings: Settings) -> dict[str, float]:
    """The configured targets, each a KPI of the catalogue; else a ValueError naming the unknown
    ones and what is allowed (the API's start calls this, so a typo stops it at once)."""
    targets = settings.serve.targets
    unknown = sorted(set(targets) - set(SOURCES.kpis))
    if unknown:
        names = ", ".join(map(repr, unknown))
        raise ValueError(f"IOC_KPI_TARGETS: no KPI is named {names}; the KPIs: {', '.join(SOURCES.kpis)}")
    return targets


@router.get(
    "/catalog",
    response_model=CatalogWithTargets,
    dependencies=[Depends(caller)],
    summary="Every KPI with its meaning and thresholds",
)
async def catalog(state: State) -> CatalogWithTargets:
    thresholds = state.thresholds
    targets = kpi_targets(state.settings)
    return CatalogWithTargets(
        windows=list(WINDOWS),
        steps=list(STEPS),
        default_window=DEFAULT_WINDOW,
        kpis=[
            CatalogEntryWithTarget(
                name=k.name,
                kind=k.kind.value,
                unit=k.unit,
                better=k.better.value,
                breakdowns=[str(d) for d in k.breakdowns],
                label_vi=k.label_vi,
                label_en=k.label_en,
                prometheus=k.prometheus_name,
                thresholds=Thresholds(warn=thresholds[k.name][0], bad=thresholds[k.name][1])
                if k.name in thresholds
                else None,
                target=targets.get(k.name),
            )
            for k in SOURCES.catalog
        ],
    )
