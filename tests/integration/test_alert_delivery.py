"""The alert service end to end: real webhook receivers on loopback, the real database, restarts.

Each receiver is a small HTTP server in a thread that records what it got and answers as its
script says (a status, or a delay longer than the sender's timeout), so failures, timeouts
and recoveries are real network events, not mocks.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import importlib.util
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from prometheus_client import CollectorRegistry

from alerts.service import AlertService
from alerts.source import MemoryKpiSource
from cli.runtime.process import free_port
from ioc.db.alerts import alert_history, firing_alerts
from ioc.settings import AlertSettings
from tests.services import wait_until_async

pytestmark = pytest.mark.integration

KPI = "vc.meeting_endpoints_offline"
RULE = "MeetingEndpointOffline"
SECRET_ENV = "IOC_TEST_HOOK_SECRET"  # noqa: S105 - the variable's name, not a secret
SECRET = "s3cret-for-tests"  # noqa: S105 - a key made up for the test receiver


# -- a webhook receiver on loopback --------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answer: int | str

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Hook:
    """Records every POST; answers each with the next scripted reply (`"slow"`: later than the timeout)."""

    port: int = field(default_factory=free_port)
    script: list[int | str] = field(default_factory=list)
    default: int | str = 200
    slow_s: float = 1.5
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def accepted(self) -> list[Received]:
        """Requests the receiver processed: answered 2xx, or answered too late for the sender."""
        return [r for r in self.received if r.answer in (200, "slow")]

    def start(self) -> Hook:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                answer = hook.script.pop(0) if hook.script else hook.default
                hook.received.append(Received(dict(self.headers.items()), body, answer))
                if answer == "slow":
                    time.sleep(hook.slow_s)
                    answer = 200
                with contextlib.suppress(OSError):  # the sender may have given up (timeout)
                    self.send_response(int(answer))
                    self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.stop()


# -- the service under test --------------------------------------------------------------------


def write_rules(path: Path, hook: Hook, *, threshold: float = 0, extra: str = "", receiver: str = "") -> Path:
    path.write_text(
        f"""
