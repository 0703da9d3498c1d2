"""The KPI oracle, checked against numbers worked out by hand from contract/KPIS.md.

The pipeline is judged by the oracle, so the oracle is judged here: every KPI on small,
fixed scenarios whose expected values are derived in the comments, plus the corners the
contract names (window edges, duplicates, out-of-order entity events, null ratios,
breakdowns that add up) and a few properties over random event lists.

Times: ``NOW`` is 10:00:00 ICT on the factories' Monday; ``T`` (the ``as_of`` of most tests)
is 30 s later, so floor_minute(T) = NOW and the 1-hour window holds the buckets
09:00 .. 10:00 (61 buckets: 60 complete minutes plus the current one).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ioc.registry import load_registry
from schemas.kpis import UNKNOWN, WINDOWS, Kind
from sources import BY_NAME, CATALOG
from tests.factories import ICT, valid_event
from tests.oracle import (
    OracleConfig,
    RegistryLike,
    all_kpis,
    floor_minute,
    kpi,
    nearest_rank,
    parse_time,
    range_kpi,
    state_kpi,
    window_kpi,
)

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=ICT)
T = NOW + timedelta(seconds=30)


def at(minutes: float = 0, seconds: float = 0) -> datetime:
    """``NOW`` shifted by minutes and seconds (negative: earlier)."""
    return NOW + timedelta(minutes=minutes, seconds=seconds)


@dataclass(frozen=True)
class FakeSite:
    endpoint_id: str
    site_level: str
    district: str
    commune: str | None = None


@dataclass(frozen=True)
class FakeCommune:
    code: str
    district: str


@dataclass(frozen=True)
class FakePlace:
    code: str


@dataclass(frozen=True)
class FakeRegistry:
    """The least a registry must offer; the real one is exercised in its own test below."""

    sites: tuple[FakeSite, ...] = ()
    district_codes: tuple[str, ...] = ()
    communes: tuple[FakeCommune, ...] = ()
    agency_codes: tuple[str, ...] = ()
    service_levels: tuple[int, ...] = ()
    places: Mapping[str, tuple[FakePlace, ...]] = field(default_factory=dict)

    @property
    def commune_codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.communes)


REGISTRY = FakeRegistry(
    sites=(FakeSite("A", "commune", "YEN_SON", "YS-001"), FakeSite("B", "district", "HAM_YEN")),
    district_codes=("PROVINCE", "YEN_SON", "HAM_YEN"),
    communes=(FakeCommune("YS-001", "YEN_SON"), FakeCommune("YS-002", "YEN_SON")),  # none in HAM_YEN
    agency_codes=("SO_TTTT", "UBND_YEN_SON"),
    service_levels=(2, 3, 4),
    places={"market": (FakePlace("CHO_YEN_SON"), FakePlace("CHO_LANG_QUAN"))},
)
WITH_REGISTRY = OracleConfig(registry=REGISTRY)


def hb(endpoint: str, when: datetime, **fields: Any) -> dict[str, Any]:
    """A heartbeat of ``endpoint`` (default dimensions: a YEN_SON commune site)."""
    fields = {"district": "YEN_SON", "site_level": "commune", **fields}
    return valid_event("vc.heartbeat", endpoint_id=endpoint, occurred_at=when, **fields)


def status(endpoint: str, when: datetime, state: str, **fields: Any) -> dict[str, Any]:
    fields = {"district": "YEN_SON", "site_level": "commune", **fields}
    return valid_event("vc.status", endpoint_id=endpoint, occurred_at=when, status=state, **fields)


def started(meeting: str, when: datetime, planned: list[str]) -> dict[str, Any]:
    return valid_event("vc.meeting.started", meeting_id=meeting, occurred_at=when, planned_endpoints=planned)


def ended(meeting: str, when: datetime) -> dict[str, Any]:
    return valid_event("vc.meeting.ended", meeting_id=meeting, occurred_at=when)


def received(doc: str, when: datetime, due: datetime, agency: str = "SO_TTTT") -> dict[str, Any]:
    return valid_event("document.received", document_id=doc, occurred_at=when, due_at=due, agency=agency)


def processed(
    doc: str,
    when: datetime,
    *,
    received_at: datetime,
    due: datetime,
    signed: bool = True,
    agency: str = "SO_TTTT",
) -> dict[str, Any]:
    return valid_event(
        "document.processed",
        document_id=doc,
        occurred_at=when,
        received_at=received_at,
        due_at=due,
        digitally_signed=signed,
        agency=agency,
    )


def submitted(app: str, when: datetime, **fields: Any) -> dict[str, Any]:
    return valid_event("application.submitted", application_id=app, occurred_at=when, **fields)


def resolved(app: str, when: datetime, **fields: Any) -> dict[str, Any]:
    return valid_event("application.resolved", application_id=app, occurred_at=when, **fields)


def paid(app: str, when: datetime, amount: int = 50_000, method: str = "cashless") -> dict[str, Any]:
    return valid_event(
        "application.paid", application_id=app, occurred_at=when, amount_vnd=amount, method=method
    )


def rated(app: str, when: datetime, score: int) -> dict[str, Any]:
    return valid_event("application.rated", application_id=app, occurred_at=when, score=score)


# --- primitives ----------------------------------------------------------------------------


def test_parse_time_accepts_every_rfc3339_spelling() -> None:
    expected = datetime(2025, 3, 3, 2, 30, tzinfo=UTC)
    for text in (
        "2025-03-03T09:30:00+07:00",
        "2025-03-03t02:30:00z",
        "2025-03-03 02:30:00Z",
        "2025-03-03T02:30:00.000000000+00:00",
        "2025-03-02T21:30:00-05:00",
    ):
        assert parse_time(text) == expected, text
    assert parse_time("2025-03-03T02:30:00.1234567Z").microsecond == 123456
    with pytest.raises(ValueError):
        parse_time("2025-03-03T02:30:00")  # no offset


def test_floor_minute_is_the_utc_minute() -> None:
    assert floor_minute(datetime(2025, 3, 3, 9, 59, 59, 999999, tzinfo=ICT)) == datetime(
        2025, 3, 3, 2, 59, tzinfo=UTC
    )
    with pytest.raises(ValueError):
        floor_minute(datetime(2025, 3, 3, 9, 59))


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        # The textbook example: 15 20 35 40 50.
        ([15, 20, 35, 40, 50], 5, 15),  # ceil(0.25) = 1st
        ([15, 20, 35, 40, 50], 30, 20),  # ceil(1.5) = 2nd
        ([15, 20, 35, 40, 50], 40, 20),  # ceil(2.0) = 2nd, exactly
        ([15, 20, 35, 40, 50], 50, 35),  # ceil(2.5) = 3rd
        ([15, 20, 35, 40, 50], 100, 50),
        ([50, 15, 40, 20, 35], 50, 35),  # order of input does not matter
        ([3, 1, 4, 2], 50, 2),  # even count: ceil(2.0) = 2nd, the lower middle, no interpolation
        (list(range(1, 21)), 95, 19),  # ceil(19.0) = 19th: no float rounding up to the 20th
        (list(range(1, 22)), 95, 20),  # ceil(19.95) = 20th
        (list(range(1, 101)), 95, 95),  # ceil(95.0)
        ([7.5], 95, 7.5),
        ([7.5], 50, 7.5),
    ],
)
def test_nearest_rank_on_known_lists(values: list[float], percent: int, expected: float) -> None:
    assert nearest_rank(values, percent) == expected


def test_nearest_rank_of_nothing_is_none() -> None:
    assert nearest_rank([], 50) is None


def test_the_real_registry_fits_the_oracle() -> None:
    registry: RegistryLike = load_registry()
    config = OracleConfig(registry=registry)
    totals = all_kpis([], as_of=T, config=config)
    assert totals["vc.endpoints_known"] == len(registry.sites)
    assert totals["vc.availability_pct"] == 0.0  # known endpoints, none heard from
    by_level = window_kpi([], "portal.submitted", as_of=T, by="service_level", config=config)
    assert by_level == {"2": 0, "3": 0, "4": 0}
    by_district = state_kpi([], "vc.endpoints_known", as_of=T, by="district", config=config)
    assert isinstance(by_district, dict)
    assert set(by_district) == set(registry.district_codes)
    assert sum(v or 0 for v in by_district.values()) == len(registry.sites)


# --- windows -------------------------------------------------------------------------------


def test_window_edges_for_one_hour() -> None:
    events = [
        hb("A", at(-60)),  # 09:00:00: the bucket floor(T) - 1h: in
        hb("A", at(-60, -1)),  # 08:59:59: the bucket before: out
        hb("A", at(-30)),  # middle: in
        hb("A", at(0, 59.999)),  # 10:00:59.999: the current minute: in
        hb("A", at(1)),  # 10:01:00: after the current minute: out
    ]
    assert window_kpi(events, "vc.heartbeats", as_of=T) == 3


@pytest.mark.parametrize("window", sorted(WINDOWS))
def test_window_edges_for_every_window(window: str) -> None:
    minutes = WINDOWS[window]
    events = [
        hb("A", at(-minutes)),  # first bucket: in
        hb("A", at(-minutes, 59)),  # still the first bucket: in
        hb("A", at(-minutes, -1)),  # a second earlier: out
        hb("A", at(0, 1)),  # current minute: in
    ]
    assert window_kpi(events, "vc.heartbeats", as_of=T, window=window) == 3


def test_as_of_on_a_minute_boundary_and_other_offsets() -> None:
    # as_of exactly 10:00:00 ICT = 03:00:00 UTC: the current bucket is 10:00.
    events = [hb("A", at(-5)), hb("A", at(-5, -1)), hb("A", at(0))]
    assert window_kpi(events, "vc.heartbeats", as_of=NOW.astimezone(UTC), window="5m") == 2
    # The same events written in UTC change nothing.
    for event in events:
        event["occurred_at"] = parse_time(event["occurred_at"]).isoformat()
    assert window_kpi(events, "vc.heartbeats", as_of=NOW, window="5m") == 2


def test_unknown_window_and_naive_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="window"):
        window_kpi([], "vc.heartbeats", as_of=T, window="2h")
    with pytest.raises(ValueError, match="naive"):
        window_kpi([], "vc.heartbeats", as_of=datetime(2025, 3, 3, 10))


# --- duplicates ----------------------------------------------------------------------------


def test_a_duplicate_changes_nothing_and_the_first_wins() -> None:
    first = hb("A", at(-1), rtt_ms=10.0)
    again = {**first, "rtt_ms": 999.0}  # same event_id, different content
    assert window_kpi([first, again], "vc.heartbeats", as_of=T) == 1
    assert window_kpi([first, again], "vc.rtt_ms_p95", as_of=T) == 10.0


def test_a_duplicate_ended_or_processed_is_the_same_event() -> None:
    doc = received("VB-1", at(-10), due=at(600))
    done = processed("VB-1", at(-5), received_at=at(-10), due=at(600))
    events = [doc, done, done, doc]
    assert window_kpi(events, "eoffice.received", as_of=T) == 1
    assert window_kpi(events, "eoffice.processed", as_of=T) == 1
    assert state_kpi(events, "eoffice.backlog", as_of=T) == 0


def test_a_duplicate_id_is_a_duplicate_across_types() -> None:
    beat = hb("A", at(-1))
    doc = received("VB-1", at(-1), due=at(60))
    doc["event_id"] = beat["event_id"]
    assert window_kpi([beat, doc], "eoffice.received", as_of=T) == 0


def test_distinct_events_with_the_same_content_both_count() -> None:
    """Counts count events (choice 13): two processed of one document are two."""
    one = processed("VB-1", at(-5), received_at=at(-65), due=at(600))
    two = {**one, "event_id": "another"}
    assert window_kpi([one, two], "eoffice.processed", as_of=T) == 2


# --- video conference: windowed ------------------------------------------------------------


def test_vc_heartbeats_by_district_and_site_level() -> None:
    events = [
        hb("A", at(-1)),
        hb("A", at(-2)),
        hb("C", at(-3), district="NA_HANG", site_level="province"),
        status("B", at(-1), "online", district="HAM_YEN", site_level="district"),  # not a heartbeat
    ]
    assert window_kpi(events, "vc.heartbeats", as_of=T) == 3
    # Registry districts PROVINCE, YEN_SON, HAM_YEN plus the seen NA_HANG.
    assert window_kpi(events, "vc.heartbeats", as_of=T, by="district", config=WITH_REGISTRY) == {
        "HAM_YEN": 0,
        "NA_HANG": 1,
        "PROVINCE": 0,
        "YEN_SON": 2,
    }
    # Registry site levels (commune, district) plus the seen province.
    assert window_kpi(events, "vc.heartbeats", as_of=T, by="site_level", config=WITH_REGISTRY) == {
        "commune": 2,
        "district": 0,
        "province": 1,
    }


def test_vc_quality_averages_and_p95() -> None:
    events = [
        hb("A", at(-1), rtt_ms=30.0, jitter_ms=1.0, packet_loss_pct=0.0),
        hb("A", at(-2), rtt_ms=10.0, jitter_ms=2.0, packet_loss_pct=0.5),
        hb("C", at(-3), rtt_ms=20.0, jitter_ms=6.0, packet_loss_pct=1.0, district="NA_HANG"),
        hb("A", at(-61), rtt_ms=1000.0, jitter_ms=1000.0, packet_loss_pct=100.0),  # outside 1h
    ]
    # rtt sorted 10 20 30: p95 = ceil(2.85) = 3rd = 30. jitter (1+2+6)/3 = 3. loss 1.5/3 = 0.5.
    assert window_kpi(events, "vc.rtt_ms_p95", as_of=T) == 30.0
    assert window_kpi(events, "vc.jitter_ms_avg", as_of=T) == 3.0
    assert window_kpi(events, "vc.packet_loss_pct_avg", as_of=T) == 0.5
    # YEN_SON: rtt 10 30 -> ceil(1.9) = 2nd = 30; jitter 1.5; loss 0.25. HAM_YEN: no heartbeats.
    assert window_kpi(events, "vc.rtt_ms_p95", as_of=T, by="district", config=WITH_REGISTRY) == {
        "HAM_YEN": None,
        "NA_HANG": 20.0,
        "PROVINCE": None,
        "YEN_SON": 30.0,
    }
    jitter = window_kpi(events, "vc.jitter_ms_avg", as_of=T, by="district", config=WITH_REGISTRY)
    assert jitter == {"HAM_YEN": None, "NA_HANG": 6.0, "PROVINCE": None, "YEN_SON": 1.5}
    loss = window_kpi(events, "vc.packet_loss_pct_avg", as_of=T, by="site_level")
    assert loss == {"commune": 0.5}  # no registry: only the seen level; all three are commune


def test_vc_p95_of_twenty_heartbeats_is_the_nineteenth() -> None:
    events = [hb("A", at(-i), rtt_ms=float(i)) for i in range(1, 21)]  # rtt 1..20
    assert window_kpi(events, "vc.rtt_ms_p95", as_of=T) == 19.0


def test_vc_ratios_over_no_heartbeats_are_none() -> None:
    events = [status("A", at(-1), "online")]
    for name in ("vc.rtt_ms_p95", "vc.jitter_ms_avg", "vc.packet_loss_pct_avg"):
        assert window_kpi(events, name, as_of=T) is None
        assert window_kpi(events, name, as_of=T, by="district") == {"YEN_SON": None}
    # Availability has a known endpoint (A) but no heartbeat: 0 %, not None.
    assert window_kpi(events, "vc.availability_pct", as_of=T) == 0.0
    assert window_kpi([], "vc.availability_pct", as_of=T) is None  # no endpoint known at all
    assert window_kpi([], "vc.heartbeats", as_of=T) == 0


def test_vc_availability_by_hand() -> None:
    # Known: registry A (YEN_SON, commune), B (HAM_YEN, district) and the seen C (NA_HANG, province): 3.
    # 5m window at 10:00:30: complete minutes 09:55, 09:56, 09:57, 09:58, 09:59.
    events = [
        hb("A", at(-5, 10)),  # 09:55
        hb("A", at(-5, 40)),  # 09:55 again: same endpoint-minute
        hb("A", at(-4)),  # 09:56
        hb("A", at(-5, -1)),  # 09:54:59: before the window
        hb("A", at(0, 10)),  # 10:00:10: the current, incomplete minute: not counted
        hb("C", at(-1, 59), district="NA_HANG", site_level="province"),  # 09:59
        status("B", at(-3), "online", district="HAM_YEN", site_level="district"),  # no heartbeat
    ]
    # 3 endpoint-minutes / (3 endpoints x 5 minutes) = 20 %.
    assert window_kpi(events, "vc.availability_pct", as_of=T, window="5m", config=WITH_REGISTRY) == 20.0
    # Per district: YEN_SON 2 / (1 x 5) = 40; HAM_YEN 0 / 5 = 0; NA_HANG 1 / 5 = 20; PROVINCE no endpoint.
    by_district = window_kpi(
        events, "vc.availability_pct", as_of=T, window="5m", by="district", config=WITH_REGISTRY
    )
    assert by_district == {"HAM_YEN": 0.0, "NA_HANG": 20.0, "PROVINCE": None, "YEN_SON": 40.0}
    by_level = window_kpi(
        events, "vc.availability_pct", as_of=T, window="5m", by="site_level", config=WITH_REGISTRY
    )
    assert by_level == {"commune": 40.0, "district": 0.0, "province": 20.0}
    # Without the registry B is still known (its status names it): the same 20 %.
    assert window_kpi(events, "vc.availability_pct", as_of=T, window="5m") == 20.0
    # Without B's status and without the registry only A and C are known: 3 / (2 x 5) = 30 %.
    assert window_kpi(events[:-1], "vc.availability_pct", as_of=T, window="5m") == 30.0
    assert window_kpi(events[:-1], "vc.availability_pct", as_of=T, window="5m", config=WITH_REGISTRY) == 20.0


def test_vc_availability_counts_the_first_bucket_not_the_current_one() -> None:
    # 1h at 10:00:30: minutes 09:00 .. 09:59 (60). One endpoint with a heartbeat in each.
    events = [hb("A", at(-m)) for m in range(1, 61)] + [hb("A", at(0, 5)), hb("A", at(-61))]
    assert window_kpi(events, "vc.availability_pct", as_of=T) == 100.0
    # Without 09:00 (the first complete minute): 59 / 60.
    fewer = [hb("A", at(-m)) for m in range(1, 60)]
    assert window_kpi(fewer, "vc.availability_pct", as_of=T) == pytest.approx(100 * 59 / 60)


# --- video conference: state ---------------------------------------------------------------


def test_vc_endpoints_known() -> None:
    events = [
        hb("A", at(-1), district="HAM_YEN"),  # registered in YEN_SON, now says HAM_YEN: latest wins
        status("C", at(-90), "offline", district="NA_HANG", site_level="province"),
        hb("C", at(-120), district="NA_HANG", site_level="province"),
        started("M1", at(-10), ["A", "D"]),  # D is planned, never seen: not known
    ]
    assert state_kpi(events, "vc.endpoints_known", as_of=T) == 2  # A, C
    assert state_kpi(events, "vc.endpoints_known", as_of=T, config=WITH_REGISTRY) == 3  # A, B, C
    assert state_kpi(events, "vc.endpoints_known", as_of=T, by="district", config=WITH_REGISTRY) == {
        "HAM_YEN": 2,  # A (by its latest event) and B (registry)
        "NA_HANG": 1,
        "PROVINCE": 0,
        "YEN_SON": 0,
        UNKNOWN: 0,  # D: planned, unregistered, never seen
    }
    assert state_kpi(events, "vc.endpoints_known", as_of=T, by="endpoint", config=WITH_REGISTRY) == {
        "A": 1,
        "B": 1,
        "C": 1,
        "D": 0,
    }


def test_vc_endpoints_online() -> None:
    # as_of 10:00:30, offline_after 60 s.
    events = [
        hb("A", at(-1, 30)),  # 09:59:30: exactly 60 s old: online ("at most")
        hb("B", at(-1, 29)),  # 09:59:29: 61 s old: offline
        status("C", at(0), "degraded"),  # degraded is not offline: online
        hb("D", at(0, 10)),
        status("D", at(0, 20), "offline"),  # latest is offline: offline
        status("E", at(0), "offline"),
        hb("E", at(0, 10)),  # latest by event time is the heartbeat, whatever the order: online
        hb("F", at(2)),  # ahead of as_of (within the future tolerance): fresh: online
        status("G", at(-10), "online"),  # too old: offline
        status("H", at(0), "online"),  # online status counts like a heartbeat
    ]
    events.insert(0, events.pop(6))  # E's heartbeat arrives before its older status
    assert state_kpi(events, "vc.endpoints_online", as_of=T) == 5  # A C E F H
    by_endpoint = state_kpi(events, "vc.endpoints_online", as_of=T, by="endpoint", config=WITH_REGISTRY)
    assert by_endpoint == {
        "A": 1,
        "B": 0,
        "C": 1,
        "D": 0,
        "E": 1,
        "F": 1,
        "G": 0,
        "H": 1,
    }
    # offline_after is a setting.
    lenient = OracleConfig(offline_after=timedelta(minutes=15))
    assert state_kpi(events, "vc.endpoints_online", as_of=T, config=lenient) == 7  # + B and G


def test_vc_online_ties_go_to_the_later_arrival() -> None:
    beat, down = hb("A", at(0)), status("A", at(0), "offline")
    assert state_kpi([beat, down], "vc.endpoints_online", as_of=T) == 0
    assert state_kpi([down, beat], "vc.endpoints_online", as_of=T) == 1


def test_vc_endpoints_online_by_district_uses_the_latest_dimensions() -> None:
    events = [
        hb("A", at(-0.5), district="HAM_YEN", site_level="district"),
        hb("A", at(-10), district="YEN_SON", site_level="commune"),  # older: ignored for dimensions
    ]
    assert state_kpi(events, "vc.endpoints_online", as_of=T, by="district") == {"HAM_YEN": 1, "YEN_SON": 0}
    assert state_kpi(events, "vc.endpoints_online", as_of=T, by="site_level") == {"commune": 0, "district": 1}


def test_vc_meetings_active() -> None:
    # as_of 10:00:30, meeting_max_duration 12 h.
    twelve = timedelta(hours=12)
    events = [
        started("M1", at(-60), ["A"]),  # no end: active
        started("M2", at(-60), ["A"]),
        ended("M2", at(-30)),  # ended: not active
        started("M3", T - twelve, ["A"]),  # exactly 12 h ago: closed
        started("M4", T - twelve + timedelta(seconds=1), ["A"]),  # 1 s less: active
        ended("M5", at(-5)),  # ended without started: not active
        ended("M6", at(-5)),  # ended arrives first ...
        started("M6", at(-50), ["A"]),  # ... then its started: not active
        started("M7", at(3), ["A"]),  # started ahead of as_of: accepted, so active
    ]
    assert state_kpi(events, "vc.meetings_active", as_of=T) == 3  # M1 M4 M7
    short = OracleConfig(meeting_max_duration=timedelta(hours=1))
    # M1 started 1 h 0 min 30 s ago: closed; M4 long closed; M7 still active.
    assert state_kpi(events, "vc.meetings_active", as_of=T, config=short) == 1
    with pytest.raises(ValueError, match="breakdown"):
        state_kpi(events, "vc.meetings_active", as_of=T, by="district")


def test_vc_meeting_restart_uses_the_latest_started() -> None:
    events = [started("M1", at(-13 * 60), ["A"]), started("M1", at(-10), ["B"])]
    # Restarted 10 minutes ago (so not closed by the 12 h rule); planned endpoints now [B].
    assert state_kpi(events, "vc.meetings_active", as_of=T) == 1
    assert state_kpi(events, "vc.meeting_endpoints_offline", as_of=T, by="endpoint") == {
        "A": 0,
        "B": 1,
    }


def test_vc_meeting_endpoints_offline() -> None:
    events = [
        hb("A", at(0)),  # online
        hb("B", at(-5), district="HAM_YEN", site_level="district"),  # stale: offline
        hb("C", at(0), district="NA_HANG"),  # online
        status("D", at(-20), "offline"),
        started("M1", at(-30), ["A", "B", "X"]),  # X: never seen, not registered
        started("M7", at(-20), ["B", "C"]),  # B again: counted once
        started("M2", at(-50), ["D"]),
        ended("M2", at(-10)),  # D offline, but its meeting ended
    ]
    assert state_kpi(events, "vc.meeting_endpoints_offline", as_of=T) == 2  # B, X
    assert state_kpi(
        events, "vc.meeting_endpoints_offline", as_of=T, by="endpoint", config=WITH_REGISTRY
    ) == {
        "A": 0,
        "B": 1,
        "C": 0,
        "D": 0,
        "X": 1,
    }
    assert state_kpi(
        events, "vc.meeting_endpoints_offline", as_of=T, by="district", config=WITH_REGISTRY
    ) == {
        "HAM_YEN": 1,
        "NA_HANG": 0,
        "PROVINCE": 0,
        "YEN_SON": 0,
        UNKNOWN: 1,
    }
    # A registered endpoint never seen is offline, under its registry dimensions.
    registered = [started("M9", at(-1), ["B"])]
    assert state_kpi(
        registered, "vc.meeting_endpoints_offline", as_of=T, by="site_level", config=WITH_REGISTRY
    ) == {
        "commune": 0,
        "district": 1,
    }


def test_vc_unknown_is_listed_for_every_vc_breakdown_once_it_applies() -> None:
    """Choice 16: the keys depend on area and dimension only, so `unknown` shows with 0 elsewhere."""
    events = [hb("A", at(0)), started("M1", at(-5), ["X"])]
    assert window_kpi(events, "vc.heartbeats", as_of=T, by="district") == {"YEN_SON": 1, UNKNOWN: 0}
    assert window_kpi(events, "vc.jitter_ms_avg", as_of=T, by="district") == {"YEN_SON": 3.2, UNKNOWN: None}
    # Once the meeting is over, X still is a planned endpoint of the list: the key stays.
    assert state_kpi([*events, ended("M1", at(-1))], "vc.endpoints_online", as_of=T, by="district") == {
        "YEN_SON": 1,
        UNKNOWN: 0,
    }
    assert window_kpi([hb("A", at(-1))], "vc.heartbeats", as_of=T, by="district") == {"YEN_SON": 1}


# --- e-office ------------------------------------------------------------------------------


def eoffice_scenario() -> list[dict[str, Any]]:
    """Documents of two agencies, with out-of-order and overdue cases (worked out per test)."""
    due_far = at(24 * 60)
    return [
        # Windowed: four processed in the hour, one before it.
        processed("P1", at(-10), received_at=at(-130), due=at(-10)),  # due == done: on time; 2 h
        processed("P2", at(-20), received_at=at(-80), due=at(-20, -1), signed=False),  # late; 1 h
        processed("P3", at(-30), received_at=at(-60), due=due_far),  # on time; 0.5 h
        processed("P4", at(-5), received_at=at(-605), due=due_far, agency="UBND_HAM_YEN"),  # 10 h
        processed("P0", at(-61), received_at=at(-120), due=at(-200)),  # outside the hour
        # Received: three in the hour (one at 09:00:00), one before.
        received("R1", at(-60), due=due_far),  # backlog
        received("R2", at(-40), due=T),  # backlog, due exactly at as_of: not overdue yet
        received("R3", at(-90), due=T - timedelta(seconds=1), agency="UBND_HAM_YEN"),  # overdue
        received("R4", at(-15), due=at(-1)),  # processed below, arriving AFTER: not backlog
        processed("R4", at(-2), received_at=at(-15), due=at(-1)),
        processed("R5", at(-61, -30), received_at=at(-100), due=at(-200)),  # processed arrives FIRST
        received("R5", at(-100), due=at(-200)),  # ... then received: not backlog (nor overdue)
    ]


def test_eoffice_counts_and_shares() -> None:
    events = eoffice_scenario()
    # Received in [09:00, 10:01): R1 (09:00:00), R2, R4 -> 3. (R3 at 08:30, R5 at 08:20: out.)
    assert window_kpi(events, "eoffice.received", as_of=T) == 3
    # Processed in the hour: P1 P2 P3 P4 R4 -> 5 (P0 at 08:59, R5 at 08:58:30: out).
    assert window_kpi(events, "eoffice.processed", as_of=T) == 5
    # On time: P1 (==), P3, P4, R4 (09:58 <= 09:59) -> 4 of 5; P2 is 1 s late.
    assert window_kpi(events, "eoffice.on_time_pct", as_of=T) == 80.0
    # Signed: all but P2 -> 4 of 5.
    assert window_kpi(events, "eoffice.signed_pct", as_of=T) == 80.0


def test_eoffice_processing_hours() -> None:
    events = eoffice_scenario()
    # Hours: P1 2, P2 1, P3 0.5, P4 10, R4 13/60. Sorted: 0.2167 0.5 1 2 10.
    # p50 = ceil(2.5) = 3rd = 1.0; p95 = ceil(4.75) = 5th = 10.0.
    assert window_kpi(events, "eoffice.processing_hours_p50", as_of=T) == 1.0
    assert window_kpi(events, "eoffice.processing_hours_p95", as_of=T) == 10.0
    # SO_TTTT only: 0.2167 0.5 1 2 -> p50 = 2nd = 0.5, p95 = 4th = 2.0. UBND_HAM_YEN: 10.
    p50 = window_kpi(events, "eoffice.processing_hours_p50", as_of=T, by="agency", config=WITH_REGISTRY)
    assert p50 == {"SO_TTTT": 0.5, "UBND_HAM_YEN": 10.0, "UBND_YEN_SON": None}
    p95 = window_kpi(events, "eoffice.processing_hours_p95", as_of=T, by="agency")
    assert p95 == {"SO_TTTT": 2.0, "UBND_HAM_YEN": 10.0}


def test_eoffice_hours_use_seconds_over_3600() -> None:
    events = [processed("P", at(-1), received_at=at(-1, -90), due=at(60))]  # 90 s
    assert window_kpi(events, "eoffice.processing_hours_p50", as_of=T) == pytest.approx(90 / 3600)


def test_eoffice_by_agency() -> None:
    events = eoffice_scenario()

    def by_agency(name: str) -> Any:
        return window_kpi(events, name, as_of=T, by="agency", config=WITH_REGISTRY)

    # Registry SO_TTTT, UBND_YEN_SON plus the seen UBND_HAM_YEN.
    assert by_agency("eoffice.processed") == {
        "SO_TTTT": 4,
        "UBND_HAM_YEN": 1,
        "UBND_YEN_SON": 0,
    }
    # SO_TTTT: P1 P2 P3 R4, on time P1 P3 R4 -> 75 %; UBND_HAM_YEN: P4 -> 100 %; none -> None.
    assert by_agency("eoffice.on_time_pct") == {
        "SO_TTTT": 75.0,
        "UBND_HAM_YEN": 100.0,
        "UBND_YEN_SON": None,
    }
    assert by_agency("eoffice.signed_pct") == {
        "SO_TTTT": 75.0,
        "UBND_HAM_YEN": 100.0,
        "UBND_YEN_SON": None,
    }


def test_eoffice_backlog_and_overdue() -> None:
    events = eoffice_scenario()
    # Received without processed: R1, R2, R3. R4 and R5 were processed (R5's processed came first).
    assert state_kpi(events, "eoffice.backlog", as_of=T) == 3
    # due_at < as_of: R3 only (R2 is due exactly at as_of).
    assert state_kpi(events, "eoffice.overdue", as_of=T) == 1
    assert state_kpi(events, "eoffice.overdue", as_of=T + timedelta(microseconds=1)) == 2
    assert state_kpi(events, "eoffice.backlog", as_of=T, by="agency", config=WITH_REGISTRY) == {
        "SO_TTTT": 2,
        "UBND_HAM_YEN": 1,
        "UBND_YEN_SON": 0,
    }
    assert state_kpi(events, "eoffice.overdue", as_of=T, by="agency", config=WITH_REGISTRY) == {
        "SO_TTTT": 0,
        "UBND_HAM_YEN": 1,
        "UBND_YEN_SON": 0,
    }


def test_eoffice_empty_window() -> None:
    assert window_kpi([], "eoffice.received", as_of=T) == 0
    for name in ("eoffice.on_time_pct", "eoffice.signed_pct", "eoffice.processing_hours_p50"):
        assert window_kpi([], name, as_of=T) is None
    assert window_kpi([], "eoffice.processed", as_of=T, by="agency", config=WITH_REGISTRY) == {
        "SO_TTTT": 0,
        "UBND_YEN_SON": 0,
    }
    assert window_kpi([], "eoffice.on_time_pct", as_of=T, by="agency", config=WITH_REGISTRY) == {
        "SO_TTTT": None,
        "UBND_YEN_SON": None,
    }


# --- portal --------------------------------------------------------------------------------

X, Y = "UBND_YEN_SON", "SO_TP"  # agencies


def portal_scenario() -> list[dict[str, Any]]:
    """Applications of two agencies and districts, with out-of-order events (worked out per test)."""
    due_far = at(7 * 24 * 60)
    return [
        # Submitted in the hour: S1..S4; S0 before it.
        submitted(
            "S1", at(-50), channel="online", service_level=4, agency=X, district="YEN_SON", due_at=due_far
        ),
        submitted("S2", at(-40), channel="counter", service_level=3, agency=X, district="YEN_SON", due_at=T),
        submitted("S3", at(-30), channel="postal", service_level=4, agency=Y, district="TP", due_at=at(-1)),
        submitted("S4", at(-20), channel="online", service_level=2, agency=Y, district="TP", due_at=due_far),
        submitted(
            "S0", at(-3 * 60), channel="online", service_level=3, agency=X, district="YEN_SON", due_at=at(-5)
        ),
        # Resolved in the hour: S1, S0; and S9 (resolved BEFORE its submitted arrives, below).
        resolved(
            "S1",
            at(-10),
            agency=X,
            district="YEN_SON",
            submitted_at=at(-50),
            due_at=at(-10),
            outcome="approved",
        ),
        resolved(
            "S0",
            at(-5),
            agency=X,
            district="YEN_SON",
            submitted_at=at(-180),
            due_at=at(-6),
            outcome="rejected",
        ),
        resolved(
            "S9",
            at(-1),
            agency=Y,
            district="HAM_YEN",
            submitted_at=at(-25 * 60),
            due_at=at(60),
            outcome="approved",
        ),
        submitted(
            "S9", at(-25 * 60), channel="online", service_level=2, agency=Y, district="TP", due_at=at(60)
        ),
        # Paid: S1 cashless 50 000, S3 cash 20 000; S8 paid before its submitted (below); S7 never submitted.
        paid("S1", at(-9), 50_000, "cashless"),
        paid("S3", at(-8), 20_000, "cash"),
        paid("S8", at(-7), 0, "cashless"),
        paid("S7", at(-6), 1_000, "cash"),
        submitted(
            "S8", at(-2 * 60), channel="online", service_level=4, agency=Y, district="TP", due_at=due_far
        ),
        resolved(
            "S8", at(-90), agency=Y, district="TP", submitted_at=at(-120), due_at=due_far, outcome="approved"
        ),
        # Rated: S1 5, S3 4, S7 (never submitted) 1.
        rated("S1", at(-4), 5),
        rated("S3", at(-3), 4),
        rated("S7", at(-2), 1),
    ]


def test_portal_submitted_shares() -> None:
    events = portal_scenario()
    # In the hour: S1 S2 S3 S4 (S0 3 h ago, S9 25 h ago, S8 2 h ago: out).
    assert window_kpi(events, "portal.submitted", as_of=T) == 4
    assert window_kpi(events, "portal.online_pct", as_of=T) == 50.0  # S1 S4
    assert window_kpi(events, "portal.level4_pct", as_of=T) == 50.0  # S1 S3
    assert window_kpi(events, "portal.level4_pct", as_of=T, by="agency", config=WITH_REGISTRY) == {
        "SO_TP": 50.0,  # S3 of S3 S4
        "SO_TTTT": None,
        "UBND_YEN_SON": 50.0,  # S1 of S1 S2
        UNKNOWN: None,
    }


def test_portal_resolution() -> None:
    events = portal_scenario()
    # In the hour: S1, S0, S9 (S8 at 08:30: out).
    assert window_kpi(events, "portal.resolved", as_of=T) == 3
    # On time: S1 (== due), S9 (due in an hour); S0 1 min late -> 2 of 3.
    assert window_kpi(events, "portal.on_time_pct", as_of=T) == pytest.approx(200 / 3)
    assert window_kpi(events, "portal.approved_pct", as_of=T) == pytest.approx(200 / 3)  # S1 S9
    # Hours: S1 40/60, S0 175/60, S9 (25*60 - 1)/60. Sorted; p50 = ceil(1.5) = 2nd = 175/60.
    assert window_kpi(events, "portal.resolution_hours_p50", as_of=T) == pytest.approx(175 / 60)


def test_portal_resolved_takes_service_level_from_its_submitted_but_keeps_its_own_place() -> None:
    events = portal_scenario()
    # S9's resolved says HAM_YEN, its submitted TP: resolved counts under its own HAM_YEN ...
    by_district = window_kpi(events, "portal.resolved", as_of=T, by="district", config=WITH_REGISTRY)
    assert by_district == {"HAM_YEN": 1, "PROVINCE": 0, "TP": 0, "YEN_SON": 2, UNKNOWN: 0}
    # ... and under service level 2 from the submitted that arrived after it. S1: 4, S0: 3.
    by_level = window_kpi(events, "portal.resolved", as_of=T, by="service_level", config=WITH_REGISTRY)
    assert by_level == {"2": 1, "3": 1, "4": 1, UNKNOWN: 0}
    # A resolved whose application was never submitted: service level unknown.
    alone = [resolved("Z", at(-1), agency=X, district="YEN_SON")]
    assert window_kpi(alone, "portal.resolved", as_of=T, by="service_level") == {UNKNOWN: 1}
    assert window_kpi(alone, "portal.resolved", as_of=T, by="agency") == {X: 1}


def test_portal_payments() -> None:
    events = portal_scenario()
    assert window_kpi(events, "portal.paid", as_of=T) == 4
    assert window_kpi(events, "portal.cashless_pct", as_of=T) == 50.0  # S1 S8 of 4
    assert window_kpi(events, "portal.revenue_vnd", as_of=T) == 71_000
    # Agencies: S1 -> X, S3 -> Y, S8 -> Y (its submitted came later, and 2 h before the window),
    # S7 -> unknown (never submitted).
    assert window_kpi(events, "portal.paid", as_of=T, by="agency", config=WITH_REGISTRY) == {
        "SO_TP": 2,
        "SO_TTTT": 0,
        "UBND_YEN_SON": 1,
        UNKNOWN: 1,
    }
    assert window_kpi(events, "portal.revenue_vnd", as_of=T, by="district", config=WITH_REGISTRY) == {
        "HAM_YEN": 0,
        "PROVINCE": 0,
        "TP": 20_000,
        "YEN_SON": 50_000,
        UNKNOWN: 1_000,
    }
    # S1 level 4, S3 level 4, S8 level 4: cashless S1 S8 of 3; unknown S7 cash.
    assert window_kpi(events, "portal.cashless_pct", as_of=T, by="service_level", config=WITH_REGISTRY) == {
        "2": None,
        "3": None,
        "4": pytest.approx(200 / 3),
        UNKNOWN: 0.0,
    }


def test_portal_rating() -> None:
    events = portal_scenario()
    assert window_kpi(events, "portal.rating_avg", as_of=T) == pytest.approx(10 / 3)  # 5 4 1
    assert window_kpi(events, "portal.rating_avg", as_of=T, by="agency") == {
        "SO_TP": 4.0,
        "UBND_YEN_SON": 5.0,
        UNKNOWN: 1.0,
    }


def test_portal_backlog_and_overdue() -> None:
    events = portal_scenario()
    # Submitted: S1 S2 S3 S4 S0 S9 S8; resolved S1 S0 S9 S8 -> backlog S2 S3 S4.
    assert state_kpi(events, "portal.backlog", as_of=T) == 3
    # Overdue: S3 (due 09:59). S2 due exactly at as_of: not yet.
    assert state_kpi(events, "portal.overdue", as_of=T) == 1
    assert state_kpi(events, "portal.backlog", as_of=T, by="agency", config=WITH_REGISTRY) == {
        "SO_TP": 2,
        "SO_TTTT": 0,
        "UBND_YEN_SON": 1,
        UNKNOWN: 0,
    }
    assert state_kpi(events, "portal.overdue", as_of=T, by="service_level") == {
        "2": 0,
        "3": 0,
        "4": 1,
        UNKNOWN: 0,
    }


def test_portal_paid_before_submitted_counts_under_the_submitted_agency() -> None:
    pay = paid("HS-1", at(-1))
    sub = submitted("HS-1", at(-30), agency="SO_YTE", district="NA_HANG", service_level=3)
    for events in ([pay, sub], [sub, pay]):
        assert window_kpi(events, "portal.paid", as_of=T, by="agency") == {"SO_YTE": 1}
        assert window_kpi(events, "portal.paid", as_of=T, by="district") == {"NA_HANG": 1}
        assert window_kpi(events, "portal.paid", as_of=T, by="service_level") == {"3": 1}
    assert window_kpi([pay], "portal.paid", as_of=T, by="agency") == {UNKNOWN: 1}


def test_portal_resolved_before_submitted_is_not_backlog() -> None:
    sub = submitted("HS-1", at(-30))
    res = resolved("HS-1", at(-1), submitted_at=at(-30))
    assert state_kpi([res, sub], "portal.backlog", as_of=T) == 0
    assert state_kpi([sub], "portal.backlog", as_of=T) == 1


def test_portal_empty_window() -> None:
    for name in ("portal.submitted", "portal.resolved", "portal.paid", "portal.revenue_vnd"):
        assert window_kpi([], name, as_of=T) == 0
    for name in (
        "portal.online_pct",
        "portal.level4_pct",
        "portal.on_time_pct",
        "portal.approved_pct",
        "portal.resolution_hours_p50",
        "portal.cashless_pct",
        "portal.rating_avg",
    ):
        assert window_kpi([], name, as_of=T) is None
        assert window_kpi([], name, as_of=T, by="service_level", config=WITH_REGISTRY) == {
            "2": None,
            "3": None,
            "4": None,
        }


# --- ranges, dispatch, validation ----------------------------------------------------------


def test_range_kpi_is_half_open() -> None:
    events = [hb("A", at(-2)), hb("A", at(-2, 59.5)), hb("A", at(-1)), hb("A", at(-1, 30))]
    # [09:58, 09:59): 09:58:00 and 09:58:59.5.
    assert range_kpi(events, "vc.heartbeats", start=at(-2), end=at(-1)) == 2
    assert range_kpi(events, "vc.heartbeats", start=at(-1), end=at(0)) == 2
    # Availability over [09:58, 10:00): A has both minutes, 1 endpoint known -> 100 %.
    assert range_kpi(events, "vc.availability_pct", start=at(-2), end=at(0)) == 100.0
    # Over [09:57, 10:00): 2 of 3 minutes.
    assert range_kpi(events, "vc.availability_pct", start=at(-3), end=at(0)) == pytest.approx(200 / 3)
    assert range_kpi(events, "vc.heartbeats", start=at(-2), end=at(0), by="district") == {"YEN_SON": 4}
    with pytest.raises(ValueError, match="state"):
        range_kpi(events, "vc.endpoints_online", start=at(-2), end=at(0))


def test_window_kpi_equals_the_range_of_its_buckets() -> None:
    events = portal_scenario()
    for name in ("portal.submitted", "portal.revenue_vnd", "portal.rating_avg", "portal.on_time_pct"):
        assert window_kpi(events, name, as_of=T) == range_kpi(events, name, start=at(-60), end=at(1))


def test_kpi_dispatches_and_validates() -> None:
    events = portal_scenario()
    assert kpi(events, "portal.backlog", as_of=T, window="5m") == 3  # the window is ignored
    assert kpi(events, "portal.submitted", as_of=T, window="5m") == 0
    assert kpi(events, "portal.submitted", as_of=T) == 4
    with pytest.raises(ValueError, match="unknown KPI"):
        kpi(events, "portal.nope", as_of=T)
    with pytest.raises(ValueError, match="window"):
        kpi(events, "portal.backlog", as_of=T, window="3m")
    with pytest.raises(ValueError, match="breakdown"):
        kpi(events, "eoffice.received", as_of=T, by="district")
    with pytest.raises(ValueError, match="breakdown"):
        kpi(events, "vc.heartbeats", as_of=T, by="endpoint")  # endpoint is for state KPIs only
    with pytest.raises(ValueError, match="state"):
        window_kpi(events, "portal.backlog", as_of=T)
    with pytest.raises(ValueError, match="window"):
        state_kpi(events, "portal.submitted", as_of=T)


SHARES_OF_STATE = {"market.active_pct", "community.teams_active_pct"}
RATIOS = ("_pct", "_avg", "_p50", "_p95")
"""The name endings of ratios, averages and percentiles: null over nothing."""
DISTINCT_COUNTS = {"market.merchants_active"}
"""Counts of distinct things: a merchant paid in two markets counts once in the total."""


def adds_up(name: str) -> bool:
    """Whether a KPI's values over a breakdown add up to its total (contract: counts and sums)."""
    return not name.endswith(RATIOS) and name not in DISTINCT_COUNTS


