"""Liveness, readiness and the Prometheus endpoint."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

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
    body = Readiness(
        ready=broker_err is None and db_err is None,
        broker=broker_err or "ok",
        database=db_err or "ok",
    )
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses=AUTH_RESPONSES,
    dependencies=[Depends(metrics_guard)],
)
async def metrics(state: State) -> Response:
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)