receivers:
  - name: hook
    url: {hook.url}
    secret_env: {SECRET_ENV}
    repeat_interval: 1h
    timeout: 500ms
{receiver}
rules:
  - name: {RULE}
    kpi: {KPI}
    by: endpoint
    op: ">"
    threshold: {threshold}
    for: 0s
    severity: critical
    labels: {{team: vc}}
    annotations: {{summary: "{{{{ by_value }}}} offline ({{{{ value }}}})"}}
    receivers: [hook]
{extra}
""",
        encoding="utf-8",
    )
    return path


def alert_settings(rules: Path) -> AlertSettings:
    return AlertSettings(
        alert_rules=rules,
        alert_eval_interval_s=0.1,
        alert_retry_initial_s=0.05,
        alert_retry_max_s=0.3,
        alert_am_resend_s=0.5,
        alert_external_url="https://ioc.example.gov.vn",
    )


@contextlib.asynccontextmanager
async def running(
    rules: Path, database_url: str, source: MemoryKpiSource, registry: CollectorRegistry | None = None
) -> AsyncIterator[AlertService]:
    service = AlertService(
        alert_settings(rules),
        database_url=database_url,
        source=source,
        registry=registry or CollectorRegistry(),
    )
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


def metric(service: AlertService, name: str, **labels: str) -> float:
    return service.metrics.registry.get_sample_value(name, labels) or 0.0


async def rounds(service: AlertService, n: int) -> None:
    """Wait until `service` has completed `n` more evaluation rounds."""
    start = metric(service, "ioc_alert_evaluations_total")
    await wait_until_async(
        lambda: metric(service, "ioc_alert_evaluations_total") >= start + n, timeout=10, what=f"{n} rounds"
    )


async def outbox_size(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        n: int = await conn.fetchval("SELECT count(*) FROM alert_outbox")
        return n
    finally:
        await conn.close()


def offline(source: MemoryKpiSource, **endpoints: float | None) -> None:
    source.set(KPI, {k.replace("_", "-"): v for k, v in endpoints.items()}, by="endpoint")


def alerts_of(r: Received) -> list[tuple[str, str]]:
    return [(a["labels"]["endpoint"], a["status"]) for a in r.json["alerts"]]


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)


def receiver_check() -> Any:
    """`verify` from deploy/webhooks/verify.py, the receiver-side example the docs point to."""
    path = Path(__file__).parents[2] / "deploy" / "webhooks" / "verify.py"
    spec = importlib.util.spec_from_file_location("ioc_webhook_verify", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.verify


# -- tests -------------------------------------------------------------------------------------


async def test_signed_firing_then_resolved(
    tmp_path: Path, database_url: str, hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook.start()
    source = MemoryKpiSource()
    offline(source, TQ_1=1, TQ_2=0)
    async with running(write_rules(tmp_path / "rules.yml", hook), database_url, source) as service:
        await wait_until_async(lambda: len(hook.received) >= 1, timeout=10, what="the firing notification")
        (first,) = hook.received
        mac = hmac.new(SECRET.encode(), first.body, hashlib.sha256).hexdigest()
        assert first.headers["X-IOC-Signature"] == f"sha256={mac}"
        # the timestamped signature, checked as deploy/webhooks/verify.py tells receivers to
        verify = receiver_check()
        assert verify(SECRET.encode(), first.headers, first.body)
        stamp = int(first.headers["X-IOC-Signature-Timestamp"])
        assert abs(stamp - time.time()) < 60
        assert not verify(SECRET.encode(), first.headers, first.body, now=stamp + 3600)  # a replay
        assert not verify(SECRET.encode(), first.headers, first.body + b" ")  # a changed body
        assert first.headers["Content-Type"] == "application/json"
        body = first.json
        assert (body["version"], body["status"], body["receiver"]) == ("4", "firing", "hook")
        assert body["groupLabels"] == {"alertname": RULE}
        assert alerts_of(first) == [("TQ-1", "firing")]
        assert body["alerts"][0]["labels"] == {
            "alertname": RULE,
            "severity": "critical",
            "team": "vc",
            "endpoint": "TQ-1",
        }
        assert body["alerts"][0]["annotations"] == {"summary": "TQ-1 offline (1)"}
        assert body["externalURL"] == "https://ioc.example.gov.vn"

        conn = await asyncpg.connect(database_url)
        try:
            (alert,) = await firing_alerts(conn)
            assert (alert.rule, alert.by, alert.by_value, alert.value) == (RULE, "endpoint", "TQ-1", 1)
            assert alert.fingerprint == body["alerts"][0]["fingerprint"] and not alert.silenced

            offline(source, TQ_1=0, TQ_2=0)
            await wait_until_async(
                lambda: len(hook.received) >= 2, timeout=10, what="the resolved notification"
            )
            resolved = hook.received[1]
            assert resolved.json["status"] == "resolved" and alerts_of(resolved) == [("TQ-1", "resolved")]
            assert resolved.json["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
            assert await firing_alerts(conn) == []
            now = datetime.now(UTC)
            history = await alert_history(conn, now - timedelta(hours=1), now + timedelta(minutes=1))
            assert [(c.previous, c.state) for c in history] == [(None, "firing"), ("firing", "resolved")]
            assert await alert_history(conn, now + timedelta(minutes=1), now + timedelta(hours=1)) == []
        finally:
            await conn.close()
        await rounds(service, 3)
        assert len(hook.received) == 2  # nothing more: no repeat before repeat_interval
        assert metric(service, "ioc_alert_notifications_total", receiver="hook", outcome="sent") == 2
        assert metric(service, "ioc_alert_notifications_total", receiver="hook", outcome="retried") == 0
        assert metric(service, "ioc_alerts_firing", rule=RULE) == 0
        assert metric(service, "ioc_alert_evaluator_leader") == 1
        assert metric(service, "ioc_alert_outbox_pending", receiver="hook") == 0
    assert all(SECRET not in r.getMessage() for r in caplog.records)


async def test_receiver_down_then_failing_then_slow_gets_everything_in_order(
    tmp_path: Path, database_url: str, hook: Hook
) -> None:
    source = MemoryKpiSource()
    offline(source)
    async with running(write_rules(tmp_path / "rules.yml", hook), database_url, source) as service:
        # The receiver is down (nothing listens) while four state changes happen.
        for n, change in enumerate([{"TQ_1": 1}, {"TQ_1": 1, "TQ_2": 2}, {"TQ_2": 2}, {}], start=1):
            offline(source, **change)
            await wait_until_async(
                functools.partial(_size_at_least, database_url, n),
                timeout=10,
                what=f"notification {n} queued",
            )
        await wait_until_async(
            lambda: metric(service, "ioc_alert_notifications_total", receiver="hook", outcome="retried") >= 2,
            timeout=10,
            what="refused connections to be retried",
        )
        # It comes back answering 503 twice, then too slowly once, then normally.
        hook.script = [503, 503, "slow"]
        hook.start()
        await wait_until_async(lambda: len(hook.accepted) >= 5, timeout=20, what="everything missed")
        await rounds(service, 3)
        assert [r.answer for r in hook.received] == [503, 503, "slow", 200, 200, 200, 200]
        delivered = [r.body for r in hook.received if r.answer == 200]
        assert len(set(delivered)) == 4  # each state change exactly once...
        assert hook.received[2].body == delivered[0]  # ...plus the repeat of the one that timed out
        assert [alerts_of(r) for r in hook.received if r.answer == 200] == [
            [("TQ-1", "firing")],
            [("TQ-1", "firing"), ("TQ-2", "firing")],
            [("TQ-2", "firing"), ("TQ-1", "resolved")],
            [("TQ-2", "resolved")],
        ]
        assert metric(service, "ioc_alert_notifications_total", receiver="hook", outcome="sent") == 4
        assert metric(service, "ioc_alert_notifications_total", receiver="hook", outcome="failed") == 0


async def _size_at_least(database_url: str, n: int) -> bool:
    return await outbox_size(database_url) >= n


async def test_client_errors_are_not_retried_but_408_and_429_are(
    tmp_path: Path, database_url: str, hook: Hook
) -> None:
    hook.script = [429, 408, 400]
    hook.start()
    source = MemoryKpiSource()
    offline(source, TQ_1=1)
    async with running(write_rules(tmp_path / "rules.yml", hook), database_url, source) as service:
        await wait_until_async(lambda: len(hook.received) >= 3, timeout=10, what="three attempts")
        offline(source, TQ_1=0)
        await wait_until_async(lambda: len(hook.received) >= 4, timeout=10, what="the resolved notification")
        await rounds(service, 3)
        assert [r.answer for r in hook.received] == [429, 408, 400, 200]
        assert [r.json["status"] for r in hook.received] == ["firing", "firing", "firing", "resolved"]
        assert metric(service, "ioc_alert_notifications_total", receiver="hook", outcome="retried") == 2
        assert metric(service, "ioc_alert_notifications_total", receiver="hook", outcome="failed") == 1
        assert metric(service, "ioc_alert_notifications_total", receiver="hook", outcome="sent") == 1


async def test_restart_while_firing_neither_repeats_nor_loses(
    tmp_path: Path, database_url: str, hook: Hook
) -> None:
    rules = write_rules(tmp_path / "rules.yml", hook)
    hook.start()
    source = MemoryKpiSource()
    offline(source, TQ_1=1)
    async with running(rules, database_url, source):
        await wait_until_async(lambda: len(hook.received) >= 1, timeout=10, what="the firing notification")
    hook.default = 503  # the receiver breaks while no evaluator runs
    async with running(rules, database_url, source) as second:
        await rounds(second, 5)
        assert len(hook.received) == 1  # the new evaluator knows the alert was already announced
        assert metric(second, "ioc_alerts_firing", rule=RULE) == 1
        offline(source, TQ_1=0)
        await wait_until_async(lambda: len(hook.received) >= 3, timeout=10, what="resolved attempts")
    # Stopped with the resolved notification still owed; a third evaluator delivers it.
    hook.default = 200
    async with running(rules, database_url, source) as third:
        await wait_until_async(lambda: len(hook.accepted) >= 2, timeout=10, what="the owed notification")
        await rounds(third, 3)
    statuses = [(r.json["status"], r.answer) for r in hook.received]
    assert statuses[0] == ("firing", 200) and statuses[-1] == ("resolved", 200)
    assert [s for s, answer in statuses if answer == 200] == ["firing", "resolved"]
    assert all(s == ("resolved", 503) for s in statuses[1:-1])


async def test_one_evaluator_among_replicas_and_takeover(
    tmp_path: Path, database_url: str, hook: Hook
) -> None:
    rules = write_rules(tmp_path / "rules.yml", hook)
    hook.start()
    source = MemoryKpiSource()
    offline(source, TQ_1=1)
    async with running(rules, database_url, source) as a, running(rules, database_url, source) as b:

        def leaders() -> float:
            return metric(a, "ioc_alert_evaluator_leader") + metric(b, "ioc_alert_evaluator_leader")

        await wait_until_async(lambda: leaders() == 1 and hook.received, timeout=10, what="one leader")
        leader, follower = (a, b) if a.leading else (b, a)
        await rounds(leader, 3)
        assert leaders() == 1 and metric(follower, "ioc_alert_evaluations_total") == 0
        await leader.stop()
        await wait_until_async(lambda: follower.leading, timeout=10, what="the other replica to take over")
        await rounds(follower, 3)
        assert len(hook.received) == 1
        offline(source, TQ_1=0)
        await wait_until_async(
            lambda: len(hook.received) >= 2, timeout=10, what="resolved from the new leader"
        )
        assert hook.received[1].json["status"] == "resolved"


async def test_reload_silences_and_unreadable_kpis(tmp_path: Path, database_url: str, hook: Hook) -> None:
    rules = write_rules(tmp_path / "rules.yml", hook, threshold=5)
    hook.start()
    source = MemoryKpiSource()
    offline(source, TQ_1=3, TQ_2=3)
    async with running(rules, database_url, source) as service:
        await rounds(service, 3)
        assert hook.received == []
        # A stricter threshold, and a maintenance window on TQ-2, take effect without a restart.
        now = datetime.now(UTC)
        silence = (
            "silences:\n  - matchers: {endpoint: TQ-2}\n"
            f"    starts_at: {(now - timedelta(hours=1)).isoformat()}\n"
            f"    ends_at: {(now + timedelta(hours=1)).isoformat()}\n"
        )
        write_rules(rules, hook, threshold=1, extra=silence)
        await wait_until_async(lambda: hook.received, timeout=10, what="the reloaded rule to fire")
        await rounds(service, 3)
        (notice,) = hook.received
        assert alerts_of(notice) == [("TQ-1", "firing")]  # TQ-2 is silenced
        conn = await asyncpg.connect(database_url)
        try:
            shown = {a.by_value: a.silenced for a in await firing_alerts(conn)}
        finally:
            await conn.close()
        assert shown == {"TQ-1": False, "TQ-2": True}  # silenced alerts still show

        # A broken file is refused; the rules in force stay.
        rules.write_text("rules: [{name: x, kpi: nope}]\n", encoding="utf-8")
        await wait_until_async(
            lambda: metric(service, "ioc_alert_rules_last_reload_successful") == 0, timeout=10, what="refusal"
        )
        await rounds(service, 3)
        assert metric(service, "ioc_alerts_firing", rule=RULE) == 2 and len(hook.received) == 1

        # An unreadable KPI leaves its alerts as they were rather than resolving them.
        source.fail = ConnectionError("database down")
        await rounds(service, 3)
        assert metric(service, "ioc_alert_kpi_read_errors_total", rule=RULE) >= 3
        assert metric(service, "ioc_alerts_firing", rule=RULE) == 2 and len(hook.received) == 1
