"""What routes get from the app's lifespan: the settings, the pool, the probes, the metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from prometheus_client import CollectorRegistry

from api.probes import BrokerProbe
from api.snapshot import Snapshotter
from ioc.settings import Settings


@dataclass
class AppState:
    settings: Settings
    pool: asyncpg.Pool
    broker: BrokerProbe
    registry: CollectorRegistry
    snapshotter: Snapshotter


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.ioc
    return state


State = Annotated[AppState, Depends(get_state)]
