"""The wall speaks in names and tells the truth about itself, in the real Chromium.

One run feeds the real worker and API and checks that every ranking and alert names its places
as the registry does (with diacritics; English on the toggle), and that a source in its quiet
hours is not flagged stale. Another stops the real PostgreSQL server under a live wall: within
5 s the wall is no longer "live", says why and how old its numbers are, greys them, and becomes
live again once the database is back. Screenshots of both at 1920×1080 and 3840×2160 are left
in the test's temporary directory (printed with `-s`), never in the repository.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import playwright.async_api as playwright_api
import pytest

from cli.runtime.broker import EmbeddedBroker
from cli.runtime.postgres import EmbeddedPostgres
from ioc.db.migrate import migrate
from sources import SOURCES
from tests.chaos import produce
from tests.integration.test_dimensions import hours_away_from_now
from tests.integration.test_wall import (
    LAYOUT_PROBLEMS,
    SEEN,
    applications,
    browser,
    documents,
    heartbeats,
    market,
    tile,
)
from tests.services import base_env, running_api, running_worker

pytestmark = pytest.mark.integration
__all__ = ["browser"]  # the Chromium fixture, shared with the other wall test

RULES = """\
receivers: []
rules:
  - name: WallNamesOverdue
    kpi: eoffice.overdue
    by: agency
    op: ">"
    threshold: 0
    for: 0s
    severity: critical
    annotations:
      summary: "Quá hạn tại {{ by_name }}: {{ value }} văn bản / Overdue at {{ by_name }}: {{ value }}"
"""
NOT_LIVE_WITHIN_MS = 5_000


async def shoot(page: Any, where: Path, name: str) -> list[Path]:
    """Screenshots at both wall sizes, checked for nothing cut or overlapping on the way."""
    shots = []
    for width, height in ((1920, 1080), (3840, 2160)):
        await page.set_viewport_size({"width": width, "height": height})
        await page.wait_for_timeout(400)  # the page re-fits figures and rankings after a resize
        problems = await page.evaluate(LAYOUT_PROBLEMS)
        assert problems == [], f"{name} at {width}×{height}: {problems}"
        shot = where / f"{name}-{width}x{height}.png"
        await page.screenshot(path=str(shot))
        shots.append(shot)
    await page.set_viewport_size({"width": 1920, "height": 1080})
    print("screenshots:", *shots)
    return shots


def registry_names(base: str, dimension: str) -> dict[str, tuple[str, str]]:
    body = httpx.get(f"{base}/api/v1/dimensions/{dimension}", timeout=10).json()
    return {v["code"]: (v["name_vi"], v["name_en"]) for v in body["values"]}


async def ranking_names(page: Any) -> list[tuple[str, str, str]]:
    """(dimension, code, name shown) of every ranking row on the wall."""
    rows: list[tuple[str, str, str]] = await page.evaluate(
        """() => [...document.querySelectorAll('.breakdown')].flatMap((b) =>
             [...b.querySelectorAll('li')].map((li) =>
               [b.dataset.by, li.dataset.dim, li.querySelector('.name').textContent]))"""
    )
    return rows


async def test_wall_names_places_and_a_quiet_source_is_not_stale(
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
        IOC_OFFICE_HOURS=hours_away_from_now(),  # the office-hours sources are in their quiet hours
    )
    now = datetime.now(UTC)
    events = heartbeats(30, now) + documents(5, now, overdue=2, processed=3) + applications(6, now)
    await produce(broker.bootstrap_servers, events + market(now))

    with running_worker(env), running_api(env) as (_api, base):
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        started = time.monotonic()
        await page.goto(base + "/")
        await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=SEEN)
        first = page.locator('[data-breakdown="eoffice.overdue"] li').first
        await expect(first).to_have_attribute("data-dim", "SO_TAI_CHINH", timeout=SEEN)
        await expect(first.locator(".name")).to_have_text("Sở Tài chính")
        print(f"wall live with names in {time.monotonic() - started:.2f} s")

        # Every ranking row on the wall shows its registry name, never its code.
        for area in ("vc", "eoffice", "portal", "market", "community"):
            rows = page.locator(f'section.area[data-area="{area}"] .breakdown li')
            await expect(rows.first).to_be_visible(timeout=SEEN)
        names = {by: registry_names(base, by) for by in ("district", "agency", "market")}
        shown = await ranking_names(page)
        assert {by for by, _, _ in shown} == set(names)
        for by, code, text in shown:
            assert text == names[by][code][0], (by, code, text)
        for by in names:  # with their diacritics: "Huyện Chiêm Hóa", "Chợ Tam Cờ", "Sở Tài chính"
            assert any(not text.isascii() for b, _, text in shown if b == by), by

        # The alert names the agency; the e-office, in its quiet hours, is quiet and not stale.
        alert = page.locator('#alerts .alert[data-rule="WallNamesOverdue"]')
        await expect(alert).to_contain_text("Quá hạn tại Sở Tài chính: 2 văn bản", timeout=SEEN)
        eoffice = page.locator('#sources [data-topic="ioc.eoffice.documents"]')
        await expect(eoffice).to_have_attribute("data-active", "false", timeout=SEEN)
        await expect(eoffice).to_have_attribute("data-stale", "false")
        await expect(eoffice.locator(".quiet-flag")).to_have_text("Ngoài giờ")
        await expect(eoffice.locator(".stale-flag")).to_be_hidden()
        telemetry = page.locator('#sources [data-topic="ioc.vc.telemetry"]')
        await expect(telemetry).to_have_attribute("data-active", "true")
        await shoot(page, tmp_path, "wall-names-vi")

        # English: the registry's English names, and the same care for the layout.
        await page.click("#lang")
        await expect(first.locator(".name")).to_have_text("Department of Finance")
        await expect(eoffice.locator(".quiet-flag")).to_have_text("Quiet hours")
        for by, code, text in await ranking_names(page):
            assert text == names[by][code][1], (by, code, text)
        await shoot(page, tmp_path, "wall-names-en")
        assert errors == []
        await page.close()


@pytest.fixture
async def own_pg(tmp_path: Path) -> AsyncIterator[EmbeddedPostgres]:
    """A PostgreSQL server of this test's own, to stop and start under the wall."""
    pg = EmbeddedPostgres(tmp_path / "pgdata")
    pg.start()
    conn = await asyncpg.connect(pg.url)
    try:
        await migrate(conn, sources=SOURCES.migrations)
    finally:
        await conn.close()
    yield pg
    pg.stop()


