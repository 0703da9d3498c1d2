"""The FastAPI app factory and its lifespan: one pool, one snapshot task, one registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

from api.deps import AppState
from api.probes import BrokerProbe
from api.routes import health, sources
from api.snapshot import SnapshotCollector, Snapshotter
from ioc.clock import Clock, SystemClock
from ioc.db.pool import create_pool
from ioc.settings import Settings


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The API bound to the configured broker and database."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database)
        registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=registry)
        snapshotter = Snapshotter(pool, clock or SystemClock())
        registry.register(SnapshotCollector(snapshotter))
        broker = BrokerProbe(settings.broker.bootstrap_servers)
        app.state.ioc = AppState(settings, pool, broker, registry, snapshotter)
        snapshotter.start()
        try:
            yield
        finally:
            await snapshotter.stop()
            await broker.close()
            await pool.close()

    app = FastAPI(
        title="IOC operations API",
        version="0.1.0",
        summary="Live KPIs of the province's video conferences, e-office and public-service portal.",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    app.include_router(sources.router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def wall() -> HTMLResponse:
        page = resources.files("api") / "static" / "index.html"
        return HTMLResponse(page.read_text(encoding="utf-8"))

    return app
