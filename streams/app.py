"""The Faust app: its topics, its services, and how a worker process runs them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import faust
import mode
from prometheus_client import start_http_server

from ioc.kafka import security_options
from ioc.kpi.query import context_from
from ioc.settings import Settings
from schemas.topics import DEADLETTER
from sources import SOURCES
from streams.consume import IngestService
from streams.maintenance import Maintenance
from streams.metrics import WorkerMetrics

log = logging.getLogger("ioc.streams")

# Source topics keep a week so a backlog can be replayed; the dead-letter topic a month.
_RETENTION_MS = {DEADLETTER: 30 * 86_400_000}
_DEFAULT_RETENTION_MS = 7 * 86_400_000


def create_app(settings: Settings) -> faust.App:
    """A Faust app bound to the configured broker, with the contract's topics declared."""
    broker = settings.broker
    datadir = settings.runtime.data_dir / "faust"
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        "ioc",
        broker=broker.kafka_url,
        broker_credentials=faust_credentials(security_options(broker)),
        store="memory://",
        topic_partitions=broker.partitions,
        topic_replication_factor=broker.replication_factor,
        broker_session_timeout=broker.session_timeout_s,
        broker_rebalance_timeout=broker.session_timeout_s,
        web_enabled=False,
        datadir=str(datadir),
    )
    for name in (*(t.name for t in SOURCES.topics), DEADLETTER):
        retention = _RETENTION_MS.get(name, _DEFAULT_RETENTION_MS)
        app.topic(
            name,
            partitions=broker.partitions,
            key_serializer="raw",
            value_serializer="raw",
            config={"retention.ms": str(retention), "cleanup.policy": "delete"},
        )
    return app


def faust_credentials(options: Mapping[str, Any]) -> faust.SSLCredentials | faust.SASLCredentials | None:
    """The same security as every other client, in the form Faust takes (it turns these
    objects back into the same aiokafka arguments for its producer, consumer and admin calls)."""
    protocol = options["security_protocol"]
    if protocol == "SSL":
        return faust.SSLCredentials(options["ssl_context"])
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):  # an ssl_context makes Faust's SASL_SSL
        return faust.SASLCredentials(
            username=options["sasl_plain_username"],
            password=options["sasl_plain_password"],
            mechanism=options["sasl_mechanism"],
            ssl_context=options.get("ssl_context"),
        )
    return None


async def declare_topics(app: faust.App) -> None:
    """Create the contract's topics (existing ones are left as they are)."""
    await app.maybe_start_producer()
    for topic in list(app.topics):
        if isinstance(topic, faust.Topic):
            await topic.declare()


class MetricsServer(mode.Service):
    """Serves the worker's Prometheus metrics on IOC_WORKER_METRICS_PORT."""

    def __init__(self, metrics: WorkerMetrics, port: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.metrics = metrics
        self.port = port
        self._server: object = None

    async def on_start(self) -> None:
        if self.port:
            self._server, _thread = start_http_server(self.port, registry=self.metrics.registry)
            log.info("worker metrics on port %d", self.port)

    async def on_stop(self) -> None:
        shutdown = getattr(self._server, "shutdown", None)
        if shutdown is not None:
            await asyncio.get_running_loop().run_in_executor(None, shutdown)


class TopicSetup(mode.Service):
    """Declares the topics before ingest subscribes to them."""

    def __init__(self, app: faust.App, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.app = app

    async def on_start(self) -> None:
        await declare_topics(self.app)


def build_worker(
    settings: Settings,
    *,
    metrics: WorkerMetrics | None = None,
    services: Sequence[mode.Service] = (),
) -> faust.Worker:
    """A Faust worker running the ingest service and the metrics endpoint.

    `services` run beside ingest in the same process (the command line adds the alert
    evaluator): the worker knows them only as services, so streams/ imports no other area.
    Their metrics reach the endpoint when registered on `metrics.registry`.
    """
    app = create_app(settings)
    metrics = metrics or WorkerMetrics()
    ingest = IngestService(settings, metrics=metrics)
    setup = TopicSetup(app)
    worker = faust.Worker(
        app,
        setup,
        ingest,
        Maintenance(settings, context_from(settings.kpi, SOURCES)),
        *services,
        MetricsServer(metrics, settings.ingest.worker_metrics_port),
        loglevel=settings.runtime.log_level,
        quiet=True,
    )
    worker.spinner = None  # a terminal spinner has no place in structured, quiet logs
    return worker
