"""Operators act on alerts through the real API process; the evaluator, the database and real
webhook receivers on loopback do the rest: a silence stops a delivery and its expiry brings the
next one, an acknowledged alert is not repeated, an unacknowledged one escalates once, all of
it survives a restart of the evaluator, and the audit log lists every action.

The evaluator runs in the test's process over a `MemoryKpiSource`, so the test decides the
KPI's values; everything between the API and the receivers is the product's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from alerts.source import MemoryKpiSource
from cli.runtime.broker import EmbeddedBroker
from tests.chaos import Api
from tests.integration.test_alert_delivery import SECRET, SECRET_ENV, Hook, offline, rounds, running
from tests.services import base_env, wait_until_async

pytestmark = pytest.mark.integration

T_OPERATOR = "act-operator-0123456789"  # made-up tokens for the test
T_VIEWER = "act-viewer-0123456789ab"
T_OTHER = "act-other-district-01234"
T_ADMIN = "act-admin-0123456789abc"
TOKENS = orjson.dumps(
    {
        T_ADMIN: {"name": "ioc.admin", "role": "admin", "scope": "all"},
        T_OPERATOR: {"name": "ha.nguyen", "role": "operator", "scope": "all"},
        T_VIEWER: {"name": "wall", "role": "viewer", "scope": "all"},
        T_OTHER: {"name": "hy.operator", "role": "operator", "scope": "district:HAM_YEN"},
    }
).decode()
RULE = "MeetingEndpointOffline"


def rules(path: Path, hook: Hook, escalation: Hook) -> Path:
    path.write_text(
        f"""
receivers:
  - name: hook
    url: {hook.url}
    secret_env: {SECRET_ENV}
    repeat_interval: 1s
    timeout: 2s
  - name: duty-officer
    url: {escalation.url}
    timeout: 2s
rules:
  - name: {RULE}
    kpi: vc.meeting_endpoints_offline
    by: endpoint
    op: ">"
    threshold: 0
    severity: critical
    annotations: {{summary: "{{{{ by_value }}}} offline"}}
    receivers: [hook]
    escalate_after: 3s
    escalate_to: [duty-officer]
