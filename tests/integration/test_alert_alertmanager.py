"""Delivery to a real Alertmanager (Debian's `prometheus-alertmanager`) on loopback.

The binary is a test dependency the project's setup installs; when it is missing this test
fails and says which package to install, rather than skipping and hiding the gap.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client import CollectorRegistry

from alerts.evaluate import fingerprint
from alerts.service import AlertService
from alerts.source import MemoryKpiSource
from cli.runtime.process import free_port, spawn, stop
from ioc.settings import AlertSettings
from tests.services import wait_until, wait_until_async

pytestmark = pytest.mark.integration

PACKAGE = "prometheus-alertmanager"
KPI = "eoffice.overdue"
RULE = "EofficeOverdueHigh"
CONFIG = """
route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
"""


def alertmanager_binary() -> str:
    found = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if found is None:
        pytest.fail(
            f"the Alertmanager binary is missing: install the Debian package {PACKAGE}"
            f" (apt-get install -y {PACKAGE}); the project's setup installs it",
            pytrace=False,
        )
    return found


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A throw-away Alertmanager on a free loopback port, clustering off; yields its base URL."""
    binary = alertmanager_binary()
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG, encoding="utf-8")
    port = free_port()
    proc = spawn(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        quiet=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: proc.poll() is None and httpx.get(base + "/-/ready", timeout=1).status_code == 200,
            timeout=20,
            what="Alertmanager to be ready",
        )
        yield base
    finally:
        stop(proc, name="alertmanager")


@contextlib.asynccontextmanager
async def running(rules: Path, database_url: str, source: MemoryKpiSource) -> AsyncIterator[AlertService]:
    settings = AlertSettings(
        alert_rules=rules,
        alert_eval_interval_s=0.1,
        alert_am_resend_s=0.5,
        alert_retry_initial_s=0.05,
        alert_retry_max_s=0.3,
    )
    service = AlertService(settings, database_url=database_url, source=source, registry=CollectorRegistry())
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


def ours(base: str) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = httpx.get(base + "/api/v2/alerts", timeout=2).json()
    return [a for a in alerts if a["labels"].get("alertname") == RULE]


async def test_alerts_reach_a_real_alertmanager(tmp_path: Path, database_url: str, alertmanager: str) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(
        f"""
receivers:
  - name: province-am
    alertmanager_url: {alertmanager}
    timeout: 2s
rules:
  - name: {RULE}
    kpi: {KPI}
    by: agency
    op: ">"
    threshold: 20
    for: 0s
    severity: warning
    labels: {{team: eoffice}}
    annotations: {{summary: "{{{{ by_value }}}}: {{{{ value }}}} documents overdue"}}
    receivers: [province-am]
""",
        encoding="utf-8",
    )
    source = MemoryKpiSource()
    source.set(KPI, {"SO_TTTT": 25, "SO_YTE": 3}, by="agency")
    async with running(rules, database_url, source) as service:
        await wait_until_async(lambda: ours(alertmanager), timeout=15, what="the alert in Alertmanager")
        (shown,) = ours(alertmanager)
        labels = {"alertname": RULE, "severity": "warning", "team": "eoffice", "agency": "SO_TTTT"}
        assert shown["labels"] == labels
        assert shown["annotations"] == {"summary": "SO_TTTT: 25 documents overdue"}
        assert shown["status"]["state"] == "active"
        assert shown["fingerprint"] == fingerprint(labels) == service.active_alerts[0].fingerprint
        assert shown["generatorURL"].endswith("/api/v1/kpis/eoffice.overdue?window=1h&by=agency")

        # Re-posted while it fires (every IOC_ALERT_AM_RESEND_S here 0.5 s): its validity moves on.
        first_end = shown["endsAt"]
        await wait_until_async(
            lambda: ours(alertmanager) and ours(alertmanager)[0]["endsAt"] > first_end,
            timeout=10,
            what="a re-post extending the alert",
        )

        # Resolved: posted with its endsAt, so Alertmanager stops listing it as active.
        source.set(KPI, {"SO_TTTT": 4, "SO_YTE": 3}, by="agency")
        await wait_until_async(lambda: not ours(alertmanager), timeout=10, what="the alert to be resolved")
        conn = await asyncpg.connect(database_url)
        try:
            queued = [tuple(r) for r in await conn.fetch("SELECT status, outcome FROM alert_outbox")]
        finally:
            await conn.close()
        assert queued == [("resolved", "sent")]  # the resolution itself was delivered, not left to expire
        registry = service.metrics.registry
        assert (
            registry.get_sample_value(
                "ioc_alert_notifications_total", {"receiver": "province-am", "outcome": "sent"}
            )
            or 0
        ) >= 3
        assert not registry.get_sample_value(
            "ioc_alert_notifications_total", {"receiver": "province-am", "outcome": "failed"}
        )


def test_a_missing_alertmanager_fails_naming_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match=f"install the Debian package {PACKAGE}"):
        alertmanager_binary()
