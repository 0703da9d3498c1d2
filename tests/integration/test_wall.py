"""The operations wall in a real browser, against the real worker, API, broker and database.

Headless Chromium (through Playwright) loads `/`, sees the KPIs arrive over the live channel,
sees them change as events are produced, switches language, rides out an API restart on the
same port, and leaves a screenshot for people to look at (bench/out/wall.png). A second test
lays out every source's area (five: video conference, e-office, portal, markets, community
teams) and measures, in Vietnamese and English at 1920×1080 and 3840×2160, that nothing
overflows, overlaps or is cut, leaving those four screenshots beside it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import playwright.async_api as playwright_api
import pytest

from cli.runtime.broker import EmbeddedBroker
from schemas.topics import SCHEMA_VERSION
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

Record = tuple[str, bytes | None, bytes]  # what tests.chaos.produce sends


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


def later_source(type_name: str, at: datetime, source: str, **body: Any) -> Record:
    """A record of the market or community source, written out here in the contract's shape."""
    event = {
        "event_id": str(uuid.uuid4()),
        "type": type_name,
        "occurred_at": at.isoformat(),
        "source": source,
        "schema_version": SCHEMA_VERSION,
        **body,
    }
    return topic_of(type_name), key_of(event), encode(event)


# Four merchants at two markets; three of them paid 12,400,000 đồng in five payments, so
# Chợ Tam Cờ has one merchant of two active (50 %, the worst) and Chợ Yên Sơn both (100 %).
MERCHANTS = [
    ("MK-TC-1", "CHO_TAM_CO", "TUYEN_QUANG", "TP-001"),
    ("MK-TC-2", "CHO_TAM_CO", "TUYEN_QUANG", "TP-001"),
    ("MK-YS-1", "CHO_YEN_SON", "YEN_SON", "YS-001"),
    ("MK-YS-2", "CHO_YEN_SON", "YEN_SON", "YS-001"),
]
PAYMENTS = [("MK-TC-1", 8_000_000), ("MK-YS-1", 2_500_000), ("MK-YS-1", 900_000), ("MK-YS-2", 600_000)]
PAYMENTS += [("MK-YS-2", 400_000)]


def market(now: datetime) -> list[Record]:
    places = {m: {"merchant_id": m, "market": k, "district": d, "commune": c} for m, k, d, c in MERCHANTS}
    out = [
        later_source("merchant.onboarded", now - timedelta(days=3), "vnpt-money", provider="vnpt_money", **p)
        for p in places.values()
    ]
    out += [
        later_source(
            "payment.completed",
            now - timedelta(minutes=i),
            "vnpt-money",
            payment_id=f"TT-{i:06d}",
            amount_vnd=amount,
            provider="vnpt_money",
            **places[merchant],
        )
        for i, (merchant, amount) in enumerate(PAYMENTS)
    ]
    return out


def community(now: datetime) -> list[Record]:
    """Three teams (15 members); two of them report four activities: 23 citizens, 7.5 hours."""
    teams = [("CT-YS-0001", 6), ("CT-YS-0002", 5), ("CT-TP-0001", 4)]
    where = {"CT-YS-0001": ("YEN_SON", "YS-001"), "CT-YS-0002": ("YEN_SON", "YS-001")}
    where["CT-TP-0001"] = ("TUYEN_QUANG", "TP-001")
    out = [
        later_source(
            "team.registered",
            now - timedelta(days=30),
            "cns-community",
            team_id=team,
            level="village",
            district=where[team][0],
            commune=where[team][1],
            members=members,
        )
        for team, members in teams
    ]
    reports = [("CT-YS-0001", 9, 3.0), ("CT-YS-0001", 6, 2.0), ("CT-YS-0002", 5, 1.5), ("CT-YS-0002", 3, 1.0)]
    out += [
        later_source(
            "activity.reported",
            now - timedelta(minutes=5 + i),
            "cns-community",
            activity_id=f"HD-{i:07d}",
            team_id=team,
            district=where[team][0],
            commune=where[team][1],
            kind="online_service_help",
            citizens_helped=helped,
            hours=hours,
        )
        for i, (team, helped, hours) in enumerate(reports)
    ]
    return out