async def test_wall_is_not_live_while_the_database_is_down(
    broker: EmbeddedBroker, own_pg: EmbeddedPostgres, browser: Any, tmp_path: Path
) -> None:
    expect = playwright_api.expect
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=own_pg.url)
    with running_api(env) as (_api, base):
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(base + "/")
        body = page.locator("body")
        await expect(body).to_have_attribute("data-conn", "live", timeout=SEEN)
        await expect(tile(page, "eoffice.received")).to_have_attribute("data-raw", "0", timeout=SEEN)
        await expect(body).to_have_attribute("data-trust", "true")
        await expect(page.locator(".tile .num-age").first).to_be_hidden()

        own_pg.stop()
        stopped = time.monotonic()
        await expect(body).to_have_attribute("data-conn", "degraded", timeout=NOT_LIVE_WITHIN_MS)
        print(f"not live {time.monotonic() - stopped:.2f} s after the database stopped")
        await expect(body).to_have_attribute("data-trust", "false")
        await expect(page.locator("#conn-text")).to_have_text("Mất kết nối cơ sở dữ liệu")
        # the numbers' age, counting up while the database is away
        await expect(page.locator("#conn-detail")).to_have_text(re.compile(r"^— số liệu \d+ giây trước$"))
        age = tile(page, "eoffice.received").locator(".num-age")
        await expect(age).to_be_visible()
        await expect(age).to_contain_text("giây trước")
        await expect(tile(page, "eoffice.received")).to_have_attribute("data-raw", "0")  # kept, greyed
        await shoot(page, tmp_path, "wall-database-down-vi")
        await page.click("#lang")
        await expect(page.locator("#conn-text")).to_have_text("Database unreachable")
        await expect(page.locator("#conn-detail")).to_contain_text("— figures from")
        await page.click("#lang")

        own_pg.restart()
        restarted = time.monotonic()
        await expect(body).to_have_attribute("data-conn", "live", timeout=SEEN)
        print(f"live again {time.monotonic() - restarted:.2f} s after the database returned")
        await expect(page.locator("#conn-text")).to_have_text("Trực tiếp")
        await expect(age).to_be_hidden()
        assert errors == []
        await page.close()
