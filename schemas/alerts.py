"""Bodies of the alert routes (`GET /api/v1/alerts`, `GET /api/v1/alerts/history`).

The worker writes alert state and its changes to the database; the API reads them back in
these shapes, so both sides agree on field names without importing each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.actions import Ack

AlertStateName = Literal["pending", "firing", "resolved", "inactive"]
"""`inactive`: a pending alert whose condition cleared before it fired (nobody was told)."""

Severity = Literal["info", "warning", "critical"]


class Alert(BaseModel):
    """One alert as it stands now: one rule and one dimension value."""

    rule: str = Field(description="The rule's name (the `alertname` label)")
    fingerprint: str = Field(description="16 hex digits, computed from the labels as Alertmanager does")
    state: AlertStateName
    severity: Severity
    kpi: str
    by: str | None = Field(description="The breakdown dimension, or null for the total")
    by_value: str | None = Field(description="The dimension value, or null for the total")
    value: float | None = Field(description="The KPI's value at the last evaluation")
    labels: dict[str, str]
    annotations: dict[str, str]
    active_since: datetime = Field(description="When the condition first held (pending began)")
    firing_since: datetime | None
    silenced: bool = Field(description="A silence matches: shown here, but nobody is notified")
    updated_at: datetime = Field(description="Last evaluation that changed this alert")
    acknowledgement: Ack | None = Field(
        default=None, description="Who acknowledged this firing, when and why (it still fires)"
    )
    escalated_at: datetime | None = Field(
        default=None, description="When it was sent to its escalation receivers, not acknowledged in time"
    )


class AlertsResponse(BaseModel):
    as_of: datetime
    alerts: list[Alert]


class AlertChange(BaseModel):
    """One state change of one alert."""

    at: datetime
    rule: str
    fingerprint: str
    state: AlertStateName = Field(description="The state entered")
    previous: AlertStateName | None = Field(description="The state left (null: the alert was new)")
    severity: Severity
    value: float | None
    labels: dict[str, str]
    annotations: dict[str, str]


class AlertHistoryResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(serialization_alias="from")
    to: datetime
    changes: list[AlertChange]
