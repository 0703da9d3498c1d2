"""The wall's schematic map in the real Chromium, against the real worker, API, broker and
database: every registered site speaks but Hàm Yên's, so Hàm Yên's tile is red with its 19 sites
offline while the others are green; a click on it opens the district (its URL says so) and the
map shows its communes; the map fits 1920×1080, 3840×2160 and a 1366×768 laptop (screenshots
left beside the test). A token scoped to a district, or to one of its communes, opens the map on
its own district's communes (those it may see), not on an empty province."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import playwright.async_api as playwright_api
import pytest

from cli.runtime.broker import EmbeddedBroker
from ioc.registry import load_registry
from tests.chaos import produce
from tests.integration.test_wall import SEEN, Record, browser, record
from tests.integration.test_wall_access import sign_in
from tests.services import base_env, running_api, running_worker

pytestmark = pytest.mark.integration
__all__ = ["browser"]  # the fixture, shared with the wall's other browser tests

SILENT = "HAM_YEN"
SIZES = ((1920, 1080), (3840, 2160), (1366, 768))

MAP_PROBLEMS = """() => {
  const problems = [];
  const box = (n) => n.getBoundingClientRect();
  const inside = (r, b) => r.left >= b.left - 1 && r.right <= b.right + 1
    && r.top >= b.top - 1 && r.bottom <= b.bottom + 1;
  const root = document.documentElement;
  if (root.scrollWidth > innerWidth || root.scrollHeight > innerHeight) problems.push('page scrolls');
  const grid = document.querySelector('#map .map-grid');
  if (!inside(box(grid), box(document.querySelector('#map')))) problems.push('grid outside the map');
  for (const tile of grid.querySelectorAll('.map-tile')) {
    if (!inside(box(tile), box(grid))) problems.push(`${tile.dataset.code}: outside the grid`);
    for (const part of tile.children) {
      if (!inside(box(part), box(tile))) problems.push(`${tile.dataset.code}: ${part.className} outside`);
      if (part.scrollWidth > part.clientWidth + 1)
        problems.push(`${tile.dataset.code}: ${part.className} cut`);
    }
  }
  return problems;
}"""
"""What must hold on any screen: no scrolling, every tile and its words inside the grid, none cut."""


MAP_RENDER = """() => new Promise((done) => {
  const check = () => {
    const tile = document.querySelector('#map .map-tile[data-code="HAM_YEN"]');
    if (tile && tile.dataset.status === "bad") done(performance.now());
    else requestAnimationFrame(check);
  };
  check();
})"""
"""Milliseconds from the page's start until the map (kept on across a reload) shows Hàm Yên red."""


def every_site_but(silent: str, now: datetime) -> list[Record]:
    """A heartbeat a minute from every registered site outside district `silent`, from an hour
    ago to four minutes ahead (within the future tolerance), so the last hour's availability
    stays whole while the test runs."""
    sites = [s for s in load_registry().sites if s.district != silent]
    return [
        record(
            "vc.heartbeat",
            occurred_at=now + timedelta(minutes=m),
            endpoint_id=site.endpoint_id,
            district=site.district,
            site_level=site.site_level,
        )
        for m in range(-60, 5)
        for site in sites
    ]


def map_tile(page: Any, code: str) -> Any:
    return page.locator(f'#map .map-tile[data-code="{code}"]')