def test_all_kpis_on_nothing() -> None:
    totals = all_kpis([], as_of=T)
    assert set(totals) == set(BY_NAME)
    for entry in CATALOG:
        if entry.name.endswith(RATIOS):
            assert totals[entry.name] is None, entry.name
        else:
            assert totals[entry.name] == 0, entry.name


def test_all_kpis_matches_single_calls() -> None:
    events = [*eoffice_scenario(), *portal_scenario(), hb("A", at(-1)), started("M", at(-2), ["A", "Q"])]
    totals = all_kpis(events, as_of=T, window="15m", config=WITH_REGISTRY)
    for name, value in totals.items():
        assert value == kpi(events, name, as_of=T, window="15m", config=WITH_REGISTRY), name


# --- properties ----------------------------------------------------------------------------

ENDPOINTS = ("A", "B", "C", "Q")
AGENCIES = ("SO_TTTT", "UBND_YEN_SON", "SO_YTE")
DISTRICTS = ("YEN_SON", "HAM_YEN", "TP")
COMMUNES = ("YS-001", "YS-002", "XA_MOI")
MARKETS = ("CHO_YEN_SON", "CHO_MOI")
PROVIDERS = ("vnpt_money", "bank_qr")
TEAMS = ("T1", "T2", "T3")


@st.composite
def event_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Random accepted events around T: every event at its own second (so no 'latest' ties)."""
    seconds = draw(st.lists(st.integers(-150 * 60, 4 * 60), max_size=30, unique=True))
    events = []
    for offset in seconds:
        when = NOW + timedelta(seconds=offset)
        kind = draw(
            st.sampled_from(
                (
                    "vc.heartbeat",
                    "vc.status",
                    "vc.meeting.started",
                    "vc.meeting.ended",
                    "document.received",
                    "document.processed",
                    "application.submitted",
                    "application.resolved",
                    "application.paid",
                    "application.rated",
                    "merchant.onboarded",
                    "merchant.offboarded",
                    "payment.completed",
                    "team.registered",
                    "team.members_changed",
                    "activity.reported",
                )
            )
        )
        place = {"district": draw(st.sampled_from(DISTRICTS)), "commune": draw(st.sampled_from(COMMUNES))}
        due = when + timedelta(minutes=draw(st.integers(-60, 120)))
        match kind:
            case "vc.heartbeat":
                event = hb(
                    draw(st.sampled_from(ENDPOINTS)),
                    when,
                    district=draw(st.sampled_from(DISTRICTS)),
                    site_level=draw(st.sampled_from(("commune", "district"))),
                    rtt_ms=draw(st.integers(0, 500)),
                    jitter_ms=draw(st.integers(0, 50)),
                )
            case "vc.status":
                event = status(
                    draw(st.sampled_from(ENDPOINTS)),
                    when,
                    draw(st.sampled_from(("online", "degraded", "offline"))),
                    district=draw(st.sampled_from(DISTRICTS)),
                )
            case "vc.meeting.started":
                planned = draw(st.lists(st.sampled_from((*ENDPOINTS, "Z")), max_size=3))
                event = started(draw(st.sampled_from(("M1", "M2"))), when, planned)
            case "vc.meeting.ended":
                event = ended(draw(st.sampled_from(("M1", "M2"))), when)
            case "document.received":
                event = received(
                    draw(st.sampled_from(("D1", "D2", "D3"))), when, due, draw(st.sampled_from(AGENCIES))
                )
            case "document.processed":
                event = processed(
                    draw(st.sampled_from(("D1", "D2", "D3"))),
                    when,
                    received_at=when - timedelta(minutes=draw(st.integers(0, 600))),
                    due=due,
                    signed=draw(st.booleans()),
                    agency=draw(st.sampled_from(AGENCIES)),
                )
            case "application.submitted":
                event = submitted(
                    draw(st.sampled_from(("H1", "H2", "H3"))),
                    when,
                    agency=draw(st.sampled_from(AGENCIES)),
                    district=draw(st.sampled_from(DISTRICTS)),
                    service_level=draw(st.sampled_from((2, 3, 4))),
                    due_at=due,
                )
            case "application.resolved":
                event = resolved(
                    draw(st.sampled_from(("H1", "H2", "H3", "H4"))),
                    when,
                    agency=draw(st.sampled_from(AGENCIES)),
                    submitted_at=when - timedelta(hours=1),
                    due_at=due,
                )
            case "application.paid":
                event = paid(draw(st.sampled_from(("H1", "H2", "H4"))), when, draw(st.integers(0, 10**6)))
            case "merchant.onboarded" | "merchant.offboarded" | "payment.completed":
                market = {
                    "market": draw(st.sampled_from(MARKETS)),
                    "provider": draw(st.sampled_from(PROVIDERS)),
                }
                amount = {"amount_vnd": draw(st.integers(0, 10**7))} if kind == "payment.completed" else {}
                merchant = draw(st.sampled_from(("M1", "M2", "M3")))
                event = valid_event(kind, occurred_at=when, merchant_id=merchant, **place, **market, **amount)
            case "team.registered" | "team.members_changed":
                level = (
                    {"level": draw(st.sampled_from(("commune", "village")))}
                    if kind == "team.registered"
                    else {}
                )
                team = draw(st.sampled_from(TEAMS))
                members = draw(st.integers(1, 30))
                event = valid_event(kind, occurred_at=when, team_id=team, members=members, **place, **level)
            case "activity.reported":
                event = valid_event(
                    kind,
                    occurred_at=when,
                    team_id=draw(st.sampled_from((*TEAMS, "T4"))),
                    kind=draw(st.sampled_from(("training", "app_install"))),
                    citizens_helped=draw(st.integers(0, 40)),
                    hours=draw(st.sampled_from((0, 0.1, 0.5, 1.25, 3))),
                    **place,
                )
            case _:
                event = rated(draw(st.sampled_from(("H1", "H2", "H4"))), when, draw(st.integers(1, 5)))
        events.append(event)
    return events


def everything(events: list[dict[str, Any]], config: OracleConfig) -> dict[tuple[str, str | None], Any]:
    """Every KPI, total and per allowed breakdown, at T over 1h."""
    results: dict[tuple[str, str | None], Any] = {}
    for entry in CATALOG:
        for by in (None, *[str(d) for d in entry.breakdowns]):
            results[(entry.name, by)] = kpi(events, entry.name, as_of=T, by=by, config=config)
    return results


PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(events=event_lists(), with_registry=st.booleans())
def test_breakdowns_of_counts_and_sums_add_up_to_the_total(
    events: list[dict[str, Any]], with_registry: bool
) -> None:
    config = WITH_REGISTRY if with_registry else OracleConfig()
    for entry in CATALOG:
        for dim in entry.breakdowns:
            total = kpi(events, entry.name, as_of=T, config=config)
            parts = kpi(events, entry.name, as_of=T, by=str(dim), config=config)
            assert isinstance(parts, dict)
            if adds_up(entry.name):
                assert sum(v for v in parts.values() if v is not None) == pytest.approx(total), (
                    entry.name,
                    dim,
                )
                assert all(v is not None for v in parts.values())
            elif entry.name in DISTINCT_COUNTS:
                assert isinstance(total, int)
                counts = [v for v in parts.values() if v is not None]
                assert len(counts) == len(parts) and all(v <= total for v in counts), (entry.name, dim)
                assert sum(counts) >= total, (entry.name, dim)
            elif total is None:
                assert all(v is None for v in parts.values()), (entry.name, dim)  # nothing anywhere


@PROPERTY_SETTINGS
@given(events=event_lists(), seed=st.integers(0, 2**32 - 1))
def test_arrival_order_changes_no_kpi(events: list[dict[str, Any]], seed: int) -> None:
    """The contract: metrics come out as if events arrived in order, once all have arrived."""
    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    assert everything(shuffled, WITH_REGISTRY) == everything(events, WITH_REGISTRY)


@PROPERTY_SETTINGS
@given(events=event_lists().filter(bool), data=st.data())
def test_redelivering_any_event_changes_nothing(events: list[dict[str, Any]], data: st.DataObject) -> None:
    copies = data.draw(st.lists(st.sampled_from(events), min_size=1, max_size=5))
    # A re-delivery may even carry other content: the first copy wins.
    tampered = [{**c, "occurred_at": T.isoformat(), "amount_vnd": 7, "score": 1} for c in copies]
    assert everything([*events, *tampered], OracleConfig()) == everything(events, OracleConfig())


@PROPERTY_SETTINGS
@given(events=event_lists())
def test_kinds_and_shapes(events: list[dict[str, Any]]) -> None:
    """Counts are non-negative ints, percentages within 0..100, state KPIs ignore the window."""
    totals = all_kpis(events, as_of=T, config=WITH_REGISTRY)
    for entry in CATALOG:
        value = totals[entry.name]
        if entry.unit in ("count", "vnd") and not entry.name.endswith(RATIOS):
            assert isinstance(value, int) and value >= 0
        elif entry.unit in ("vnd", "hours"):
            assert value is None or value >= 0, entry.name
        elif entry.unit == "percent" and value is not None:
            # a share of a state KPI counts merchants (teams) paid (active) but not onboarded
            # (registered) above the line: it may pass 100 %
            top = float("inf") if entry.name in SHARES_OF_STATE else 100 + 1e-9
            assert 0 <= value <= top, entry.name
        if entry.kind == Kind.STATE:
            assert kpi(events, entry.name, as_of=T, window="7d", config=WITH_REGISTRY) == value
