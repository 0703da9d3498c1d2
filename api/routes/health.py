"""Liveness, readiness and the Prometheus endpoint."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from api.auth.deps import AUTH_RESPONSES, metrics_guard
from api.deps import State
from api.probes import check_database

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    broker: str
    database: str
    snapshot_as_of: datetime | None = Field(
        default=None,
        description="When the numbers the API serves were computed (null before the first snapshot):"
        " the wall shows their age and stops calling itself live when they stop moving.",
    )


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Broker and database are reachable",
    responses={503: {"model": Readiness, "description": "Broker or database unreachable"}},
)
async def readyz(state: State) -> JSONResponse:
    broker_err, db_err = await asyncio.gather(state.broker.check(), check_database(state.pool))
    snap = state.snapshotter.current
    body = Readiness(
        ready=broker_err is None and db_err is None,
        broker=broker_err or "ok",
        database=db_err or "ok",
        snapshot_as_of=snap.as_of if snap is not None else None,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if body.ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses=AUTH_RESPONSES,
    dependencies=[Depends(metrics_guard)],
)
async def metrics(state: State) -> Response:
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)
