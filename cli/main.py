"""The `ioc` command: run the whole product on this machine, or one part against configured services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
import sys
import time

import click
import httpx

from alerts.command import rules
from cli.replay import replay_command
from ioc.logs import setup_logging
from ioc.settings import Settings
from simulator.command import simulate

log = logging.getLogger("ioc.cli")


def _settings() -> Settings:
    try:
        settings = Settings()
    except ValueError as exc:  # pydantic's ValidationError: name the variable and what is allowed
        raise click.ClickException(f"invalid setting: {exc}") from exc
    setup_logging(settings.runtime.log_level, settings.runtime.log_format)
    return settings


def _require_services(settings: Settings, *, broker: bool = True) -> None:
    missing = [] if settings.database.database_url else ["IOC_DATABASE_URL"]
    if broker and settings.broker.kafka_url is None:
        missing.insert(0, "IOC_KAFKA_URL")
    if missing:
        raise click.ClickException(
            f"{' and '.join(missing)} not set: this command runs against configured services"
            " (use `ioc demo` to run everything on the embedded broker and database)"
        )


@click.group()
def cli() -> None:
    """IOC: the operations centre's event pipeline."""


async def _migrate(settings: Settings) -> bool:
    """The schema, and with TimescaleDB the retention policies that IOC_MINUTE_RETENTION_DAYS asks for."""
    from datetime import timedelta

    import asyncpg

    from ioc.db.migrate import migrate
    from ioc.db.retention import policy_ages
    from sources import SOURCES

    conn = await asyncpg.connect(settings.database_url)
    try:
        return await migrate(
            conn,
            timescale=settings.database.db_timescale,
            sources=SOURCES.migrations,
            retention=policy_ages(timedelta(days=settings.kpi.minute_retention_days)),
        )
    finally:
        await conn.close()


@cli.command("migrate")
def migrate_cmd() -> None:
    """Create or update the database schema (idempotent)."""
    settings = _settings()
    _require_services(settings, broker=False)
    ts = asyncio.run(_migrate(settings))
    click.echo(f"schema up to date ({'TimescaleDB' if ts else 'plain PostgreSQL'})")


@cli.command()
def worker() -> None:
    """Run one stream worker (joins the consumer group of the configured broker)."""
    from alerts.db_source import DatabaseKpiSource
    from alerts.service import AlertService
    from cli.runtime.tuning import tune_gc
    from ioc.kpi.query import context_from
    from sources import SOURCES
    from streams.app import build_worker
    from streams.metrics import WorkerMetrics

    settings = _settings()
    _require_services(settings)
    asyncio.run(_migrate(settings))
    metrics = WorkerMetrics()  # one registry: the alert metrics are served with the worker's
    alerts = AlertService(
        settings.alerts,
        database_url=settings.database_url,
        source=DatabaseKpiSource(settings.database, context_from(settings.kpi, SOURCES)),
        registry=metrics.registry,
    )
    worker = build_worker(settings, metrics=metrics, services=[alerts])
    tune_gc()
    worker.execute_from_commandline()


@cli.command()
def api() -> None:
    """Serve the HTTP API, /metrics and the wall page."""
    import uvicorn

    from api.main import create_app

    settings = _settings()
    _require_services(settings)
    uvicorn.run(
        create_app(settings),
        host=settings.api.api_host,
        port=settings.api.api_port,
        log_level=settings.runtime.log_level.lower(),
        access_log=False,
    )


def _wait_ready(url: str, timeout: float, procs: dict[str, subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise click.ClickException(f"the {name} exited during start; see its log above")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise click.ClickException(f"the API was not ready within {timeout:.0f} s ({url})")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@cli.command()
@click.option("--simulate/--no-simulate", default=True, show_default=True, help="Run the simulator.")
def demo(simulate: bool) -> None:
    """Run everything on this machine: broker, database, worker, API and simulator."""
    from cli.runtime.process import child_env, free_port, spawn, stop
    from cli.runtime.services import embedded_services

    settings = _settings()
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM ends the demo as Ctrl-C does
    children: dict[str, subprocess.Popen[bytes]] = {}
    with embedded_services(settings) as live:
        try:
            asyncio.run(_migrate(live))
            port = live.api.api_port or free_port()
            env = child_env(
                {
                    "IOC_KAFKA_URL": live.broker.kafka_url or "",
                    "IOC_DATABASE_URL": live.database_url,
                    "IOC_API_PORT": str(port),
                }
            )
            me = [sys.executable, "-m", "cli"]
            children["worker"] = spawn([*me, "worker"], env=env)
            children["api"] = spawn([*me, "api"], env=env)
            base = f"http://{live.api.api_host}:{port}/"
            _wait_ready(base + "readyz", 60, children)
            if simulate:
                # six hours of past traffic first, so the wall has trends and backlogs at once
                sim = [*me, "simulate", "--live", "--backfill", "6h", "--faults", "demo", "--quiet"]
                children["simulator"] = spawn(sim, env=env)
            click.echo(f"IOC wall: {base}")
            click.echo("Ctrl-C stops everything.", err=True)
            while all(p.poll() is None for p in children.values()):
                time.sleep(0.5)
            dead = ", ".join(n for n, p in children.items() if p.poll() is not None)
            raise click.ClickException(f"the {dead} exited; stopping the demo")
        except KeyboardInterrupt:
            click.echo("stopping…", err=True)
        finally:
            # Children first, so the worker stores its last batch while the database still runs.
            for name, proc in reversed(children.items()):
                stop(proc, name=name)


# Commands that live beside their subject: the simulator owns `simulate`, alerting `rules`.
cli.add_command(simulate)
cli.add_command(rules)
cli.add_command(replay_command)


def main() -> None:
    cli()
