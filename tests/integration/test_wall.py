"""The operations wall in a real browser, against the real worker, API, broker and database.

Headless Chromium (through Playwright) loads `/`, sees the KPIs arrive over the live channel,
sees them change as events are produced, switches language, rides out an API restart on the
same port, and leaves a screenshot for people to look at (bench/out/wall.png).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import playwright.async_api as playwright_api
import pytest

from cli.runtime.broker import EmbeddedBroker
from tests.chaos import produce
from tests.factories import encode, key_of, topic_of, valid_event
from tests.services import REPO, IocProcess, base_env, running_api, running_worker, wait_until

pytestmark = pytest.mark.integration


# The browser test never skips: `make test` installs Debian's chromium (tools/system-deps.sh).
CHROMIUM = os.environ.get("IOC_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")

BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SEEN = 20_000  # ms: how long the page may take to show what the pipeline knows
RULES = """\
receivers: []
rules:
  - name: WallTestOverdue
    kpi: eoffice.overdue
    by: agency
    op: ">"
    threshold: 0
    for: 0s
    severity: critical
    annotations:
      summary: "Quá hạn tại {{ by_value }}: {{ value }} văn bản / Overdue at {{ by_value }}: {{ value }}"
"""

Record = tuple[str, bytes, bytes]


def record(type_name: str, **fields: Any) -> Record:
    event = valid_event(type_name, **fields)
    return topic_of(type_name), key_of(event), encode(event)


def heartbeats(n: int, now: datetime) -> list[Record]:
    sites = [("TQ-YS-001", "YEN_SON"), ("TQ-HY-002", "HAM_YEN"), ("TQ-SD-003", "SON_DUONG")]
    return [
        record(
            "vc.heartbeat",
            occurred_at=now - timedelta(seconds=i % 30),
            endpoint_id=sites[i % 3][0],
            district=sites[i % 3][1],
            packet_loss_pct=0.2 + i % 3,
        )
        for i in range(n)
    ]


def documents(received: int, now: datetime, *, overdue: int = 0, processed: int = 0) -> list[Record]:
    out = [record("document.received", occurred_at=now, agency="SO_TTTT") for _ in range(received)]
    out += [
        record(
            "document.received",
            occurred_at=now - timedelta(minutes=30),
            due_at=now - timedelta(minutes=5),
            agency="SO_TAI_CHINH",
        )
        for _ in range(overdue)
    ]
    out += [record("document.processed", occurred_at=now, agency="SO_NOI_VU") for _ in range(processed)]
    return out


def applications(n: int, now: datetime) -> list[Record]:
    out = [record("application.submitted", occurred_at=now, agency="UBND_YEN_SON") for _ in range(n)]
    out += [
        record("application.resolved", occurred_at=now, agency="SO_TU_PHAP", due_at=now - timedelta(hours=i))
        for i in range(n // 2)
    ]
    return out


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        assert CHROMIUM, "no Chromium: run `make system-deps` (Debian package chromium)"
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def tile(page: Any, name: str) -> Any:
    """The tile of KPI `name`: `data-raw` holds the unformatted value ("" = no data), `data-status`
    its traffic light."""
    return page.locator(f'[data-kpi="{name}"]')


def start_api(env: dict[str, str], base: str) -> IocProcess:
    """An API process with `env` (which names its port), once it answers at `base`."""
    fresh = IocProcess("api", env).start()
    wait_until(
        lambda: fresh.alive and httpx.get(base + "/healthz", timeout=2).status_code == 200,
        timeout=30,
        what="the restarted API to answer",
    )
    return fresh


async def test_wall_shows_live_kpis_switches_language_and_reconnects(
    broker: EmbeddedBroker, database_url: str, browser: Any, tmp_path: Path
) -> None:
    expect = playwright_api.expect
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES, encoding="utf-8")
    env = base_env(
        IOC_KAFKA_URL=broker.url,
        IOC_DATABASE_URL=database_url,
        IOC_ALERT_RULES=str(rules),
        IOC_ALERT_EVAL_INTERVAL_S="1",
    )
    now = datetime.now(UTC)
    await produce(
        broker.bootstrap_servers,
        heartbeats(30, now) + documents(5, now, overdue=2, processed=3) + applications(6, now),
    )

    with running_worker(env), running_api(env) as (api, base):
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(base + "/")

        # The KPIs arrive: Vietnamese by default, values in the tiles, the alert on top.
        await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=SEEN)
        await expect(tile(page, "eoffice.received")).to_have_attribute("data-raw", "7", timeout=SEEN)
        await expect(tile(page, "vc.heartbeats")).to_have_attribute("data-raw", "30", timeout=SEEN)
        label = page.locator('[data-kpi="eoffice.received"] [data-label]')
        await expect(label).to_have_text("Văn bản đến")
        await expect(tile(page, "eoffice.received").locator(".value")).to_have_text("7")
        # 1 of 3 resolved on time: red; no rating yet: no data (grey, a dash), never 0.
        await expect(tile(page, "portal.on_time_pct")).to_have_attribute("data-status", "bad")
        await expect(tile(page, "portal.rating_avg")).to_have_attribute("data-status", "none")
        await expect(tile(page, "portal.rating_avg").locator(".value")).to_have_text("—")
        alert = page.locator('#alerts .alert[data-rule="WallTestOverdue"]')
        await expect(alert).to_contain_text("Quá hạn tại SO_TAI_CHINH: 2 văn bản", timeout=SEEN)
        await expect(alert).to_have_attribute("data-severity", "critical")
        await expect(page.locator('[data-breakdown="eoffice.overdue"] li').first).to_have_attribute(
            "data-dim", "SO_TAI_CHINH", timeout=SEEN
        )
        await expect(page.locator('#sources [data-topic="ioc.vc.telemetry"]')).to_have_attribute(
            "data-stale", "false"
        )

        # More events: the page follows without a reload.
        await produce(
            broker.bootstrap_servers, documents(4, datetime.now(UTC)) + heartbeats(12, datetime.now(UTC))
        )
        await expect(tile(page, "eoffice.received")).to_have_attribute("data-raw", "11", timeout=SEEN)
        await expect(tile(page, "vc.heartbeats")).to_have_attribute("data-raw", "42", timeout=SEEN)

        # English, kept across a reload.
        await page.click("#lang")
        await expect(label).to_have_text("Documents received")
        await expect(alert).to_contain_text("Overdue at SO_TAI_CHINH: 2")
        await page.reload()
        await expect(label).to_have_text("Documents received", timeout=SEEN)
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await page.click("#lang")
        await expect(label).to_have_text("Văn bản đến")

        # The API restarts: the page says so at once and keeps the last values, dimmed; events
        # sent meanwhile show once it is back (and let the old process's live route see its
        # client has gone, so the process exits without waiting for its stop timeout).
        stopping = asyncio.create_task(asyncio.to_thread(api.stop))
        await expect(page.locator("body")).to_have_attribute("data-conn", "reconnecting", timeout=5_000)
        await expect(page.locator("#conn-text")).to_have_text("Mất kết nối")
        await expect(tile(page, "eoffice.received")).to_have_attribute("data-raw", "11")
        await expect(tile(page, "eoffice.received").locator(".value")).to_be_visible()
        await produce(broker.bootstrap_servers, documents(2, datetime.now(UTC)))
        await page.screenshot(path=str(tmp_path / "wall-reconnecting.png"))
        await stopping
        fresh = await asyncio.to_thread(start_api, api.env, base)
        try:
            await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=SEEN)
            await expect(tile(page, "eoffice.received")).to_have_attribute("data-raw", "13", timeout=SEEN)
            await produce(broker.bootstrap_servers, documents(3, datetime.now(UTC)))
            await expect(tile(page, "eoffice.received")).to_have_attribute("data-raw", "16", timeout=SEEN)

            # One screen, no scrolling, no script errors; a picture for people to look at.
            size = await page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            assert size == [1920, 1080]
            assert errors == []
            shot = tmp_path / "wall.png"
            await page.screenshot(path=str(shot))
            out = REPO / "bench" / "out"
            out.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, out / "wall.png")
        finally:
            await page.close()
            # The live route notices a departed client only on its next send, so a graceful stop
            # of an idle API waits for the stop timeout; the test is over, so end it at once.
            fresh.kill()
