"""Names behind the codes (/api/v1/dimensions) and freshness by each source's hours, on a real API.

The API process runs against the real broker and database; nothing is mocked. Quiet hours are
made real rather than frozen: the office hours are set to an hour of the day that is not now.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from cli.runtime.broker import EmbeddedBroker
from tests.services import base_env, running_api, sample, scrape, wait_until

pytestmark = pytest.mark.integration

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def hours_away_from_now() -> str:
    """An hour of the day twelve hours from now, local time: certainly not now."""
    hour = (datetime.now(HCM).hour + 12) % 24
    return f"{hour:02d}:00-{hour + 1:02d}:00"


@pytest.fixture
def api(broker: EmbeddedBroker, database_url: str) -> Iterator[str]:
    """The API with the office hours at another hour of the day (the registry names written)."""
    env = base_env(
        IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url, IOC_OFFICE_HOURS=hours_away_from_now()
    )
    with running_api(env) as (_proc, base):
        yield base


def values(base: str, name: str) -> dict[str, dict[str, str | None]]:
    response = httpx.get(f"{base}/api/v1/dimensions/{name}", timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == name
    return {v["code"]: v for v in body["values"]}


def test_codes_have_registry_names_in_both_languages_and_parents(api: str) -> None:
    listed = httpx.get(f"{api}/api/v1/dimensions", timeout=10).json()["dimensions"]
    by_name = {d["name"]: d for d in listed}
    for name in (
        "district",
        "commune",
        "agency",
        "endpoint",
        "site_level",
        "service_level",
        "market",
        "team",
    ):
        assert name in by_name, name
    assert by_name["agency"]["label_vi"] == "theo cơ quan" and by_name["agency"]["label_en"] == "by agency"
    assert (
        "eoffice.overdue" in by_name["agency"]["kpis"] and "portal.on_time_pct" in by_name["agency"]["kpis"]
    )
    assert by_name["agency"]["areas"] == ["eoffice", "portal"]
    assert by_name["team"]["kpis"] == [] and by_name["team"]["values"] == 1871  # places, not a breakdown
    assert by_name["commune"]["values"] == 138

    districts = values(api, "district")
    assert districts["CHIEM_HOA"] == {
        "code": "CHIEM_HOA",
        "name_vi": "Huyện Chiêm Hóa",
        "name_en": "Chiem Hoa District",
        "parent": None,
    }
    assert values(api, "commune")["TP-001"]["parent"] == "TUYEN_QUANG"
    agencies = values(api, "agency")
    assert agencies["SO_TN_MT"]["name_vi"] == "Sở Tài nguyên và Môi trường"
    assert agencies["SO_TN_MT"]["name_en"] == "Department of Natural Resources and Environment"
    assert agencies["UBND_CHIEM_HOA"]["parent"] == "CHIEM_HOA"
    # The registry names sites in Vietnamese only: English is the same name without diacritics.
    site = values(api, "endpoint")["TQ-PV-000"]
    assert (site["name_vi"], site["name_en"], site["parent"]) == (
        "Điểm cầu UBND tỉnh",
        "Diem cau UBND tinh",
        "PROVINCE",
    )
    market = values(api, "market")["CHO_TAM_CO"]
    assert (market["name_vi"], market["name_en"], market["parent"]) == (
        "Chợ Tam Cờ",
        "Tam Co Market",
        "TP-001",
    )
    assert values(api, "site_level")["department"]["name_vi"] == "Sở, ngành"
    assert values(api, "service_level")["4"]["name_en"] == "Level 4"
    assert values(api, "provider")["bank_qr"]["name_vi"] == "QR ngân hàng"

    unknown = httpx.get(f"{api}/api/v1/dimensions/planet", timeout=10)
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "unknown_dimension"
    assert set(unknown.json()["allowed"]) == set(by_name)


def test_a_source_in_its_quiet_hours_is_not_stale_and_one_expected_now_is(api: str) -> None:
    def sources() -> dict[str, dict[str, object]] | None:
        response = httpx.get(f"{api}/api/v1/sources", timeout=10)
        return {s["topic"]: s for s in response.json()["sources"]} if response.status_code == 200 else None

    topics = wait_until(sources, timeout=15, what="the first snapshot")
    assert isinstance(topics, dict)
    # No event has ever arrived. The e-office is expected in office hours only, and those are
    # set to another hour of the day: it is quiet, not stale. Heartbeats are expected at all hours.
    eoffice = topics["ioc.eoffice.documents"]
    assert eoffice["newest_event_at"] is None
    assert (eoffice["active"], eoffice["stale"], eoffice["expected_every_s"]) == (False, False, 900)
    telemetry = topics["ioc.vc.telemetry"]
    assert (telemetry["active"], telemetry["stale"], telemetry["expected_every_s"]) == (True, True, 10)

    # Prometheus says the same, for alerting rules.
    samples = scrape(f"{api}/metrics")
    assert sample(samples, "ioc_source_stale", topic="ioc.eoffice.documents") == 0
    assert sample(samples, "ioc_source_active", topic="ioc.eoffice.documents") == 0
    assert sample(samples, "ioc_source_stale", topic="ioc.vc.telemetry") == 1
    assert sample(samples, "ioc_source_active", topic="ioc.vc.telemetry") == 1

    ready = httpx.get(f"{api}/readyz", timeout=10).json()
    assert ready["ready"] is True and ready["snapshot_as_of"] is not None


async def test_grafana_reads_the_same_names_from_the_database(api: str, database_url: str) -> None:
    """The API writes the registry's names at start; panels name places with ioc_name()."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT dimension, count(*) AS n FROM dimension_names GROUP BY 1")
        counts = {r["dimension"]: r["n"] for r in rows}
        assert counts["commune"] == 138 and counts["team"] == 1871 and counts["site_level"] == 4
        named = await conn.fetchrow(
            "SELECT ioc_name('agency', 'SO_TAI_CHINH') AS agency, ioc_name('district', 'CHIEM_HOA') AS"
            " district, ioc_name('district', 'unknown') AS unknown, ioc_name(NULL, NULL) AS total"
        )
        assert named is not None and dict(named) == {
            "agency": "Sở Tài chính",
            "district": "Huyện Chiêm Hóa",
            "unknown": "unknown",
            "total": None,
        }
        row = await conn.fetchrow(
            "SELECT * FROM dimension_names WHERE dimension = 'agency' AND code = 'UBND_CHIEM_HOA'"
        )
        assert row is not None and (row["name_en"], row["parent"]) == (
            "Chiem Hoa District People's Committee",
            "CHIEM_HOA",
        )
        # The state history beside its names, as the view gives it to Grafana.
        await conn.execute(
            "INSERT INTO kpi_state_minute (bucket, metric, dimension, value_key, value)"
            " VALUES ($1, 'eoffice.backlog', 'agency', 'SO_TN_MT', 4)",
            datetime(2026, 3, 4, 3, 0, tzinfo=UTC),
        )
        history = await conn.fetchrow("SELECT * FROM kpi_state_history_named WHERE kpi = 'eoffice.backlog'")
        assert history is not None
        assert (history["breakdown_name_vi"], history["breakdown_name_en"], history["value"]) == (
            "Sở Tài nguyên và Môi trường",
            "Department of Natural Resources and Environment",
            4,
        )
    finally:
        await conn.close()
