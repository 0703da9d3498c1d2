"""The wall's headline figures against the same time yesterday and last week, and against the
province's targets, in the real Chromium against the real worker, API, broker and database.

Yesterday's and last week's documents go through the same path as today's (the broker and the
worker; a long grace period lets such old events in), so the differences the tiles show are the
pipeline's own arithmetic. The comparison lines cost no ranking its rows: each shows at least
three at every size. Screenshots at 1920×1080 and 3840×2160 are left beside the test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import playwright.async_api as playwright_api
import pytest

from cli.runtime.broker import EmbeddedBroker
from tests.chaos import produce
from tests.integration.test_wall import (
    LAYOUT_PROBLEMS,
    SEEN,
    Record,
    applications,
    browser,
    documents,
    heartbeats,
    record,
    tile,
)
from tests.services import base_env, running_api, running_worker

pytestmark = pytest.mark.integration
__all__ = ["browser"]  # the fixture, shared with the wall's other browser tests

TARGETS = {"eoffice.on_time_pct": 90, "portal.on_time_pct": 97.5}
OLD_EVENTS_S = str(10 * 86_400)  # grace period: last week's events are not `late`

COMPARED = """() => new Promise((done) => {
  const check = () => {
    const row = document.querySelector('[data-kpi="eoffice.received"] .compare:not([data-waiting])');
    if (row) done(performance.now());
    else requestAnimationFrame(check);
  };
  check();
})"""
"""Milliseconds from the page's start until the comparisons are drawn (the API warm)."""

RANKING_ROWS = """() => Object.fromEntries([...document.querySelectorAll('section.area')].map(
  (a) => [a.dataset.area, a.querySelectorAll('.breakdown li').length]))"""
"""How many ranking rows each area shows."""

COMPARE_CUT = """() => [...document.querySelectorAll('.tile.big')].flatMap((tile) => {
  const box = tile.getBoundingClientRect(), out = [];
  const row = tile.querySelector('.compare'), r = row.getBoundingClientRect();
  if (row.scrollWidth > row.clientWidth + 1) out.push(`comparison cut: ${row.textContent}`);
  if (r.bottom > box.bottom + 1 || r.right > box.right + 1)
    out.push(`comparison outside its tile: ${row.textContent}`);
  const target = tile.querySelector('[data-cmp="target"]:not([hidden])');
  const note = target?.parentElement.getBoundingClientRect();
  if (target && target.getBoundingClientRect().right > note.right + 1)
    out.push(`target cut: ${target.textContent}`);
  return out;
})"""
"""Comparison lines and targets that do not fit their tile."""


def past_documents(now: datetime) -> list[Record]:
    """Ten minutes before the same time yesterday: 4 documents in, 4 done, 1 of them late (75 %
    on time); last week: 9 in, 2 done, both late (0 %)."""
    out: list[Record] = []
    for ago, received, processed, late in ((timedelta(days=1), 4, 4, 1), (timedelta(days=7), 9, 2, 2)):
        at = now - ago - timedelta(minutes=10)
        out += [record("document.received", occurred_at=at, agency="SO_TTTT") for _ in range(received)]
        out += [
            record(
                "document.processed",
                occurred_at=at,
                agency="SO_NOI_VU",
                due_at=at - timedelta(hours=1) if i < late else at + timedelta(days=1),
            )
            for i in range(processed)
        ]
    return out


def compared(page: Any, kpi: str, kind: str) -> Any:
    """One part of a headline tile's comparison line: `yesterday`, `last_week` or `target`;
    `data-raw` holds the signed difference (the target itself), "" for no data."""
    return tile(page, kpi).locator(f'[data-cmp="{kind}"]')