# What must hold on any screen: the page fills it without scrolling; each area lies inside the
# areas' box, apart from the others; within a tile, label, figure and notes lie inside it and
# none is cut (a label's clamp, a figure's overflow, an ellipsis); an area's title keeps one
# line; ranking rows lie inside their list with whole names; source cards show whole names.
LAYOUT_PROBLEMS = """() => {
  const problems = [];
  const box = (n) => n.getBoundingClientRect();
  const inside = (r, b) => r.left >= b.left - 1 && r.right <= b.right + 1
    && r.top >= b.top - 1 && r.bottom <= b.bottom + 1;
  const cutX = (n) => n.scrollWidth > n.clientWidth + 1;
  const cut = (n) => cutX(n) || n.scrollHeight > n.clientHeight + 1;
  const say = (where, n, what) => problems.push(`${where}: ${n.className} ${what} (${n.textContent})`);
  const root = document.documentElement;
  if (root.scrollWidth > innerWidth || root.scrollHeight > innerHeight) problems.push('page scrolls');
  const areas = [...document.querySelectorAll('section.area')];
  const all = box(document.querySelector('#areas'));
  areas.forEach((a, i) => {
    const r = box(a);
    if (!inside(r, all)) problems.push(`${a.dataset.area}: outside the areas' box`);
    for (const b of areas.slice(i + 1)) {
      const s = box(b);
      if (r.left < s.right - 1 && s.left < r.right - 1 && r.top < s.bottom - 1 && s.top < r.bottom - 1)
        problems.push(`${a.dataset.area} overlaps ${b.dataset.area}`);
    }
    const title = a.querySelector('h2');
    if (!inside(box(title.firstElementChild), box(title))) say(a.dataset.area, title, 'cut');
    for (const part of a.querySelectorAll('.headline, .secondary, .trend, .breakdown'))
      if (!inside(box(part), r)) say(a.dataset.area, part, 'outside its area');
    const list = a.querySelector('.breakdown ol');
    for (const row of list.querySelectorAll('li')) {
      if (!inside(box(row), box(list))) say(a.dataset.area, row, 'outside its list');
      const name = row.querySelector('.name');
      if (cut(name)) say(a.dataset.area, name, 'cut');
    }
  });
  for (const tile of document.querySelectorAll('.tile')) {
    const r = box(tile);
    if (!inside(r, box(tile.closest('section.area')))) say(tile.dataset.kpi, tile, 'outside its area');
    for (const part of tile.querySelectorAll('.label, .figure, .note, .aside')) {
      const p = box(part);
      if (p.width && !inside(p, r)) say(tile.dataset.kpi, part, 'outside its tile');
    }
    for (const part of tile.querySelectorAll('.label'))
      if (cut(part)) say(tile.dataset.kpi, part, 'cut');
    // a figure's line box is shorter than its font's, so only its width can be cut
    for (const part of tile.querySelectorAll('.reading, .aside-label'))
      if (cutX(part)) say(tile.dataset.kpi, part, 'cut');
  }
  for (const card of document.querySelectorAll('#sources .source'))
    for (const part of card.querySelectorAll('.name, .age'))
      if (cut(part) || !inside(box(part), box(card))) say(card.dataset.topic, part, 'cut');
  return problems;
}"""

AREA_TITLES = {
    "vi": [
        "Hội nghị truyền hình",
        "Văn phòng điện tử",
        "Cổng dịch vụ công",
        "Chợ 4.0",
        "Tổ công nghệ số cộng đồng",
    ],
    "en": ["Video conference", "E-office", "Public-service portal", "Market 4.0", "Community digital teams"],
}


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


