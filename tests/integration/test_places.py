"""A place's view (/api/v1/places/{dimension}/{code}) on a real API, broker and database: its
totals are the place's breakdown values, its rankings go one level down and stay inside it, and
a token scoped to one district gets a 403 for another and a 404 for a place that does not exist."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from cli.runtime.broker import EmbeddedBroker
from tests.chaos import produce
from tests.integration.test_wall import SEEN, Record, applications, heartbeats, record
from tests.services import base_env, running_api, running_worker, wait_until

pytestmark = pytest.mark.integration

T_ALL = "places-admin-0123456789"  # made-up tokens for the test
T_YEN_SON = "places-district-012345"
TOKENS = orjson.dumps(
    {
        T_ALL: {"name": "admin", "role": "admin", "scope": "all"},
        T_YEN_SON: {"name": "ys.viewer", "role": "viewer", "scope": "district:YEN_SON"},
    }
).decode()


def overdue(now: datetime) -> list[Record]:
    """Two of Yên Sơn's documents overdue (by 30 and 60 minutes) and one not yet due, one of its
    applications overdue, and one overdue application of Hàm Yên that Yên Sơn must never see
    (all well within the grace period: older would be dead-lettered as late)."""
    docs = [
        record(
            "document.received",
            occurred_at=now - timedelta(minutes=90),
            due_at=now - timedelta(minutes=m),
            agency="UBND_YEN_SON",
            document_id=f"VB-YS-{m}",
        )
        for m in (30, 60, -60)
    ]
    apps = [
        record(
            "application.submitted",
            occurred_at=now - timedelta(minutes=90),
            due_at=now - timedelta(minutes=45),
            agency=agency,
            district=district,
            application_id=f"HS-{district}",
        )
        for agency, district in (("UBND_YEN_SON", "YEN_SON"), ("UBND_HAM_YEN", "HAM_YEN"))
    ]
    return docs + apps


def meetings(now: datetime) -> list[Record]:
    """Three meetings: one in progress across two districts, whose Yên Sơn site TQ-YS-002 and
    Hàm Yên site TQ-HY-001 have never spoken (TQ-YS-001 and TQ-HY-002 send heartbeats); one in
    progress with its one site speaking; one that has ended, its site silent."""
    planned = {
        "HOP-1": ["TQ-YS-001", "TQ-YS-002", "TQ-HY-001", "TQ-HY-002"],
        "HOP-2": ["TQ-YS-001"],
        "HOP-3": ["TQ-YS-003"],
    }
    out = [
        record(
            "vc.meeting.started",
            occurred_at=now - timedelta(minutes=minutes),
            meeting_id=meeting,
            title=f"Giao ban trực tuyến {meeting}",
            organiser="SO_TTTT",
            planned_endpoints=planned[meeting],
        )
        for meeting, minutes in (("HOP-1", 10), ("HOP-2", 20), ("HOP-3", 30))
    ]
    return [*out, record("vc.meeting.ended", occurred_at=now - timedelta(minutes=5), meeting_id="HOP-3")]


def get(base: str, path: str, token: str = T_ALL) -> httpx.Response:
    return httpx.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)


@pytest.fixture
async def api(broker: EmbeddedBroker, database_url: str) -> AsyncIterator[str]:
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url, IOC_API_TOKENS=TOKENS)
    now = datetime.now(UTC)
    await produce(
        broker.bootstrap_servers, heartbeats(30, now) + applications(6, now) + overdue(now) + meetings(now)
    )
    with running_worker(env), running_api(env) as (_api, base):
        wait_until(
            lambda: (
                get(base, "/api/v1/kpis/vc.endpoints_online?by=district").json()["values"].get("YEN_SON")
                and get(base, "/api/v1/kpis").json()["kpis"]["portal.overdue"] == 2
                and get(base, "/api/v1/kpis").json()["kpis"]["eoffice.overdue"] == 2
            ),
            timeout=3 * SEEN / 1000,  # a loaded machine's worker may take a while to join its group
            what="heartbeats, documents and applications to be counted",
        )
        yield base


def test_a_place_is_its_breakdown_values_and_its_ranking_one_level_down(api: str) -> None:
    body = get(api, "/api/v1/places/district/YEN_SON?window=1h").json()
    assert (body["dimension"], body["code"], body["name_vi"]) == ("district", "YEN_SON", "Huyện Yên Sơn")
    assert body["path"] == []
    by_district = get(api, "/api/v1/kpis/vc.endpoints_online?by=district").json()["values"]
    assert body["kpis"]["vc.endpoints_online"] == by_district["YEN_SON"] == 1
    vc = body["rankings"]["vc"]
    assert (vc["kpi"], vc["by"]) == ("vc.availability_pct", "commune")
    assert vc["values"]["YS-001"] is not None
    assert all(code.startswith("YS-") for code in vc["values"])  # its communes only: never HY-002
    assert body["rankings"]["eoffice"]["by"] == "agency"
    assert set(body["rankings"]["portal"]["values"]) <= {"UBND_YEN_SON"}

    commune = get(api, "/api/v1/places/commune/YS-001").json()
    assert commune["kpis"]["vc.endpoints_online"] == 1
    assert [(p["dimension"], p["code"], p["name_vi"]) for p in commune["path"]] == [
        ("district", "YEN_SON", "Huyện Yên Sơn")
    ]
    market = get(api, "/api/v1/places/market/CHO_TAM_CO").json()
    assert [p["dimension"] for p in market["path"]] == ["district", "commune"]


def test_unknown_places_are_404_and_other_districts_403(api: str) -> None:
    for path, error in (
        ("/api/v1/places/province/X", "unknown_place_kind"),
        ("/api/v1/places/district/NOWHERE", "unknown_place"),
    ):
        response = get(api, path)
        assert response.status_code == 404, response.text
        assert response.json()["error"] == error
    assert "market" in get(api, "/api/v1/places/province/X").json()["allowed"]

    # A district's token opens its district and what lies in it, never its neighbour.
    assert get(api, "/api/v1/places/district/YEN_SON", T_YEN_SON).status_code == 200
    assert get(api, "/api/v1/places/commune/YS-001", T_YEN_SON).status_code == 200
    for path in ("/api/v1/places/district/HAM_YEN", "/api/v1/places/commune/HY-002"):
        refused = get(api, path, T_YEN_SON)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "forbidden"
        assert refused.json()["allowed"] == ["district:YEN_SON"]
    assert get(api, "/api/v1/places/district/YEN_SON", "not-a-token-at-all-xx").status_code == 401


def test_the_lists_behind_a_place_stay_inside_it(api: str) -> None:
    body = get(api, "/api/v1/places/district/YEN_SON/lists?limit=5").json()
    assert [d["id"] for d in body["overdue_documents"]] == ["VB-YS-60", "VB-YS-30"]  # most overdue first
    assert body["overdue_documents_total"] == 2
    assert 3500 < body["overdue_documents"][0]["overdue_s"] < 3700
    assert [a["id"] for a in body["overdue_applications"]] == ["HS-YEN_SON"]
    offline = body["offline_sites"]
    assert len(offline) == 5 and body["offline_sites_total"] > 5  # the district's silent sites
    assert all(s["district"] == "YEN_SON" for s in offline)
    assert "TQ-YS-001" not in {s["endpoint_id"] for s in offline}  # it is speaking
    commune = get(api, "/api/v1/places/commune/YS-001/lists").json()
    assert commune["overdue_documents"] == [] and all(
        s["commune"] == "YS-001" for s in commune["offline_sites"]
    )

    scoped = get(api, "/api/v1/places/district/YEN_SON/lists", T_YEN_SON).json()
    assert [a["id"] for a in scoped["overdue_applications"]] == ["HS-YEN_SON"]
    refused = get(api, "/api/v1/places/district/HAM_YEN/lists", T_YEN_SON)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    ham_yen = get(api, "/api/v1/places/district/HAM_YEN/lists").json()
    assert [a["id"] for a in ham_yen["overdue_applications"]] == ["HS-HAM_YEN"]
    assert get(api, "/api/v1/places/district/NOWHERE/lists").status_code == 404


def test_meetings_missing_sites_name_them_inside_the_place(api: str) -> None:
    """A meeting in progress is listed under a place while one of its planned sites there is not
    online, naming only that place's sites; the sites it lists are those the KPI counts."""
    wait_until(  # the meetings topic's consumer may join its group after the others
        lambda: get(api, "/api/v1/kpis").json()["kpis"]["vc.meetings_active"] == 2,
        timeout=60,
        what="the meetings to be counted",
    )
    body = get(api, "/api/v1/places/district/YEN_SON/lists").json()
    listed = body["meetings_missing_endpoints"]
    assert [m["meeting_id"] for m in listed][:1] == ["HOP-1"]  # HOP-3 has ended
    first = listed[0]
    assert first["title"] == "Giao ban trực tuyến HOP-1"
    assert first["planned_endpoints"] == 2  # its two Yên Sơn sites, never Hàm Yên's
    missing = [e["endpoint_id"] for e in first["endpoints_offline"]]
    assert "TQ-YS-002" in missing and all(e.startswith("TQ-YS-") for e in missing)
    never = next(e for e in first["endpoints_offline"] if e["endpoint_id"] == "TQ-YS-002")
    assert never["last_seen"] is None and never["commune"] == "YS-002"
    assert first["organiser"] is None  # the province's department lies outside the district
    assert body["meetings_missing_endpoints_total"] == len(listed)
    place = get(api, "/api/v1/places/district/YEN_SON").json()
    distinct = {e["endpoint_id"] for m in listed for e in m["endpoints_offline"]}
    assert len(distinct) == place["kpis"]["vc.meeting_endpoints_offline"]

    scoped = get(api, "/api/v1/places/district/YEN_SON/lists", T_YEN_SON).json()
    assert scoped["meetings_missing_endpoints"] == listed
    assert "HY-" not in str(scoped["meetings_missing_endpoints"])
    ham_yen = get(api, "/api/v1/places/district/HAM_YEN/lists").json()["meetings_missing_endpoints"]
    assert [m["meeting_id"] for m in ham_yen][:1] == ["HOP-1"]
    assert "TQ-HY-001" in [e["endpoint_id"] for e in ham_yen[0]["endpoints_offline"]]
    assert "TQ-YS-002" not in str(ham_yen)
    commune = get(api, "/api/v1/places/commune/YS-003/lists").json()  # only the ended meeting's site
    assert commune["meetings_missing_endpoints"] == [] and commune["meetings_missing_endpoints_total"] == 0


