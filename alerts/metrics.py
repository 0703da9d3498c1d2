"""Prometheus metrics of alert evaluation and delivery, on a registry the caller owns."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

OUTCOMES = ("sent", "retried", "failed", "expired")
"""`sent`: delivered (2xx). `retried`: an attempt failed or timed out and will be repeated.
`failed`: refused for good (a 4xx other than 408/429; a redirect). `expired`: undelivered for
longer than IOC_ALERT_OUTBOX_MAX_AGE_S and dropped."""


class AlertMetrics:
    """All alerting metrics; labelled by receiver and rule, never by dimension value."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = self.registry = registry
        self.notifications = Counter(
            "ioc_alert_notifications",
            "Notification delivery attempts, by receiver and outcome (sent, retried, failed, expired).",
            ["receiver", "outcome"],
            registry=r,
        )
        self.firing = Gauge(
            "ioc_alerts_firing",
            "Alerts firing now, by rule (exported by the process that evaluates).",
            ["rule"],
            registry=r,
        )
        self.owed = Gauge(
            "ioc_alert_outbox_pending",
            "Notifications queued and not yet delivered, by receiver.",
            ["receiver"],
            registry=r,
        )
        self.leader = Gauge(
            "ioc_alert_evaluator_leader",
            "1 while this process holds the alert evaluation lock, else 0.",
            registry=r,
        )
        self.evaluations = Counter(
            "ioc_alert_evaluations", "Evaluation rounds completed by this process.", registry=r
        )
        self.source_errors = Counter(
            "ioc_alert_kpi_read_errors",
            "Rule evaluations skipped because the KPI could not be read, by rule.",
            ["rule"],
            registry=r,
        )
        self.reload_ok = Gauge(
            "ioc_alert_rules_last_reload_successful",
            "1 if the last load of the rules file succeeded (else the previous rules stay in force).",
            registry=r,
        )
        self.rules = Gauge("ioc_alert_rules", "Alert rules in force.", registry=r)