async def test_map_colours_a_failing_district_and_drills_down(
    broker: EmbeddedBroker, database_url: str, browser: Any, tmp_path: Path
) -> None:
    expect = playwright_api.expect
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url)
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    await produce(broker.bootstrap_servers, every_site_but(SILENT, now))
    with running_worker(env), running_api(env) as (_api, base):
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(base + "/")
        await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=SEEN)
        await expect(page.locator("#map")).to_be_hidden()
        await page.click("#map-toggle")
        await expect(page.locator("#areas")).to_be_hidden()
        await expect(page.locator("#map .map-title")).to_have_text("Bản đồ các huyện, thành phố")

        # Seven districts (the province's own sites are no place on a map), in the registry's order.
        tiles = page.locator("#map .map-tile")
        await expect(tiles).to_have_count(7, timeout=SEEN)
        codes = await tiles.evaluate_all("ts => ts.map(t => t.dataset.code)")
        assert codes == [d.code for d in load_registry().districts if d.code != "PROVINCE"]

        # Hàm Yên is silent: red, its worst KPI named, its 19 sites offline; the others green.
        ham_yen = map_tile(page, SILENT)
        await expect(ham_yen).to_have_attribute("data-status", "bad", timeout=SEEN)
        await expect(ham_yen).to_have_attribute("data-offline", "19")
        await expect(ham_yen.locator(".map-name")).to_have_text("Huyện Hàm Yên")
        await expect(ham_yen.locator(".map-kpi")).to_have_text("Tỷ lệ sẵn sàng")
        await expect(ham_yen.locator(".map-value")).to_have_text("0,0 %")
        await expect(ham_yen.locator(".map-offline")).to_have_text("19 điểm cầu mất kết nối")
        yen_son = map_tile(page, "YEN_SON")
        await expect(yen_son).to_have_attribute("data-status", "ok")
        await expect(yen_son).to_have_attribute("data-offline", "0")
        await expect(yen_son.locator(".map-offline")).to_have_text("Mọi điểm cầu đều trực tuyến")
        body = httpx.get(base + "/api/v1/map", timeout=10).json()
        assert {t["code"]: t["status"] for t in body["tiles"]} == {
            c: "bad" if c == SILENT else "ok" for c in codes
        }

        for width, height in SIZES:
            await page.set_viewport_size({"width": width, "height": height})
            await page.wait_for_timeout(800)  # the map re-lays its grid after a resize
            await page.screenshot(path=str(tmp_path / f"wall-map-{width}x{height}.png"))
            problems = await page.evaluate(MAP_PROBLEMS)
            assert problems == [], f"province map at {width}×{height}: {problems}"
        await page.set_viewport_size({"width": 1920, "height": 1080})

        # A click drills down as a ranking row does: the district's view, its communes on the map.
        await ham_yen.click()
        assert str(page.url).partition("#")[2] == f"/district/{SILENT}"
        await expect(page.locator("#place-name")).to_have_text("Huyện Hàm Yên", timeout=SEEN)
        await expect(page.locator("#map .map-title")).to_have_text("Các xã của Huyện Hàm Yên", timeout=SEEN)
        communes = page.locator("#map .map-tile")
        await expect(communes.first).to_have_attribute("data-code", "HY-001", timeout=SEEN)
        assert all(
            c.startswith("HY-") for c in await communes.evaluate_all("ts => ts.map(t => t.dataset.code)")
        )
        await expect(communes.first).to_have_attribute("data-status", "bad")
        await expect(communes.first).to_have_attribute("data-offline", "1")
        await page.wait_for_timeout(400)
        await page.screenshot(path=str(tmp_path / "wall-map-district-1920x1080.png"))
        assert await page.evaluate(MAP_PROBLEMS) == []

        # Keys: arrows move between tiles, Enter opens one; Escape goes back up, the map stays.
        await communes.first.focus()
        await page.keyboard.press("ArrowRight")
        second = await page.evaluate("document.activeElement.dataset.code")
        await page.keyboard.press("Enter")
        assert str(page.url).partition("#")[2] == f"/commune/{second}"
        await expect(map_tile(page, second)).to_have_attribute("data-here", "true", timeout=SEEN)
        await page.keyboard.press("Escape")
        await expect(page.locator("#place-name")).to_have_text("Huyện Hàm Yên", timeout=SEEN)
        await page.keyboard.press("Escape")
        await expect(page.locator("body")).to_have_attribute("data-view", "province")
        await expect(tiles).to_have_count(7, timeout=SEEN)

        # English, and back to the figures: the choice is kept across a reload.
        await page.click("#lang")
        await expect(ham_yen.locator(".map-offline")).to_have_text("19 sites offline")
        await page.reload()
        first_render_ms = await page.evaluate(MAP_RENDER)
        print(f"map first render after a reload: {first_render_ms:.0f} ms")
        assert first_render_ms < 1000
        await expect(page.locator("#map .map-title")).to_have_text("Districts of the province", timeout=SEEN)
        await page.click("#map-toggle")
        await expect(page.locator("#areas")).to_be_visible()
        await expect(page.locator("#map")).to_be_hidden()
        assert errors == []
        await page.close()