async def test_headline_tiles_compare_with_yesterday_last_week_and_target(
    broker: EmbeddedBroker, database_url: str, browser: Any, tmp_path: Path
) -> None:
    expect = playwright_api.expect
    env = base_env(
        IOC_KAFKA_URL=broker.url,
        IOC_DATABASE_URL=database_url,
        IOC_GRACE_PERIOD_S=OLD_EVENTS_S,
        IOC_KPI_TARGETS=json.dumps(TARGETS),
    )
    now = datetime.now(UTC)
    # the old events first: each partition sees them before today's
    await produce(broker.bootstrap_servers, past_documents(now))
    await produce(
        broker.bootstrap_servers,
        heartbeats(30, now) + documents(5, now, overdue=2, processed=3) + applications(6, now),
    )
    with running_worker(env), running_api(env) as (_api, base):
        catalog = httpx.get(base + "/api/v1/catalog", timeout=5).json()
        targets = {k["name"]: k["target"] for k in catalog["kpis"] if k["target"] is not None}
        assert targets == TARGETS

        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(base + "/")
        await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=SEEN)
        await expect(tile(page, "eoffice.received")).to_have_attribute("data-raw", "7", timeout=SEEN)
        await expect(tile(page, "eoffice.on_time_pct")).to_have_attribute("data-raw", "100", timeout=SEEN)

        # 7 documents in the last hour against 4 yesterday and 9 last week, at this time.
        yesterday = compared(page, "eoffice.received", "yesterday")
        await expect(yesterday).to_have_attribute("data-raw", "3", timeout=SEEN)
        await expect(yesterday).to_have_text("▲ +3vs hôm qua")
        await expect(yesterday).to_have_attribute("data-judge", "plain")  # more documents: neither way
        last_week = compared(page, "eoffice.received", "last_week")
        await expect(last_week).to_have_attribute("data-raw", "-2")
        await expect(last_week).to_have_text("▼ −2vs tuần trước")
        await expect(last_week).to_have_attribute("title", "Cùng giờ tuần trước: 9")

        # On time: 100 % against 75 % and 0 %, better; the target (90 %) is met.
        on_time = "eoffice.on_time_pct"
        await expect(compared(page, on_time, "yesterday")).to_have_attribute("data-raw", "25")
        await expect(compared(page, on_time, "yesterday")).to_have_attribute("data-judge", "good")
        await expect(compared(page, on_time, "yesterday")).to_contain_text("▲ +25,0")
        await expect(compared(page, on_time, "last_week")).to_have_attribute("data-raw", "100")
        target = compared(page, on_time, "target")
        await expect(target).to_have_text("mục tiêu90 %")
        await expect(tile(page, on_time).locator(".when")).to_be_hidden()  # the header says the window
        await expect(target).to_have_attribute("data-judge", "good")
        # The portal's on-time rate (1 of 3) misses its target; nothing resolved then: no data.
        portal = compared(page, "portal.on_time_pct", "target")
        await expect(portal).to_have_attribute("data-raw", "97.5")
        await expect(portal).to_have_text("mục tiêu97,5 %")
        await expect(portal).to_have_attribute("data-judge", "bad")
        await expect(compared(page, "portal.on_time_pct", "yesterday")).to_have_attribute("data-raw", "")
        await expect(compared(page, "portal.on_time_pct", "yesterday")).to_contain_text("—")
        # A state KPI with no sample then is no data, never 0; a KPI with no target shows none.
        await expect(compared(page, "vc.endpoints_online", "yesterday")).to_have_attribute("data-raw", "")
        await expect(compared(page, "vc.endpoints_online", "target")).to_be_hidden()

        # The words' arithmetic, as the page's own module does it.
        words = await page.evaluate(
            """() => import('./static/compare.js').then((m) => [
              m.signed('count', 3), m.signed('percent', -2.25), m.signed('percent', 0.01),
              m.signed('count', null),
              m.judge('higher', 1), m.judge('lower', 1), m.judge('neither', 1), m.judge('higher', 0),
              m.change(5, null), m.change(null, 5), m.change(0, 0),
            ])"""
        )
        assert words == [
            "▲ +3", "▼ −2,3", "= 0,0", "—", "good", "bad", "plain", "flat", None, None, 0,
        ]  # fmt: skip

        for width, height in ((1920, 1080), (3840, 2160), (1366, 768), (1440, 900)):  # laptops too
            await page.set_viewport_size({"width": width, "height": height})
            await page.wait_for_timeout(400)  # the page re-fits figures and rankings after a resize
            await page.screenshot(path=str(tmp_path / f"wall-compare-{width}x{height}.png"))
            problems = await page.evaluate(LAYOUT_PROBLEMS) + await page.evaluate(COMPARE_CUT)
            assert problems == [], f"comparisons at {width}×{height}: {problems}"
            rows = await page.evaluate(RANKING_ROWS)  # every ranking here has more values than 3
            assert rows and min(rows.values()) >= 3, f"ranking rows at {width}×{height}: {rows}"
        await page.set_viewport_size({"width": 1920, "height": 1080})

        # A place's view on a laptop fits too.
        await page.goto(base + "/#/district/YEN_SON")
        await expect(page.locator("#place-name")).to_have_text("Huyện Yên Sơn", timeout=SEEN)
        await page.set_viewport_size({"width": 1366, "height": 768})
        await page.wait_for_timeout(800)
        await page.screenshot(path=str(tmp_path / "wall-compare-place-1366x768.png"))
        assert await page.evaluate(LAYOUT_PROBLEMS) + await page.evaluate(COMPARE_CUT) == []
        await page.set_viewport_size({"width": 1920, "height": 1080})
        await page.goto(base + "/")
        compared_ms = await page.evaluate(COMPARED)
        print(f"comparisons drawn {compared_ms:.0f} ms after the page's start")
        assert compared_ms < 1500

        # English words; a place's view compares the place (Yên Sơn had none of these documents).
        await page.click("#lang")
        await expect(yesterday).to_have_text("▲ +3vs yesterday")
        await expect(target).to_have_text("target90 %")
        await page.goto(base + "/#/district/YEN_SON")
        await expect(page.locator("#place-name")).to_have_text("Yen Son District", timeout=SEEN)
        await expect(compared(page, "eoffice.received", "yesterday")).to_have_attribute(
            "data-raw", "0", timeout=SEEN
        )
        assert errors == []
        await page.close()

        body = httpx.get(base + "/api/v1/comparisons?window=1h", timeout=10).json()
        assert body["yesterday"]["kpis"]["eoffice.received"] == 4
        assert body["last_week"]["kpis"]["eoffice.on_time_pct"] == 0
        assert body["yesterday"]["kpis"]["vc.endpoints_online"] is None
        bad = httpx.get(base + "/api/v1/comparisons?dimension=district", timeout=10)
        assert bad.status_code == 400, bad.text
