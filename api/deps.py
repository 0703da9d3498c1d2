"""What routes get from the app's lifespan: the settings, the pool, the probes, the readers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import asyncpg
from fastapi import Depends, Request
from prometheus_client import CollectorRegistry

from api.probes import BrokerProbe
from api.reader import KpiReader
from api.snapshot import Snapshotter
from ioc.settings import Settings

if TYPE_CHECKING:
    from api.routes.live import ScopedHubs


@dataclass
class AppState:
    settings: Settings
    pool: asyncpg.Pool
    broker: BrokerProbe
    registry: CollectorRegistry
    snapshotter: Snapshotter
    reader: KpiReader
    hubs: ScopedHubs
    thresholds: dict[str, tuple[float, float]]


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.ioc
    return state


State = Annotated[AppState, Depends(get_state)]
