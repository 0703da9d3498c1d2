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
class Ack:
    """An operator's acknowledgement of one firing (an `alert_acks` row)."""

    fingerprint: str
    firing_since: datetime
    acked_by: str
    comment: str
    acked_at: datetime

    def annotations(self) -> dict[str, str]:
        """What receivers are told of it, beside the rule's own annotations."""
        return {
            "acknowledged_by": self.acked_by,
            "acknowledged_at": self.acked_at.isoformat(),
            "acknowledgement": self.comment,
        }


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
    ack: Ack | None = None  # not a column: attached from `alert_acks` each evaluation

    @property
    def active(self) -> bool:
        return self.state in ("pending", "firing")

    @property
    def acknowledged(self) -> bool:
        return self.ack is not None and self.ack.firing_since == self.firing_since

    @property
    def announced(self) -> dict[str, str]:
        """The annotations sent to receivers: the rule's, and the acknowledgement if any."""
        if self.ack is None or not self.acknowledged:
            return dict(self.annotations)
        return {**self.annotations, **self.ack.annotations()}


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