T_HAM_YEN = "map-district-0123456789"  # made-up tokens for the test
T_COMMUNE = "map-commune-01234567890"
SCOPED = orjson.dumps(
    {
        T_HAM_YEN: {"name": "hy.viewer", "role": "viewer", "scope": f"district:{SILENT}"},
        T_COMMUNE: {"name": "hy001.viewer", "role": "viewer", "scope": "commune:HY-001"},
    }
).decode()


async def test_a_scoped_token_opens_the_map_on_its_own_district(
    broker: EmbeddedBroker, database_url: str, browser: Any, tmp_path: Path
) -> None:
    """Hàm Yên's district token sees its communes, red with their silent sites; a token of its
    commune HY-001 sees that commune alone, under its district's name."""
    expect = playwright_api.expect
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url, IOC_API_TOKENS=SCOPED)
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    await produce(broker.bootstrap_servers, every_site_but(SILENT, now))
    communes = [c.code for c in load_registry().communes if c.district == SILENT]
    with running_worker(env), running_api(env) as (_api, base):
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(base + "/")
        await sign_in(page, T_HAM_YEN)
        await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=SEEN)
        await page.click("#map-toggle")
        await expect(page.locator("#map .map-title")).to_have_text("Các xã của Huyện Hàm Yên", timeout=SEEN)
        tiles = page.locator("#map .map-tile")
        await expect(tiles).to_have_count(len(communes), timeout=SEEN)
        assert await tiles.evaluate_all("ts => ts.map(t => t.dataset.code)") == communes
        await expect(map_tile(page, "HY-001")).to_have_attribute("data-status", "bad", timeout=SEEN)
        await expect(map_tile(page, "HY-001").locator(".map-offline")).to_have_text("1 điểm cầu mất kết nối")
        await page.wait_for_timeout(400)
        await page.screenshot(path=str(tmp_path / "wall-map-district-token-1920x1080.png"))
        assert await page.evaluate(MAP_PROBLEMS) == []
        await page.close()

        commune = await browser.new_page(viewport={"width": 1920, "height": 1080})
        commune.on("pageerror", lambda exc: errors.append(str(exc)))
        await commune.goto(base + "/")
        await sign_in(commune, T_COMMUNE)
        await commune.click("#map-toggle")
        await expect(commune.locator("#map .map-title")).to_have_text(
            "Các xã của Huyện Hàm Yên", timeout=SEEN
        )
        only = commune.locator("#map .map-tile")
        await expect(only).to_have_count(1, timeout=SEEN)
        await expect(only).to_have_attribute("data-code", "HY-001")
        await expect(only).to_have_attribute("data-status", "bad", timeout=SEEN)
        body = httpx.get(
            base + "/api/v1/map", headers={"Authorization": f"Bearer {T_COMMUNE}"}, timeout=10
        ).json()
        assert (body["level"], body["district"], [t["code"] for t in body["tiles"]]) == (
            "commune",
            SILENT,
            ["HY-001"],
        )
        await commune.click("#lang")
        await expect(commune.locator("#map .map-title")).to_have_text("Communes of Ham Yen District")
        await commune.close()
        assert errors == []
