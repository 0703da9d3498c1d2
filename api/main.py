"""The FastAPI app factory and its lifespan: one pool, one snapshot, one registry per process."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

from api import errors
from api.auth import AUTH_RESPONSES, install_auth
from api.deps import AppState
from api.probes import BrokerProbe
from api.prometheus import KpiCollector, KpiRefresher
from api.reader import KpiReader
from api.routes import actions, alerts, dimensions, health, kpis, live, me, places, series, sources
from api.routes import map as map_tiles
from api.routes import wall as wall_layout
from api.snapshot import Snapshotter
from ioc.access import ALL, Scope
from ioc.clock import Clock, SystemClock
from ioc.db.names import store_names
from ioc.db.pool import create_pool
from ioc.db.stored import StoredListener
from ioc.kafka import client_options
from ioc.kpi.query import context_from
from ioc.names import name_lookup
from ioc.settings import Settings
from sources import SOURCES


def load_thresholds(settings: Settings) -> dict[str, tuple[float, float]]:
    """The wall's thresholds: defaults, overridden by IOC_THRESHOLDS_FILE ({kpi: [warn, bad]})."""
    out = dict(SOURCES.thresholds)
    path = settings.serve.thresholds_file
    if path is not None:
        for name, pair in json.loads(path.read_text(encoding="utf-8")).items():
            if name not in SOURCES.kpis:
                raise ValueError(f"{path}: unknown KPI {name!r} in thresholds")
            warn, bad = (float(x) for x in pair)
            out[name] = (warn, bad)
    return out


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The API bound to the configured broker and database."""
    clock = clock or SystemClock()
    ctx = context_from(settings.kpi, SOURCES)
    thresholds = load_thresholds(settings)
    kpis.kpi_targets(settings)  # a target naming no KPI stops the API at start, saying which

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database)
        await store_names(pool, name_lookup(ctx.registry, SOURCES.value_names))  # Grafana's names
        registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=registry)
        reader = KpiReader(pool, ctx, clock, ttl=settings.serve.snapshot_interval_s)

        def snapshotter_for(scope: Scope) -> Snapshotter:
            return Snapshotter(
                pool,
                reader,
                interval=settings.serve.snapshot_interval_s,
                stale_after=timedelta(seconds=settings.serve.stale_after_s),
                scope=scope,
            )

        snapshotter = snapshotter_for(ALL)
        kpi_collector = KpiCollector(snapshotter)
        registry.register(kpi_collector)
        windows = [w.strip() for w in settings.serve.metrics_windows.split(",") if w.strip()]
        refresher = KpiRefresher(kpi_collector, pool, ctx, clock, windows, settings.serve.metrics_refresh_s)
        broker = BrokerProbe(client_options(settings.broker))
        hubs = live.ScopedHubs(live.Broadcaster(snapshotter), snapshotter_for)
        app.state.ioc = AppState(settings, pool, broker, registry, snapshotter, reader, hubs, thresholds)

        def on_stored() -> None:  # a worker stored a batch: fresh answers and pushes now
            reader.cache.changed()
            hubs.poke()

        listener = StoredListener(pool, on_stored)
        snapshotter.start()
        refresher.start()
        listener.start()
        try:
            yield
        finally:
            await listener.stop()
            await refresher.stop()
            await hubs.stop()
            await snapshotter.stop()
            await broker.close()
            await pool.close()

    app = FastAPI(
        title="IOC operations API",
        version="0.1.0",
        summary="Live KPIs of the province's video conferences, e-office and public-service portal.",
        lifespan=lifespan,
    )
    errors.install(app)
    install_auth(app, settings.auth)  # tokens, CORS, request limits, redacted logs
    app.include_router(health.router)
    app.include_router(live.router)
    app.include_router(wall_layout.router, responses=AUTH_RESPONSES)
    app.include_router(dimensions.router, responses=AUTH_RESPONSES)  # names of codes
    app.include_router(places.router, responses=AUTH_RESPONSES)  # a place's view and lists
    app.include_router(map_tiles.router, responses=AUTH_RESPONSES)  # the wall's schematic map
    for module in (kpis, series, sources, alerts, actions, me):  # each route checks role and scope
        app.include_router(module.router, responses=AUTH_RESPONSES)

    app.mount("/static", StaticFiles(packages=[("api", "static")]), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def wall() -> HTMLResponse:
        page = resources.files("api") / "static" / "index.html"
        return HTMLResponse(page.read_text(encoding="utf-8"))

    return app
