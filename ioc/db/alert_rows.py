"""The rows of the alert tables (migration 0010_alerts) as plain values, with no I/O.

The evaluator (alerts/) computes these and the store (ioc/db/alerts.py) reads and writes
them; the API sees the same `alert_state` rows through schemas/alerts.py. Defining them once,
here in the kernel, lets both sides share one mapping of the rows without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.alerts import AlertStateName, Severity

State = AlertStateName
"""pending, firing, resolved or inactive (a pending alert that ended before it fired)."""


@dataclass(frozen=True, slots=True)
class AlertState:
    """One alert (one rule, one dimension value) as of an evaluation: an `alert_state` row."""

    rule: str
    fingerprint: str
    state: State
    severity: Severity
    kpi: str
    window: str
    by: str | None
    by_value: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float | None
    active_since: datetime
    updated_at: datetime
    firing_since: datetime | None = None
    resolved_at: datetime | None = None
    silenced: bool = False

    @property
    def active(self) -> bool:
        return self.state in ("pending", "firing")


@dataclass(frozen=True, slots=True)
class Change:
    """A state change, for the history (an `alert_history` row) and for notifications."""

    alert: AlertState
    previous: State | None
    at: datetime


@dataclass(frozen=True, slots=True)
class GroupLog:
    """What one receiver was last told about one rule's alerts (an `alert_notify_log` row)."""

    notified: frozenset[str] = frozenset()
    last_sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A notification to queue: the exact body for one receiver."""

    receiver: str
    rule: str
    status: str
    body: bytes
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A queued notification still owed to its receiver (an `alert_outbox` row)."""

    seq: int
    receiver: str
    rule: str
    status: str
    body: bytes
    created_at: datetime
    attempts: int
