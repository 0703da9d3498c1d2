"""The worker's Prometheus metrics: pipeline health, labelled by topic and reason, never by entity."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class WorkerMetrics:
    """All worker metrics on one registry, so tests can make a fresh one."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.consumed = Counter(
            "ioc_events_consumed", "Records read from source topics.", ["topic"], registry=r
        )
        self.accepted = Counter(
            "ioc_events_accepted", "Events accepted into the KPIs.", ["topic"], registry=r
        )
        self.rejected = Counter(
            "ioc_events_rejected",
            "Records dead-lettered, by reason.",
            ["topic", "reason"],
            registry=r,
        )
        self.duplicates = Counter(
            "ioc_events_duplicate", "Events whose event_id was already accepted.", ["topic"], registry=r
        )
        self.lag = Gauge(
            "ioc_consumer_lag_records",
            "Records behind the partition's high watermark (from fetch responses).",
            ["topic", "partition"],
            registry=r,
        )
        self.partitions = Gauge(
            "ioc_partitions_assigned", "Source-topic partitions this worker owns.", registry=r
        )
        self.batch_seconds = Histogram(
            "ioc_batch_duration_seconds",
            "Time to process and store one consumed batch.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.db_write_seconds = Histogram(
            "ioc_db_write_duration_seconds",
            "Time to write one batch: its lookups, aggregation and statement (one attempt).",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.db_write_errors = Counter(
            "ioc_db_write_errors", "Failed database writes (each is retried).", registry=r
        )
        self.broker_resets = Counter(
            "ioc_broker_resets",
            "Partitions whose stored offset was beyond the broker's log (broker was reset).",
            ["topic"],
            registry=r,
        )
