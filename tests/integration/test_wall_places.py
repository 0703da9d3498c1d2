"""A place's view on the wall, in the real Chromium against the real worker, API, broker and
database: a click on a ranking row opens the district (its URL says so), its figures are the
district's, its rankings go one level down, its lists show what is overdue and which meeting
misses which site, the areas without lists draw the district's own trend, the back button and
Escape lead back up, a deep link (and a reload) opens the same view within a second, arrow keys
and Enter drive it all, the window stays in the URL, the tour goes round the districts, and the
place's view still fits 1920×1080 and 3840×2160 (screenshots left beside the test's files)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import playwright.async_api as playwright_api
import pytest

from cli.runtime.broker import EmbeddedBroker
from tests.chaos import produce
from tests.integration.test_places import meetings, overdue
from tests.integration.test_wall import (
    LAYOUT_PROBLEMS,
    SEEN,
    applications,
    browser,
    community,
    documents,
    heartbeats,
    market,
    tile,
)
from tests.integration.test_wall_access import T_DISTRICT, TOKENS, sign_in
from tests.services import base_env, running_api, running_worker

pytestmark = pytest.mark.integration
__all__ = ["browser"]  # the fixture, shared with the wall's other browser tests

FIRST_RENDER = """() => new Promise((done) => {
  const check = () => {
    const node = document.querySelector('[data-kpi="vc.endpoints_online"]');
    if (node && node.dataset.raw === "1" && document.querySelector('#place-name').textContent)
      done(performance.now());
    else requestAnimationFrame(check);
  };
  check();
})"""
"""Milliseconds from the page's start until the deep-linked place's figure is on screen."""


LISTS_CUT = """() => [...document.querySelectorAll('.place-list li')].filter((li) => {
  const row = li.getBoundingClientRect(), box = li.parentElement.getBoundingClientRect();
  return row.bottom > box.bottom + 1 || row.right > box.right + 1;
}).map((li) => `list row cut: ${li.textContent}`)"""
"""A place's list rows that do not fit their slot (lists.js drops those)."""


def hash_of(page: Any) -> str:
    return str(page.url).partition("#")[2]