""",
        encoding="utf-8",
    )
    return path


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def api(broker: EmbeddedBroker, database_url: str, log: Path) -> AsyncIterator[httpx.AsyncClient]:
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url, IOC_API_TOKENS=TOKENS)
    process = Api(env, log).start()
    try:
        await process.wait_up()
        async with httpx.AsyncClient(base_url=process.base, timeout=20) as client:
            yield client
    finally:
        process.stop()


async def fingerprint_of(client: httpx.AsyncClient, endpoint: str) -> str:
    async def firing() -> str | None:
        alerts = (await client.get("/api/v1/alerts", headers=bearer(T_VIEWER))).json()["alerts"]
        return next((a["fingerprint"] for a in alerts if a["by_value"] == endpoint), None)

    await wait_until_async(firing, timeout=15, what=f"{endpoint}'s alert firing")
    found = await firing()
    assert found is not None
    return found


def endpoints(hook: Hook) -> list[list[str]]:
    return [sorted(a["labels"]["endpoint"] for a in r.json["alerts"]) for r in hook.received]


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)


async def test_a_silence_made_by_api_stops_delivery_and_its_expiry_brings_it(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    hook, escalation = Hook().start(), Hook().start()
    source = MemoryKpiSource()
    offline(source, TQ_1=0)
    path = rules(tmp_path / "rules.yml", hook, escalation)
    try:
        async with (
            api(broker, database_url, tmp_path / "api.log") as client,
            contextlib.AsyncExitStack() as evaluator,
        ):
            service = await evaluator.enter_async_context(running(path, database_url, source))
            now = datetime.now(UTC)
            body: dict[str, Any] = {
                "matchers": [{"name": "endpoint", "value": "TQ-1", "isRegex": False, "isEqual": True}],
                "startsAt": now.isoformat(),
                "endsAt": (now + timedelta(hours=2)).isoformat(),
                "comment": "maintenance of the TQ-1 link",
                "createdBy": "someone else",  # ignored: the token's name is recorded
            }
            r = await client.post("/api/v1/silences", json=body, headers=bearer(T_VIEWER))
            assert r.status_code == 403  # a viewer may not
            r = await client.post("/api/v1/silences", json=body, headers=bearer(T_OTHER))
            assert r.status_code == 403 and "district:HAM_YEN" in r.json()["detail"]  # nor another district
            r = await client.post("/api/v1/silences", json=body, headers=bearer(T_OPERATOR))
            assert r.status_code == 200, r.text
            silence_id = r.json()["silenceID"]
            listed = (await client.get("/api/v1/silences", headers=bearer(T_VIEWER))).json()
            assert [(s["id"], s["status"]["state"], s["createdBy"]) for s in listed] == [
                (silence_id, "active", "ha.nguyen")
            ]

            offline(source, TQ_1=1)  # the alert fires, silenced: shown, but nobody is told
            await fingerprint_of(client, "TQ-1")
            await rounds(service, 10)
            assert hook.received == []
            alerts = (await client.get("/api/v1/alerts", headers=bearer(T_VIEWER))).json()["alerts"]
            assert [a["silenced"] for a in alerts] == [True]
            # a restart of the evaluator: the silence, kept in the database, still holds
            await evaluator.aclose()
            service = await evaluator.enter_async_context(running(path, database_url, source))
            await rounds(service, 10)
            assert hook.received == []

            r = await client.delete(f"/api/v1/silences/{silence_id}", headers=bearer(T_OPERATOR))
            assert r.status_code == 204
            await wait_until_async(lambda: len(hook.received) >= 1, timeout=15, what="the notification")
            assert endpoints(hook)[0] == ["TQ-1"]
            listed = (await client.get("/api/v1/silences", headers=bearer(T_VIEWER))).json()
            assert [s["status"]["state"] for s in listed] == ["expired"]
            again = await client.delete(f"/api/v1/silences/{silence_id}", headers=bearer(T_OPERATOR))
            assert again.status_code == 409

            assert (await client.get("/api/v1/audit", headers=bearer(T_OPERATOR))).status_code == 403
            entries = (await client.get("/api/v1/audit", headers=bearer(T_ADMIN))).json()["entries"]
            assert [(e["actor"], e["action"], e["target"]) for e in entries] == [
                ("ha.nguyen", "silence.create", silence_id),
                ("ha.nguyen", "silence.expire", silence_id),
            ]
            assert entries[0]["address"] == "127.0.0.1" and entries[0]["role"] == "operator"
            assert entries[0]["detail"]["comment"] == "maintenance of the TQ-1 link"
            conn = await asyncpg.connect(database_url)
            try:  # nothing edits the log, not even SQL with the API's own rights
                with pytest.raises(asyncpg.RaiseError, match="append-only"):
                    await conn.execute("UPDATE audit_log SET actor = 'nobody'")
                with pytest.raises(asyncpg.RaiseError, match="append-only"):
                    await conn.execute("DELETE FROM audit_log")
            finally:
                await conn.close()
    finally:
        hook.stop()
        escalation.stop()


async def test_acknowledged_is_not_repeated_unacknowledged_escalates_once_across_restarts(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    hook, escalation = Hook().start(), Hook().start()
    source = MemoryKpiSource()
    path = rules(tmp_path / "rules.yml", hook, escalation)
    offline(source, TQ_1=1, TQ_2=0)
    try:
        async with api(broker, database_url, tmp_path / "api.log") as client:
            async with running(path, database_url, source) as service:
                await wait_until_async(lambda: len(hook.received) >= 1, timeout=15, what="TQ-1 firing")
                tq1 = await fingerprint_of(client, "TQ-1")
                r = await client.post(
                    f"/api/v1/alerts/{tq1}/ack",
                    json={"comment": "technician sent"},
                    headers=bearer(T_OPERATOR),
                )
                assert r.status_code == 200 and r.json()["acked_by"] == "ha.nguyen", r.text
                await rounds(service, 2)
                told = len(hook.received)
                await asyncio.sleep(4.5)  # past repeat_interval (1s) and escalate_after (3s)
                assert len(hook.received) == told, "an acknowledged alert was sent again"
                assert escalation.received == [], "an acknowledged alert escalated"
                shown = (await client.get("/api/v1/alerts", headers=bearer(T_VIEWER))).json()["alerts"]
                assert shown[0]["acknowledgement"]["comment"] == "technician sent"

                offline(source, TQ_1=1, TQ_2=1)  # a second endpoint, nobody acknowledges it
                await wait_until_async(
                    lambda: len(escalation.received) >= 1, timeout=20, what="an escalation"
                )
                (escalated,) = escalation.received
                assert [a["labels"]["endpoint"] for a in escalated.json["alerts"]] == ["TQ-2"]
                assert (
                    "not acknowledged within 3s" in escalated.json["alerts"][0]["annotations"]["escalation"]
                )
                news = next(
                    r for r in hook.received if "TQ-2" in [a["labels"]["endpoint"] for a in r.json["alerts"]]
                )
                tq1_entry = next(a for a in news.json["alerts"] if a["labels"]["endpoint"] == "TQ-1")
                assert tq1_entry["annotations"]["acknowledged_by"] == "ha.nguyen"
                assert tq1_entry["annotations"]["acknowledgement"] == "technician sent"
            # a restart of the evaluator: the acknowledgement and the escalation hold
            async with running(path, database_url, source) as service:
                await rounds(service, 10)
                await asyncio.sleep(3)
                assert len(escalation.received) == 1, "escalated twice for one firing"
                tq2 = await fingerprint_of(client, "TQ-2")
                shown = (await client.get("/api/v1/alerts", headers=bearer(T_VIEWER))).json()["alerts"]
                by_endpoint = {a["by_value"]: a for a in shown}
                assert by_endpoint["TQ-2"]["escalated_at"] is not None
                assert by_endpoint["TQ-1"]["acknowledgement"] is not None
                assert (
                    await client.post(f"/api/v1/alerts/{tq2}/ack", headers=bearer(T_OPERATOR))
                ).status_code == 200
                await rounds(service, 2)
                told = len(hook.received)
                await asyncio.sleep(3)
                assert len(hook.received) == told, "both acknowledged: nothing more is repeated"
                r = await client.delete(f"/api/v1/alerts/{tq2}/ack", headers=bearer(T_OPERATOR))
                assert r.status_code == 204
                await wait_until_async(lambda: len(hook.received) > told, timeout=15, what="repeats again")
            unknown = await client.post("/api/v1/alerts/0123456789abcdef/ack", headers=bearer(T_OPERATOR))
            assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_alert"

            entries = (await client.get("/api/v1/audit", headers=bearer(T_ADMIN))).json()["entries"]
            assert [(e["actor"], e["action"], e["target"]) for e in entries] == [
                ("ha.nguyen", "alert.acknowledge", tq1),
                ("ha.nguyen", "alert.acknowledge", tq2),
                ("ha.nguyen", "alert.unacknowledge", tq2),
            ]
    finally:
        hook.stop()
        escalation.stop()


async def test_bad_actions_get_a_4xx_that_says_what_is_allowed(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    good: dict[str, Any] = {
        "matchers": [{"name": "agency", "value": "SO_TTTT", "isRegex": False, "isEqual": True}],
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
        "comment": "maintenance",
    }
    bad: list[tuple[str, str, Any, int, str]] = [
        ("POST", "/api/v1/alerts/0123456789abcdef/ack", {"comment": "x"}, 404, "no alert"),
        ("POST", "/api/v1/alerts/not-a-fingerprint/ack", None, 422, "fingerprint"),
        ("POST", "/api/v1/alerts/0123456789abcdef/ack", {"comment": "x" * 5000}, 422, "1000"),
        ("DELETE", "/api/v1/alerts/0123456789abcdef/ack", None, 404, "no alert"),
        ("POST", "/api/v1/silences", good | {"endsAt": (now - timedelta(hours=1)).isoformat()}, 400, "after"),
        (
            "POST",
            "/api/v1/silences",
            good | {"matchers": [{"name": "agency", "value": ".*", "isRegex": True}]},
            400,
            "every alert",
        ),
        ("POST", "/api/v1/silences", good | {"matchers": []}, 422, "matchers"),
        (
            "POST",
            "/api/v1/silences",
            good | {"matchers": [{"name": "a", "value": "(", "isRegex": True}]},
            422,
            "compile",
        ),
        ("POST", "/api/v1/silences", good | {"comment": "y" * 5000}, 422, "comment"),
        ("POST", "/api/v1/silences", "not json", 422, ""),
        (
            "POST",
            "/api/v1/silences",
            good
            | {
                "startsAt": (now - timedelta(hours=3)).isoformat(),
                "endsAt": (now - timedelta(hours=2)).isoformat(),
            },
            400,
            "past",
        ),
        ("DELETE", "/api/v1/silences/not-a-uuid", None, 422, "silence_id"),
        ("DELETE", "/api/v1/silences/6f1c0c1e-8a55-4b43-9a55-3f0e0d9b2b11", None, 404, "no silence"),
        (
            "GET",
            "/api/v1/audit?from=2026-03-03T10:00:00%2B07:00&to=2026-03-03T09:00:00%2B07:00",
            None,
            400,
            "from",
        ),
    ]
    async with api(broker, database_url, tmp_path / "api.log") as client:
        for method, path, body, status, words in bad:
            kwargs: dict[str, Any] = {"content": body} if isinstance(body, str) else {"json": body}
            r = await client.request(method, path, headers=bearer(T_ADMIN), **kwargs)
            assert r.status_code == status, (method, path, r.text)
            assert words.lower() in r.text.lower(), (method, path, r.text)
            assert set(r.json()) >= {"error", "detail"}
        reversed_range = "from=2026-03-03T10:00:00%2B07:00&to=2026-03-03T09:00:00%2B07:00"
        answers = [
            await client.get(f"{path}?{reversed_range}", headers=bearer(T_ADMIN))
            for path in ("/api/v1/audit", "/api/v1/alerts/history")
        ]
        assert [r.status_code for r in answers] == [400, 400]
        assert answers[0].json() == answers[1].json()  # one from/to rule, one body
        assert answers[0].json()["error"] == "from_after_to"
