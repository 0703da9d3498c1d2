"""Wire formats: Alertmanager's webhook body (version 4) and its API v2 postable alert.

Receivers built for Alertmanager (chat bridges, ticketing, paging) read our notifications
unchanged, so the field names, the status rules and the timestamp spelling follow
Alertmanager's `notify/webhook` and `api/v2` exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson

from alerts.evaluate import AlertState
from alerts.notify import Notice

WEBHOOK_VERSION = "4"
ZERO_TIME = "0001-01-01T00:00:00Z"
"""Go's zero time: how Alertmanager's webhook spells the `endsAt` of a firing alert."""


def rfc3339(t: datetime) -> str:
    """UTC, `Z`, fractional seconds only when there are any (Go's RFC3339Nano)."""
    t = t.astimezone(UTC)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        text += f".{t.microsecond:06d}".rstrip("0")
    return text + "Z"


def generator_url(alert: AlertState, external_url: str) -> str:
    """A link to the KPI behind the alert, answered by the API (Prometheus links its graph)."""
    query = {"window": alert.window} | ({"by": alert.by} if alert.by else {})
    return f"{external_url.rstrip('/')}/api/v1/kpis/{alert.kpi}?{urlencode(query)}"


def _starts_at(alert: AlertState) -> datetime:
    return alert.firing_since or alert.active_since


def webhook_alert(alert: AlertState, *, external_url: str) -> dict[str, Any]:
    resolved = alert.state == "resolved"
    return {
        "status": "resolved" if resolved else "firing",
        "labels": dict(alert.labels),
        "annotations": alert.announced,
        "startsAt": rfc3339(_starts_at(alert)),
        "endsAt": rfc3339(alert.resolved_at) if resolved and alert.resolved_at else ZERO_TIME,
        "generatorURL": generator_url(alert, external_url),
        "fingerprint": alert.fingerprint,
    }


def _common(maps: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """The pairs every map has with the same value (Alertmanager's commonLabels)."""
    maps = list(maps)
    if not maps:
        return {}
    first, *rest = maps
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


def label_set(labels: Mapping[str, str]) -> str:
    """Prometheus's label-set spelling: `{a="x", b="y"}`, sorted, values quoted."""
    inner = ", ".join(f"{k}={orjson.dumps(labels[k]).decode()}" for k in sorted(labels))
    return "{" + inner + "}"


def group_key(receiver: str, rule: str) -> str:
    """Stable per receiver and rule, in Alertmanager's `route:groupLabels` shape."""
    return f"{label_set({'receiver': receiver})}:{label_set({'alertname': rule})}"


def webhook_payload(notice: Notice, *, external_url: str) -> dict[str, Any]:
    """The webhook body for one notice: firing alerts first, then the resolved ones."""
    alerts = [*notice.firing, *notice.resolved]
    return {
        "version": WEBHOOK_VERSION,
        "groupKey": group_key(notice.receiver, notice.rule),
        "truncatedAlerts": 0,
        "status": notice.status,
        "receiver": notice.receiver,
        "groupLabels": {"alertname": notice.rule},
        "commonLabels": _common(a.labels for a in alerts),
        "commonAnnotations": _common(a.announced for a in alerts),
        "externalURL": external_url,
        "alerts": [webhook_alert(a, external_url=external_url) for a in alerts],
    }


def encode(body: object) -> bytes:
    """The exact bytes sent, stored and signed (compact UTF-8 JSON)."""
    return orjson.dumps(body)


def postable_alert(
    alert: AlertState, *, external_url: str, now: datetime, valid_for: timedelta
) -> dict[str, Any]:
    """An Alertmanager API v2 alert: a firing one valid for `valid_for`, a resolved one ended.

    Like Prometheus, a firing alert carries an `endsAt` a few re-post intervals ahead, so an
    Alertmanager resolves it by itself if we stop re-posting (we died, or the rule left).
    """
    ends = alert.resolved_at if alert.state == "resolved" and alert.resolved_at else now + valid_for
    return {
        "labels": dict(alert.labels),
        "annotations": alert.announced,
        "startsAt": rfc3339(_starts_at(alert)),
        "endsAt": rfc3339(ends),
        "generatorURL": generator_url(alert, external_url),
    }
