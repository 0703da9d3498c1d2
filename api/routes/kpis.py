"""GET /api/v1/kpis, /api/v1/kpis/{name} and /api/v1/catalog."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, get_type_hints

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
UndocumentedBy = Annotated[str | None, Query(include_in_schema=False), AfterValidator(_declared)]
"""`By`, accepted as it is but left out of an operation's schema: the generic `{name}` routes
take any KPI, so no enum of theirs could say which breakdowns a given one has; each KPI's own
operation (`own_operations`) documents its exact ones instead."""


def by_parameter(allowed: list[str]) -> dict[str, Any]:
    """The OpenAPI `by` parameter of one KPI's own operation: exactly its breakdowns."""
    return {
        "name": "by",
        "in": "query",
        "required": False,
        "description": "Breakdown: one of this KPI's; without it, the total",
        "schema": {"type": "string", "enum": allowed},
    }


def own_operations(router: APIRouter, prefix: str, generic: Callable[..., Any], **route: Any) -> None:
    """Give each KPI that has breakdowns its own GET `{prefix}/<name>`: the `generic` route's
    handler with `name` bound, so answered exactly as `{prefix}/{name}` answers it, and
    documented with `by` limited to that KPI's breakdowns, so a client generated from the schema
    cannot ask for a breakdown the KPI lacks (which is refused with a 400). Call it before the
    generic route is added, so that these match first."""
    for k in SOURCES.catalog:
        if k.breakdowns:
            router.add_api_route(
                f"{prefix}/{k.name}",
                _bound(generic, k.name),
                methods=["GET"],
                operation_id=f"{prefix.strip('/')}_{k.name.replace('.', '_')}",
                openapi_extra={"parameters": [by_parameter([str(d) for d in k.breakdowns])]},
                **route,
            )


def _bound(generic: Callable[..., Any], name: str) -> Callable[..., Any]:
    """`generic` with its `name` parameter fixed; the others (resolved types: FastAPI reads them
    from the signature) stay as they are."""

    async def endpoint(**params: Any) -> Any:
        return await generic(name=name, **params)

    hints = get_type_hints(generic, include_extras=True)
    signature = inspect.signature(generic)
    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[
            p.replace(annotation=hints[p.name]) for p in signature.parameters.values() if p.name != "name"
        ],
        return_annotation=hints["return"],
    )
    return endpoint


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


async def kpi(
    principal: Caller,
    state: State,
    name: KpiName,
    window: Annotated[Window, Query()] = DEFAULT_WINDOW,
    by: UndocumentedBy = None,
) -> KpiResponse:
    """A KPI's total; with `by`, broken down (documented per KPI, in its own operation)."""
    kpi_or_404(name)
    dim = dimension_for(name, by)
    check_breakdown(principal, by, [str(d) for d in SOURCES.kpis[name].breakdowns], state.reader.hierarchy)
    as_of, values = await state.reader.values(name, window, dim, principal.scope)
    return KpiResponse(name=name, window=window, by=by, as_of=as_of, values=values)


own_operations(
    router,
    "/kpis",
    kpi,
    response_model=KpiResponse,
    responses=ERROR_RESPONSES,
    summary="This KPI, as a total or broken down by one of its dimensions",
)
router.add_api_route(
    "/kpis/{name}",
    kpi,
    methods=["GET"],
    response_model=KpiResponse,
    responses=ERROR_RESPONSES,
    summary="One KPI's total (each KPI's own operation also lists its breakdowns)",
)


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
