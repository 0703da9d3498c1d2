"""GET /api/v1/kpis, /api/v1/kpis/{name} and /api/v1/catalog."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.deps import State
from api.errors import ERROR_RESPONSES, ApiError
from schemas.api import CatalogEntry, CatalogResponse, KpiResponse, KpisResponse, Thresholds
from schemas.kpis import BY_NAME, CATALOG, DEFAULT_WINDOW, STEPS, WINDOWS, Dimension

router = APIRouter(prefix="/api/v1", tags=["kpis"])

Window = Literal["5m", "15m", "1h", "6h", "24h", "7d"]
By = Literal["district", "site_level", "agency", "service_level", "endpoint"]
KpiName = Annotated[str, Path(description="A KPI name from /api/v1/catalog, e.g. portal.on_time_pct")]


def kpi_or_404(name: str) -> None:
    if name not in BY_NAME:
        raise ApiError(404, "unknown_kpi", f"no KPI named {name!r}", sorted(BY_NAME))


def dimension_for(name: str, by: str | None) -> Dimension | None:
    """The breakdown asked for, if the KPI has it; else a 400 naming the ones it has."""
    if by is None:
        return None
    allowed = [d.value for d in BY_NAME[name].breakdowns]
    if by not in allowed:
        raise ApiError(400, "unknown_breakdown", f"{name} has no breakdown by {by!r}", allowed)
    return Dimension(by)


@router.get("/kpis", response_model=KpisResponse, responses=ERROR_RESPONSES, summary="Every KPI's total")
async def kpis(state: State, window: Annotated[Window, Query()] = DEFAULT_WINDOW) -> KpisResponse:  # type: ignore[assignment]
    as_of, values = await state.reader.totals(window)
    return KpisResponse(window=window, as_of=as_of, kpis=values)


@router.get(
    "/kpis/{name}",
    response_model=KpiResponse,
    responses=ERROR_RESPONSES,
    summary="One KPI, as a total or broken down by a dimension",
)
async def kpi(
    state: State,
    name: KpiName,
    window: Annotated[Window, Query()] = DEFAULT_WINDOW,  # type: ignore[assignment]
    by: Annotated[
        By | None, Query(description="Breakdown; see the KPI's `breakdowns` in the catalog")
    ] = None,
) -> KpiResponse:
    kpi_or_404(name)
    dim = dimension_for(name, by)
    as_of, values = await state.reader.values(name, window, dim)
    return KpiResponse(name=name, window=window, by=by, as_of=as_of, values=values)


@router.get("/catalog", response_model=CatalogResponse, summary="Every KPI with its meaning and thresholds")
async def catalog(state: State) -> CatalogResponse:
    thresholds = state.thresholds
    return CatalogResponse(
        windows=list(WINDOWS),
        steps=list(STEPS),
        default_window=DEFAULT_WINDOW,
        kpis=[
            CatalogEntry(
                name=k.name,
                kind=k.kind.value,
                unit=k.unit,
                better=k.better.value,
                breakdowns=[d.value for d in k.breakdowns],
                label_vi=k.label_vi,
                label_en=k.label_en,
                prometheus=k.prometheus_name,
                thresholds=Thresholds(warn=thresholds[k.name][0], bad=thresholds[k.name][1])
                if k.name in thresholds
                else None,
            )
            for k in CATALOG
        ],
    )