async def test_wall_lays_out_every_source_and_fits_both_screens(
    broker: EmbeddedBroker, database_url: str, browser: Any, tmp_path: Path
) -> None:
    """Five areas, from /api/v1/wall, each with its headline figures, in one screen whatever its
    size or language: nothing scrolls, overlaps, overflows its tile or is cut."""
    expect = playwright_api.expect
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url)
    now = datetime.now(UTC)
    await produce(
        broker.bootstrap_servers,
        heartbeats(30, now)
        + documents(5, now, overdue=2, processed=3)
        + applications(6, now)
        + market(now)
        + community(now),
    )

    with running_worker(env), running_api(env) as (_api, base):
        layout = httpx.get(base + "/api/v1/wall", timeout=5).json()
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(base + "/")
        await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=SEEN)

        # One area per source the API lists, in its order, titled in Vietnamese.
        areas = page.locator("section.area")
        await expect(areas).to_have_count(len(layout["areas"]))
        assert [a["id"] for a in layout["areas"]] == ["vc", "eoffice", "portal", "market", "community"]
        await expect(areas.locator("h2")).to_have_text(AREA_TITLES["vi"])

        # The new sources' headline figures, as they arrive.
        await expect(tile(page, "market.payments")).to_have_attribute("data-raw", "5", timeout=SEEN)
        await expect(tile(page, "market.value_vnd")).to_have_attribute("data-raw", "12400000", timeout=SEEN)
        await expect(tile(page, "market.merchants_active").locator(".of")).to_have_text("/ 4", timeout=SEEN)
        await expect(tile(page, "market.active_pct")).to_have_attribute("data-raw", "75", timeout=SEEN)
        await expect(tile(page, "community.activities")).to_have_attribute("data-raw", "4", timeout=SEEN)
        await expect(tile(page, "community.citizens_helped")).to_have_attribute(
            "data-raw", "23", timeout=SEEN
        )
        await expect(tile(page, "community.teams")).to_have_attribute("data-raw", "3", timeout=SEEN)
        await expect(tile(page, "community.hours")).to_have_attribute("data-raw", "7.5", timeout=SEEN)
        await expect(tile(page, "market.value_vnd").locator(".value")).to_have_text("12,4 tr")
        await expect(tile(page, "market.value_vnd").locator(".unit")).to_have_text("₫")
        await expect(tile(page, "market.payment_vnd_p50").locator(".unit")).to_have_text("₫")
        hours = tile(page, "community.hours")
        await expect(hours.locator(".value")).to_have_text("7,5")
        await expect(hours.locator(".unit")).to_have_text("giờ")
        label = tile(page, "community.citizens_helped").locator("[data-label]")
        await expect(label).to_have_text("Lượt người dân được hỗ trợ")
        await expect(tile(page, "market.active_pct").locator("[data-label]")).to_have_text(
            "Tỷ lệ tiểu thương hoạt động"
        )
        await expect(tile(page, "community.teams").locator(".aside")).to_contain_text("15")

        # Rankings worst first, places by their registry names.
        markets = page.locator('[data-breakdown="market.active_pct"] li')
        await expect(markets.first).to_have_attribute("data-dim", "CHO_TAM_CO", timeout=SEEN)
        await expect(markets.first.locator(".name")).to_have_text("Chợ Tam Cờ")
        await expect(markets.nth(1).locator(".name")).to_have_text("Chợ Yên Sơn")
        await expect(page.locator('[data-breakdown="community.teams_active_pct"] li').first).to_be_visible(
            timeout=SEEN
        )

        async def check(lang: str, width: int, height: int) -> None:
            await page.set_viewport_size({"width": width, "height": height})
            await page.wait_for_timeout(400)  # the page re-fits figures and rankings after a resize
            problems = await page.evaluate(LAYOUT_PROBLEMS)
            assert problems == [], f"{lang} at {width}×{height}: {problems}"
            await page.screenshot(path=str(tmp_path / f"wall-{lang}-{width}x{height}.png"))

        await check("vi", 1920, 1080)
        await check("vi", 3840, 2160)

        # English: titles, words and đồng follow; the layout still fits.
        await page.click("#lang")
        await expect(areas.locator("h2")).to_have_text(AREA_TITLES["en"])
        await expect(label).to_have_text("Citizens helped")
        await expect(tile(page, "market.value_vnd").locator(".value")).to_have_text("12.4M")
        await expect(hours.locator(".value")).to_have_text("7.5")
        await expect(hours.locator(".unit")).to_have_text("h")
        await expect(markets.first.locator(".name")).to_have_text("Tam Co Market")
        await check("en", 3840, 2160)
        await check("en", 1920, 1080)
        assert errors == []
        await page.close()
