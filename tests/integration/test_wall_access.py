"""The wall when the API needs tokens, in the real Chromium: it asks for one, keeps it for the
browser session and never in a URL, shows who is signed in, and lets an operator acknowledge
and silence an alert from its row; a viewer sees no such buttons, and a district's token sees
only its district's alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import playwright.async_api as playwright_api
import pytest

from cli.runtime.broker import EmbeddedBroker
from tests.chaos import produce
from tests.integration.test_wall import RULES, SEEN, browser, documents, tile
from tests.services import base_env, running_api, running_worker

pytestmark = pytest.mark.integration
__all__ = ["browser"]  # the fixture, shared with the wall's other browser tests

T_OPERATOR = "wall-operator-0123456789"  # made-up tokens for the test
T_VIEWER = "wall-viewer-0123456789ab"
T_DISTRICT = "wall-district-012345678"
TOKENS = orjson.dumps(
    {
        T_OPERATOR: {"name": "ha.nguyen", "role": "operator", "scope": "all"},
        T_VIEWER: {"name": "man.hinh", "role": "viewer", "scope": "all"},
        T_DISTRICT: {"name": "ys.viewer", "role": "viewer", "scope": "district:YEN_SON"},
    }
).decode()


async def sign_in(page: Any, token: str) -> None:
    dialog = page.locator("#sign-in")
    await playwright_api.expect(dialog).to_be_visible(timeout=SEEN)
    await page.fill("#sign-in-token", token)
    await page.click('#sign-in button[type="submit"]')


async def test_operators_sign_in_and_act_viewers_only_watch(
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
        IOC_API_TOKENS=TOKENS,
    )
    await produce(broker.bootstrap_servers, documents(5, datetime.now(UTC), overdue=2, processed=3))
    with running_worker(env), running_api(env) as (_api, base):
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        urls: list[str] = []
        page.on("request", lambda r: urls.append(r.url))
        page.on("websocket", lambda ws: urls.append(ws.url))
        await page.goto(base + "/")

        # a wrong token is refused and asked again; the right one opens the wall
        await sign_in(page, "not-a-token-0123456789")
        await expect(page.locator("#sign-in-error")).to_have_text(
            "Mã không hợp lệ, vui lòng nhập lại.", timeout=SEEN
        )
        await sign_in(page, T_OPERATOR)
        await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=SEEN)
        await expect(tile(page, "eoffice.received")).to_have_attribute("data-raw", "7", timeout=SEEN)
        await expect(page.locator("#user .user-name")).to_have_text("ha.nguyen")
        await expect(page.locator("#user .user-role")).to_have_text("Trực ban · toàn tỉnh")

        # acknowledge from the alert's row, with a comment: the row says who
        alert = page.locator('#alerts .alert[data-rule="WallTestOverdue"]')
        await expect(alert).to_be_visible(timeout=SEEN)
        await alert.locator('button[data-action="ack"]').click()
        await page.fill("#act-comment", "đã giao chuyên viên xử lý")
        await page.click("#act-ok")
        await expect(alert.locator(".acked")).to_have_text("đã xác nhận: ha.nguyen", timeout=SEEN)
        await expect(alert.locator('button[data-action="unack"]')).to_be_visible()

        # silence it for 4 hours: the row shows it silenced and offers no second silence
        await alert.locator('button[data-action="silence"]').click()
        await page.select_option("#act-duration", "240")
        await page.click("#act-ok")
        await expect(alert).to_have_attribute("data-silenced", "true", timeout=SEEN)
        await expect(alert.locator('button[data-action="silence"]')).to_have_count(0)
        await page.screenshot(path=str(tmp_path / "wall-operator.png"))

        # the token is never in a URL, and lives for the session only
        assert not [u for u in urls if T_OPERATOR in u]
        assert await page.evaluate("() => sessionStorage.getItem('ioc.wall.token')") == T_OPERATOR
        assert await page.evaluate("() => localStorage.getItem('ioc.wall.token')") is None
        await page.close()

        # a viewer watches: same alert, no buttons
        viewer = await browser.new_page(viewport={"width": 1920, "height": 1080})
        await viewer.goto(base + "/")
        await sign_in(viewer, T_VIEWER)
        seen = viewer.locator('#alerts .alert[data-rule="WallTestOverdue"]')
        await expect(seen.locator(".acked")).to_be_visible(timeout=SEEN)
        await expect(seen.locator("button")).to_have_count(0)
        await viewer.close()

        # a district's token: its own totals, and not the provincial department's alert
        district = await browser.new_page(viewport={"width": 1920, "height": 1080})
        await district.goto(base + "/")
        await sign_in(district, T_DISTRICT)
        await expect(district.locator("body")).to_have_attribute("data-conn", "live", timeout=SEEN)
        await expect(district.locator("#user .user-role")).to_have_text("Xem · district:YEN_SON")
        await expect(tile(district, "eoffice.received")).to_have_attribute("data-raw", "0", timeout=SEEN)
        await expect(district.locator("#alerts .alert")).to_have_count(0)
        await district.close()