async def test_drill_down_by_click_deep_link_back_and_keys(
    broker: EmbeddedBroker, database_url: str, browser: Any, tmp_path: Path
) -> None:
    expect = playwright_api.expect
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url)
    now = datetime.now(UTC)
    await produce(
        broker.bootstrap_servers,
        heartbeats(30, now)
        + documents(5, now, overdue=2, processed=3)
        + applications(6, now)
        + market(now)
        + community(now)
        + overdue(now)
        + meetings(now),
    )
    with running_worker(env), running_api(env) as (_api, base):
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(base + "/")
        await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=SEEN)
        online = tile(page, "vc.endpoints_online")
        await expect(online).to_have_attribute("data-raw", "3", timeout=SEEN)
        await expect(page.locator("#place")).to_be_hidden()

        # A click on a district's row (the community teams' ranking) opens its view, with its URL.
        districts = page.locator('[data-breakdown="vc.availability_pct"] li')
        yen_son = page.locator('[data-breakdown="community.teams_active_pct"] li[data-dim="YEN_SON"]')
        await expect(yen_son).to_be_visible(timeout=SEEN)
        await yen_son.click()
        await expect(page.locator("body")).to_have_attribute("data-view", "place")
        assert hash_of(page) == "/district/YEN_SON"
        await expect(page.locator("#place-name")).to_have_text("Huyện Yên Sơn", timeout=SEEN)
        await expect(online).to_have_attribute("data-raw", "1", timeout=SEEN)  # the district's one site
        await expect(page.locator("#back")).to_contain_text("Toàn tỉnh")

        # Its ranking one level down: the district's communes, by name, each one click away.
        communes = page.locator('[data-breakdown="vc.availability_pct"] li')
        await expect(communes.first).to_have_attribute("data-by", "commune", timeout=SEEN)
        for code in await communes.evaluate_all("rows => rows.map(r => r.dataset.dim)"):
            assert code.startswith("YS-"), code
        await expect(page.locator('[data-breakdown="vc.availability_pct"] .by')).not_to_have_text("")

        # The lists behind the numbers, where the province's trends were: most overdue first.
        documents_list = page.locator('[data-list="overdue_documents"]')
        await expect(documents_list.locator("li").first).to_have_attribute(
            "data-id", "VB-YS-60", timeout=SEEN
        )
        await expect(documents_list.locator(".list-count")).to_have_text("2")
        await expect(documents_list.locator(".list-title")).to_have_text("Văn bản quá hạn")
        await expect(documents_list.locator("li").first).to_contain_text("trễ 1 giờ")
        applications_list = page.locator('[data-list="overdue_applications"] li')
        await expect(applications_list).to_have_count(1)
        await expect(applications_list.first).to_have_attribute("data-id", "HS-YEN_SON")
        sites = page.locator('[data-list="offline_sites"] li')
        await expect(sites.first).to_be_visible()
        assert "TQ-YS-001" not in await sites.evaluate_all("rows => rows.map(r => r.dataset.id)")

        # The meeting in progress that misses one of the district's sites, naming it.
        missing = page.locator('[data-list="meetings_missing_endpoints"]')
        await expect(missing.locator(".list-title")).to_have_text("Cuộc họp thiếu điểm cầu", timeout=SEEN)
        await expect(missing.locator("li").first).to_have_attribute("data-id", "HOP-1")
        await expect(missing.locator("li .missing").first).to_contain_text(
            "Điểm cầu cấp xã số 02, Huyện Yên Sơn"
        )
        await expect(missing.locator("li .age").first).to_have_text(re.compile(r"^thiếu [12]/2$"))
        assert "Hàm Yên" not in await missing.inner_text()

        # Where an area has no lists, its trend is the district's own: the community teams' four
        # activities, drawn as a line.
        trend = page.locator('[data-trend="community"]')
        await expect(trend).to_have_attribute("data-place", "district/YEN_SON", timeout=SEEN)
        await expect(trend).to_have_attribute("data-total", "4", timeout=SEEN)
        await expect(trend.locator(".plot svg path.line.l0")).not_to_have_count(0)
        await expect(trend.locator(".legend")).to_have_text("Hoạt động hỗ trợ")
        await expect(page.locator('[data-trend="market"] .plot svg')).to_be_visible()

        for width, height in ((1920, 1080), (3840, 2160)):
            await page.set_viewport_size({"width": width, "height": height})
            await page.wait_for_timeout(400)  # the page re-fits figures and rankings after a resize
            problems = await page.evaluate(LAYOUT_PROBLEMS)
            problems += await page.evaluate(LISTS_CUT)
            assert problems == [], f"place view at {width}×{height}: {problems}"
            await page.screenshot(path=str(tmp_path / f"wall-place-{width}x{height}.png"))
        await page.set_viewport_size({"width": 1920, "height": 1080})

        # Down to a commune, back up by the button (it names where it leads), then Escape.
        commune = await communes.first.get_attribute("data-dim")
        await communes.first.click()
        await expect(page.locator("#back .to")).to_have_text("Huyện Yên Sơn", timeout=SEEN)
        assert hash_of(page) == f"/commune/{commune}"
        await page.click("#back")
        await expect(page.locator("#place-name")).to_have_text("Huyện Yên Sơn")
        assert hash_of(page) == "/district/YEN_SON"
        await page.keyboard.press("Escape")
        await expect(page.locator("body")).to_have_attribute("data-view", "province")
        assert hash_of(page) == "/"
        await expect(online).to_have_attribute("data-raw", "3", timeout=SEEN)
        await expect(page.locator('[data-trend="community"]')).to_have_attribute("data-place", "")

        # Keys alone: arrows move through the rows, Enter opens one, Backspace comes back.
        await page.keyboard.press("ArrowDown")
        first = await page.evaluate("document.activeElement.dataset.dim")
        await page.keyboard.press("ArrowDown")
        second = await page.evaluate("document.activeElement.dataset.dim")
        rows = await districts.evaluate_all("rows => rows.map(r => r.dataset.dim)")
        assert [first, second] == rows[:2]
        await page.keyboard.press("Enter")
        assert hash_of(page) == f"/district/{second}"
        await expect(page.locator("body")).to_have_attribute("data-view", "place")
        await page.keyboard.press("Backspace")
        await expect(page.locator("body")).to_have_attribute("data-view", "province")

        # The window: chosen in the header, kept in the URL and across a drill-down.
        received = tile(page, "eoffice.received")
        await expect(received).to_have_attribute("data-raw", "7", timeout=SEEN)  # the last hour
        await page.select_option("#window", "24h")
        assert hash_of(page) == "/?w=24h"
        await expect(received).to_have_attribute("data-raw", "10", timeout=SEEN)  # and 90 minutes ago
        await expect(received.locator(".when")).to_have_text("24 giờ qua")
        await yen_son.click()
        await expect(page.locator("#place-name")).to_have_text("Huyện Yên Sơn", timeout=SEEN)
        assert hash_of(page) == "/district/YEN_SON?w=24h"
        await expect(received).to_have_attribute("data-raw", "3", timeout=SEEN)  # its own three
        await page.select_option("#window", "1h")
        assert hash_of(page) == "/district/YEN_SON"
        await expect(received).to_have_attribute("data-raw", "0", timeout=SEEN)
        await page.close()

        # A deep link opens the view directly, under a second with the API warm; a reload keeps it.
        linked = await browser.new_page(viewport={"width": 1920, "height": 1080})
        linked.on("pageerror", lambda exc: errors.append(str(exc)))
        await linked.goto(base + "/#/district/YEN_SON")
        first_render_ms = await linked.evaluate(FIRST_RENDER)
        print(f"deep link first render: {first_render_ms:.0f} ms")
        assert first_render_ms < 1000
        await expect(linked.locator("#place-name")).to_have_text("Huyện Yên Sơn")
        await linked.reload()
        await expect(linked.locator("#place-name")).to_have_text("Huyện Yên Sơn", timeout=SEEN)
        await expect(tile(linked, "vc.endpoints_online")).to_have_attribute("data-raw", "1", timeout=SEEN)
        await linked.click("#lang")
        await expect(linked.locator("#back .word")).to_have_text("Back")
        await expect(linked.locator("#place-name")).to_have_text("Yen Son District")
        await linked.close()

        # The tour for an unattended wall: each district in turn, the URL unchanged; Escape ends it.
        tour = await browser.new_page(viewport={"width": 1920, "height": 1080})
        tour.on("pageerror", lambda exc: errors.append(str(exc)))
        await tour.goto(base + "/#/tour?every=5")
        name = tour.locator("#place-name")
        await expect(name).to_have_text("Thành phố Tuyên Quang", timeout=SEEN)
        await expect(tour.locator("#place-note")).to_have_text("Tự động xoay vòng 1/7")
        await expect(name).to_have_text("Huyện Lâm Bình", timeout=8_000)
        await expect(tour.locator("#place-note")).to_have_text("Tự động xoay vòng 2/7")
        assert hash_of(tour) == "/tour?every=5"
        await tour.keyboard.press("Escape")
        await expect(tour.locator("body")).to_have_attribute("data-view", "province")
        assert hash_of(tour) == "/"
        await tour.wait_for_timeout(6_000)  # the tour is over: no district comes back
        await expect(tour.locator("body")).to_have_attribute("data-view", "province")
        await tour.close()
        assert errors == []


async def test_a_district_token_cannot_open_another_district(
    broker: EmbeddedBroker, database_url: str, browser: Any
) -> None:
    """A deep link to another district, opened with a district's token: the wall says the token
    may not see it and shows none of its numbers; the token's own district opens."""
    expect = playwright_api.expect
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url, IOC_API_TOKENS=TOKENS)
    with running_api(env) as (_api, base):
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        await page.goto(base + "/#/district/HAM_YEN")
        await sign_in(page, T_DISTRICT)
        await expect(page.locator("#place-note")).to_have_text(
            "Mã truy cập này không được xem nơi này", timeout=SEEN
        )
        await expect(page.locator("#place")).to_have_attribute("data-problem", "refused")
        await expect(tile(page, "vc.endpoints_online")).to_have_attribute("data-raw", "")
        await page.goto(base + "/#/district/YEN_SON")
        await expect(page.locator("#place-name")).to_have_text("Huyện Yên Sơn", timeout=SEEN)
        await expect(page.locator("#place")).to_have_attribute("data-problem", "")
        await page.close()