def test_a_places_series_is_its_breakdown_values_over_time(api: str) -> None:
    """/api/v1/series takes a place as /api/v1/comparisons does: the district's line is its
    value in the by-district series; another district's is a 403 for a district's token."""
    step = "step=5m"
    whole = get(api, f"/api/v1/series/vc.heartbeats?by=district&{step}").json()["series"]
    mine = get(api, f"/api/v1/series/vc.heartbeats?dimension=district&code=YEN_SON&{step}").json()
    assert mine["points"] == whole["YEN_SON"] and sum(p["value"] or 0 for p in mine["points"]) == 10
    ham_yen = get(api, f"/api/v1/series/vc.heartbeats?dimension=district&code=HAM_YEN&{step}").json()
    assert ham_yen["points"] == whole["HAM_YEN"]
    silent = get(api, f"/api/v1/series/vc.heartbeats?dimension=district&code=LAM_BINH&{step}").json()
    assert silent["points"] == whole["LAM_BINH"] and sum(p["value"] or 0 for p in silent["points"]) == 0
    commune = get(api, "/api/v1/series/vc.availability_pct?dimension=commune&code=YS-001&by=commune&step=1h")
    assert list(commune.json()["series"]) == ["YS-001"]  # a breakdown inside the place only
    scoped = get(api, f"/api/v1/series/vc.heartbeats?dimension=district&code=YEN_SON&{step}", T_YEN_SON)
    assert scoped.json()["points"] == mine["points"]
    refused = get(api, f"/api/v1/series/vc.heartbeats?dimension=district&code=HAM_YEN&{step}", T_YEN_SON)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert get(api, "/api/v1/series/vc.heartbeats?dimension=district").status_code == 400
    assert get(api, "/api/v1/series/vc.heartbeats?dimension=district&code=NOWHERE").status_code == 404
