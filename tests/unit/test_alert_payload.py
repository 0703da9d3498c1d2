"""The webhook body against Alertmanager's version-4 format, field by field, and the API v2 alert."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from alerts.delivery import backoff, classify, retry_after, sign
from alerts.evaluate import AlertState, evaluate_rule
from alerts.notify import Notice
from alerts.payload import (
    ZERO_TIME,
    encode,
    generator_url,
    group_key,
    label_set,
    postable_alert,
    rfc3339,
    webhook_payload,
)
from alerts.rules import Rule

T0 = datetime(2025, 3, 3, 2, 30, tzinfo=UTC)
EXTERNAL = "https://ioc.example.gov.vn"
RULE = Rule.model_validate(
    {
        "name": "PortalOnTimeLow",
        "kpi": "portal.on_time_pct",
        "window": "1h",
        "by": "agency",
        "op": "<",
        "threshold": 90,
        "labels": {"team": "portal"},
        "annotations": {"summary": "On-time rate {{ value }} % at {{ by_value }}", "runbook": "call them"},
    }
)
WEBHOOK_KEYS = [
    "version",
    "groupKey",
    "truncatedAlerts",
    "status",
    "receiver",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "alerts",
]
ALERT_KEYS = ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"]


def firing_and_resolved() -> tuple[AlertState, AlertState]:
    fired = evaluate_rule(RULE, {"SO_TTTT": 80.0, "SO_YTE": 70.0}, {}, now=T0).active
    later = T0 + timedelta(minutes=7, microseconds=250_000)
    result = evaluate_rule(RULE, {"SO_TTTT": 81.5}, fired, now=later)
    return result.firing[0], result.resolved[0]


def test_webhook_payload_field_by_field() -> None:
    firing, resolved = firing_and_resolved()
    notice = Notice("oncall", "PortalOnTimeLow", (firing,), (resolved,), T0)
    body = webhook_payload(notice, external_url=EXTERNAL)
    assert list(body) == WEBHOOK_KEYS
    assert body["version"] == "4"
    assert body["groupKey"] == '{receiver="oncall"}:{alertname="PortalOnTimeLow"}'
    assert body["truncatedAlerts"] == 0
    assert body["status"] == "firing"
    assert body["receiver"] == "oncall"
    assert body["groupLabels"] == {"alertname": "PortalOnTimeLow"}
    assert body["commonLabels"] == {"alertname": "PortalOnTimeLow", "severity": "warning", "team": "portal"}
    assert body["commonAnnotations"] == {"runbook": "call them"}
    assert body["externalURL"] == EXTERNAL
    first, second = body["alerts"]
    assert list(first) == ALERT_KEYS and list(second) == ALERT_KEYS
    assert first == {
        "status": "firing",
        "labels": {
            "alertname": "PortalOnTimeLow",
            "severity": "warning",
            "team": "portal",
            "agency": "SO_TTTT",
        },
        "annotations": {"summary": "On-time rate 81.5 % at SO_TTTT", "runbook": "call them"},
        "startsAt": "2025-03-03T02:30:00Z",
        "endsAt": ZERO_TIME,
        "generatorURL": f"{EXTERNAL}/api/v1/kpis/portal.on_time_pct?window=1h&by=agency",
        "fingerprint": firing.fingerprint,
    }
    assert second["status"] == "resolved"
    assert second["labels"]["agency"] == "SO_YTE"
    assert second["annotations"]["summary"] == "On-time rate 70 % at SO_YTE"
    assert second["startsAt"] == "2025-03-03T02:30:00Z"
    assert second["endsAt"] == "2025-03-03T02:37:00.25Z"
    assert second["fingerprint"] == resolved.fingerprint and len(resolved.fingerprint) == 16


def test_all_resolved_means_status_resolved() -> None:
    _, resolved = firing_and_resolved()
    body = webhook_payload(Notice("oncall", "PortalOnTimeLow", (), (resolved,), T0), external_url=EXTERNAL)
    assert body["status"] == "resolved"
    assert body["commonLabels"]["agency"] == "SO_YTE"  # one alert: all its labels are common


def test_json_types_match_alertmanager() -> None:
    firing, _ = firing_and_resolved()
    raw = encode(webhook_payload(Notice("oncall", "R", (firing,), (), T0), external_url=EXTERNAL))
    body = orjson.loads(raw)
    assert isinstance(body["version"], str) and isinstance(body["truncatedAlerts"], int)
    assert all(isinstance(v, str) for a in body["alerts"] for v in a["labels"].values())
    assert b'", "' not in raw and b'": ' not in raw  # compact: the bytes signed are the bytes sent


def test_postable_alert_for_alertmanager_api_v2() -> None:
    firing, resolved = firing_and_resolved()
    now = T0 + timedelta(minutes=10)
    body = postable_alert(firing, external_url=EXTERNAL, now=now, valid_for=timedelta(minutes=2))
    assert list(body) == ["labels", "annotations", "startsAt", "endsAt", "generatorURL"]
    assert body["endsAt"] == "2025-03-03T02:42:00Z"  # valid for two minutes unless re-posted
    ended = postable_alert(resolved, external_url=EXTERNAL, now=now, valid_for=timedelta(minutes=2))
    assert ended["endsAt"] == "2025-03-03T02:37:00.25Z"


def test_generator_url_without_breakdown() -> None:
    rule = RULE.model_copy(update={"by": None})
    alert = evaluate_rule(rule, {"": 50.0}, {}, now=T0).firing[0]
    assert generator_url(alert, EXTERNAL + "/") == f"{EXTERNAL}/api/v1/kpis/portal.on_time_pct?window=1h"


@pytest.mark.parametrize(
    ("t", "text"),
    [
        (datetime(2025, 3, 3, 9, 30, tzinfo=timezone(timedelta(hours=7))), "2025-03-03T02:30:00Z"),
        (datetime(2025, 3, 3, 2, 30, 1, 500_000, tzinfo=UTC), "2025-03-03T02:30:01.5Z"),
        (datetime(2025, 3, 3, 2, 30, 1, 123_456, tzinfo=UTC), "2025-03-03T02:30:01.123456Z"),
    ],
)
def test_rfc3339(t: datetime, text: str) -> None:
    assert rfc3339(t) == text


def test_label_set_and_group_key() -> None:
    assert label_set({"b": "2", "a": 'say "hi"'}) == '{a="say \\"hi\\"", b="2"}'
    assert group_key("r", "X") == '{receiver="r"}:{alertname="X"}'


def test_signature_is_hmac_sha256_of_the_exact_bytes() -> None:
    body = b'{"version":"4"}'
    expected = hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert sign(body, b"k3y") == f"sha256={expected}"
    # RFC 4231 test case 2
    assert sign(b"what do ya want for nothing?", b"Jefe") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "sent"),
        (202, "sent"),
        (204, "sent"),
        (301, "failed"),
        (400, "failed"),
        (401, "failed"),
        (404, "failed"),
        (408, "retry"),
        (413, "failed"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
    ],
)
def test_classify(status: int, outcome: str) -> None:
    assert classify(status) == outcome


def test_backoff_doubles_with_jitter_and_a_cap() -> None:
    lows = [backoff(n, initial=1, maximum=60, rand=0.0) for n in range(1, 9)]
    highs = [backoff(n, initial=1, maximum=60, rand=0.999) for n in range(1, 9)]
    assert lows[:4] == [0.5, 1.0, 2.0, 4.0]
    assert highs[0] == pytest.approx(1.499) and highs[-1] == 60
    assert all(lo < hi for lo, hi in zip(lows, highs, strict=True) if hi < 60)


def test_retry_after() -> None:
    assert retry_after("3") == 3 and retry_after(" 1.5 ") == 1.5
    assert retry_after(None) is None and retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert retry_after("-1") is None
