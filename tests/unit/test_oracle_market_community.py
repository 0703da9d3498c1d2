"""The oracle's market-4.0 and community-team KPIs (choices 18-26 of tests/oracle.py), each
interpretation pinned by a small case worked out by hand in the comments.

Times as in tests/unit/test_oracle.py: ``NOW`` is 10:00:00 ICT on the factories' Monday and
``T`` (the ``as_of``) 30 s later, so the 5-minute window holds the buckets 09:55 .. 10:00.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from ioc.registry import load_registry
from tests.factories import ICT, valid_event
from tests.oracle import OracleConfig, Sample, all_kpis, kpi, range_kpi, state_kpi, window_kpi

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=ICT)
T = NOW + timedelta(seconds=30)


def at(minutes: float = 0, seconds: float = 0) -> datetime:
    return NOW + timedelta(minutes=minutes, seconds=seconds)


@dataclass(frozen=True)
class Commune:
    code: str
    district: str


@dataclass(frozen=True)
class Place:
    code: str


@dataclass(frozen=True)
class Registry:
    """A registry with two YEN_SON communes and two markets; HAM_YEN has no commune."""

    sites: tuple[Any, ...] = ()
    district_codes: tuple[str, ...] = ("PROVINCE", "YEN_SON", "HAM_YEN")
    communes: tuple[Commune, ...] = (Commune("YS-001", "YEN_SON"), Commune("YS-002", "YEN_SON"))
    agency_codes: tuple[str, ...] = ()
    service_levels: tuple[int, ...] = ()
    places: dict[str, tuple[Place, ...]] = field(
        default_factory=lambda: {"market": (Place("CHO_YEN_SON"), Place("CHO_LANG_QUAN"))}
    )

    @property
    def commune_codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.communes)


CONFIG = OracleConfig(registry=Registry())
PROVIDERS = {"vnpt_money", "viettel_money", "bank_qr", "other"}
KINDS = {"account_setup", "app_install", "online_service_help", "cashless_help", "training"}

_STALL = {"market": "CHO_YEN_SON", "district": "YEN_SON", "commune": "YS-001", "provider": "vnpt_money"}
_TEAM = {"district": "YEN_SON", "commune": "YS-001"}


def onboarded(merchant: str, when: datetime, **fields: Any) -> dict[str, Any]:
    return valid_event("merchant.onboarded", merchant_id=merchant, occurred_at=when, **{**_STALL, **fields})


def offboarded(merchant: str, when: datetime, **fields: Any) -> dict[str, Any]:
    return valid_event("merchant.offboarded", merchant_id=merchant, occurred_at=when, **{**_STALL, **fields})


def payment(merchant: str, when: datetime, amount: int = 50_000, **fields: Any) -> dict[str, Any]:
    return valid_event(
        "payment.completed", merchant_id=merchant, occurred_at=when, amount_vnd=amount, **{**_STALL, **fields}
    )


def registered(
    team: str, when: datetime, members: int = 5, level: str = "village", **fields: Any
) -> dict[str, Any]:
    return valid_event(
        "team.registered", team_id=team, occurred_at=when, members=members, level=level, **{**_TEAM, **fields}
    )


def changed(team: str, when: datetime, members: int, **fields: Any) -> dict[str, Any]:
    return valid_event(
        "team.members_changed", team_id=team, occurred_at=when, members=members, **{**_TEAM, **fields}
    )


def activity(
    team: str, when: datetime, kind: str = "training", helped: int = 3, hours: float = 1.5, **fields: Any
) -> dict[str, Any]:
    return valid_event(
        "activity.reported",
        team_id=team,
        occurred_at=when,
        kind=kind,
        citizens_helped=helped,
        hours=hours,
        **{**_TEAM, **fields},
    )


def merchants(events: list[dict[str, Any]], by: str | None = None) -> Any:
    return state_kpi(events, "market.merchants", as_of=T, by=by, config=CONFIG)


def keys(result: object) -> set[str]:
    assert isinstance(result, dict)
    return set(result)


# --- 18: market.merchants -------------------------------------------------------------------


def test_a_merchant_counts_when_its_latest_onboarding_event_is_an_onboarding() -> None:
    assert merchants([onboarded("M1", at(-10))]) == 1
    assert merchants([onboarded("M1", at(-10)), offboarded("M1", at(-5))]) == 0  # left since
    assert merchants([offboarded("M1", at(-5)), onboarded("M1", at(-10))]) == 0  # in any arrival order
    # back again later: the offboarding arriving last changes nothing, it is older
    assert merchants([onboarded("M1", at(-10)), onboarded("M1", at(-1)), offboarded("M1", at(-5))]) == 1
    assert merchants([offboarded("M1", at(-5))]) == 0  # an offboarding alone is no merchant
    assert merchants([payment("M1", at(-1))]) == 0  # nor is being paid


def test_on_an_occurred_at_tie_the_offboarding_wins_whatever_the_arrival_order() -> None:
    on, off = onboarded("M1", at(-3)), offboarded("M1", at(-3))
    assert merchants([on, off]) == 0
    assert merchants([off, on]) == 0


def test_a_merchants_dimensions_are_those_of_its_latest_event() -> None:
    events = [
        onboarded("M1", at(-2), market="CHO_LANG_QUAN", commune="YS-002", provider="bank_qr"),
        onboarded("M1", at(-10)),  # older: its market and provider no longer apply
        onboarded("M2", at(-9)),
    ]
    assert merchants(events, "market") == {"CHO_YEN_SON": 1, "CHO_LANG_QUAN": 1}
    assert merchants(events, "commune") == {"YS-001": 1, "YS-002": 1}
    assert merchants(events, "provider") == {"vnpt_money": 1, "bank_qr": 1, "viettel_money": 0, "other": 0}


def test_merchants_is_a_state_whatever_the_window_or_the_time() -> None:
    events = [onboarded("M1", at(-3 * 24 * 60)), onboarded("M2", at(3))]  # days ago; ahead of as_of
    assert kpi(events, "market.merchants", as_of=T, window="5m", config=CONFIG) == 2
    assert kpi(events, "market.merchants", as_of=T, window="7d", config=CONFIG) == 2


# --- 19, 20: payments, value, median, merchants active ----------------------------------------


def payments_scenario() -> list[dict[str, Any]]:
    return [
        payment("M1", at(-50), 10_000),
        payment("M1", at(-40), 50_000, market="CHO_LANG_QUAN", commune="YS-002"),  # M1 sells at two markets
        payment("M2", at(-30), 20_000),
        payment("M3", at(-20), 40_000, provider="bank_qr"),  # M3 was never onboarded: still paid
        payment("M4", at(-61), 999_000),  # 08:59: outside the hour
        payment("M4", at(2), 999_000),  # 10:02: ahead of the current minute
    ]


def test_payments_value_and_median() -> None:
    events = payments_scenario()
    assert window_kpi(events, "market.payments", as_of=T, config=CONFIG) == 4
    value = window_kpi(events, "market.value_vnd", as_of=T, config=CONFIG)
    assert value == 120_000 and isinstance(value, int)
    # 10 000, 20 000, 40 000, 50 000: the ceil(4 / 2) = 2nd smallest, no interpolation
    assert window_kpi(events, "market.payment_vnd_p50", as_of=T, config=CONFIG) == 20_000
    # by market: CHO_YEN_SON has 10 000, 20 000, 40 000 -> the 2nd; CHO_LANG_QUAN 50 000
    assert window_kpi(events, "market.payment_vnd_p50", as_of=T, by="market", config=CONFIG) == {
        "CHO_YEN_SON": 20_000,
        "CHO_LANG_QUAN": 50_000,
    }
    by_provider = window_kpi(events, "market.payment_vnd_p50", as_of=T, by="provider", config=CONFIG)
    assert by_provider == {"vnpt_money": 20_000, "bank_qr": 40_000, "viettel_money": None, "other": None}
    assert window_kpi(events, "market.payment_vnd_p50", as_of=T, window="5m", config=CONFIG) is None


def test_value_is_an_exact_integer_sum() -> None:
    big = 2**62 + 1  # beyond a double's 53 bits: a float sum would round
    events = [payment("M1", at(-1), big), payment("M2", at(-1), big), payment("M3", at(-1), 1)]
    assert window_kpi(events, "market.value_vnd", as_of=T, config=CONFIG) == 2**63 + 3


def test_merchants_active_counts_each_merchant_once_and_per_value_once_per_value() -> None:
    events = payments_scenario()
    # M1 (twice), M2, M3 in the hour; M4 outside it
    assert window_kpi(events, "market.merchants_active", as_of=T, config=CONFIG) == 3
    by_market = window_kpi(events, "market.merchants_active", as_of=T, by="market", config=CONFIG)
    assert by_market == {"CHO_YEN_SON": 3, "CHO_LANG_QUAN": 1}  # M1 in both: 4 > 3, no adding up
    by_provider = window_kpi(events, "market.merchants_active", as_of=T, by="provider", config=CONFIG)
    assert by_provider == {"vnpt_money": 2, "bank_qr": 1, "viettel_money": 0, "other": 0}  # 0, a count
    assert window_kpi(events, "market.merchants_active", as_of=T, window="5m", config=CONFIG) == 0


# --- 21: market.active_pct --------------------------------------------------------------------


def active_scenario() -> list[dict[str, Any]]:
    return [
        onboarded("M1", at(-300)),
        onboarded("M2", at(-300)),
        onboarded("M3", at(-300)),
        onboarded("M4", at(-300), market="CHO_LANG_QUAN", commune="YS-002"),
        payment("M1", at(-30)),
        payment("M1", at(-20)),
        payment("M2", at(-10)),
        payment("M5", at(-10), market="CHO_MOI"),  # never onboarded, at a market nobody registered
    ]


def test_active_pct_divides_merchants_paid_by_merchants_onboarded_now() -> None:
    events = active_scenario()
    # M1, M2, M5 paid; 4 merchants onboarded: 100 x 3 / 4
    assert window_kpi(events, "market.active_pct", as_of=T, config=CONFIG) == 75.0
    by_market = window_kpi(events, "market.active_pct", as_of=T, by="market", config=CONFIG)
    assert by_market == {
        "CHO_YEN_SON": pytest.approx(100 * 2 / 3),  # M1, M2 of M1, M2, M3
        "CHO_LANG_QUAN": 0.0,  # a merchant, no payment
        "CHO_MOI": None,  # a payment, no merchant onboarded there
    }


def test_active_pct_is_zero_without_payments_and_null_without_merchants() -> None:
    events = active_scenario()
    assert window_kpi(events, "market.active_pct", as_of=T, window="5m", config=CONFIG) == 0.0
    by_district = window_kpi(events, "market.active_pct", as_of=T, window="5m", by="district", config=CONFIG)
    assert by_district == {"YEN_SON": 0.0}
    assert window_kpi([payment("M1", at(-1))], "market.active_pct", as_of=T, config=CONFIG) is None
    offboarded_all = [*events, *(offboarded(m, at(-200)) for m in ("M1", "M2", "M3", "M4"))]
    assert window_kpi(offboarded_all, "market.active_pct", as_of=T, config=CONFIG) is None


def test_active_pct_divides_by_the_merchants_of_the_same_value_now() -> None:
    # M1 moved to CHO_LANG_QUAN after the payment made at CHO_YEN_SON: the payment keeps its
    # market, the merchant counts where it is now
    events = [
        onboarded("M1", at(-300)),
        payment("M1", at(-30)),
        onboarded("M1", at(-5), market="CHO_LANG_QUAN"),
        onboarded("M2", at(-300)),
    ]
    by_market = window_kpi(events, "market.active_pct", as_of=T, by="market", config=CONFIG)
    assert by_market == {"CHO_YEN_SON": 100.0, "CHO_LANG_QUAN": 0.0}  # 1 / 1 (M2), 0 / 1 (M1)


# --- 22: community.teams and community.members -----------------------------------------------


def teams(events: list[dict[str, Any]], by: str | None = None) -> Any:
    return state_kpi(events, "community.teams", as_of=T, by=by, config=CONFIG)


def members(events: list[dict[str, Any]], by: str | None = None) -> Any:
    return state_kpi(events, "community.members", as_of=T, by=by, config=CONFIG)


def test_teams_are_those_registered() -> None:
    events = [registered("T1", at(-60)), changed("T2", at(-30), 4), activity("T3", at(-1))]
    assert teams(events) == 1
    assert members(events) == 5  # T2 reported members but never registered
    real = OracleConfig(registry=load_registry())
    assert all_kpis([], as_of=T, config=real)["community.teams"] == 0  # registry teams count once registered


def test_members_are_those_of_the_latest_report() -> None:
    events = [
        registered("T1", at(-60), members=5),
        changed("T1", at(-10), 8),
        changed("T1", at(-20), 12),  # arrives last, but older
        registered("T2", at(-60), members=4),
        changed("T2", at(-90), 20),  # before the registration: the registration is the latest
    ]
    assert members(events) == 8 + 4


def test_on_a_members_tie_the_larger_count_wins_whatever_the_arrival_order() -> None:
    first = [registered("T1", at(-60), members=5), changed("T1", at(-10), 9), changed("T1", at(-10), 6)]
    assert members(first) == 9
    assert members(list(reversed(first))) == 9
    assert members([registered("T1", at(-10), members=3), changed("T1", at(-10), 2)]) == 3


def test_a_teams_place_and_level_are_those_of_its_earliest_registration() -> None:
    events = [
        changed("T1", at(-5), 7, district="HAM_YEN", commune="HY-001"),  # places nothing
        registered("T1", at(-10), level="commune", commune="YS-002"),  # a later re-registration
        registered("T1", at(-30), level="village"),  # the earliest, arriving last
    ]
    assert teams(events) == 1
    assert teams(events, "level") == {"commune": 0, "village": 1}
    assert members(events, "commune") == {"YS-001": 7, "YS-002": 0, "HY-001": 0}
    assert members(events, "district") == {"YEN_SON": 7, "HAM_YEN": 0}


# --- 23: activities, citizens helped, hours ---------------------------------------------------


def community_scenario() -> list[dict[str, Any]]:
    return [
        activity("T1", at(-50), "training", helped=4, hours=0.1),  # before its team's registration arrives
        registered("T1", at(-300), level="village"),
        registered("T2", at(-300), level="village", commune="YS-002"),
        registered("T3", at(-300), level="village"),
        registered("T4", at(-300), level="commune"),
        activity("T1", at(-40), "training", helped=6, hours=0.2),
        activity("T2", at(-30), "app_install", helped=0, hours=0.7, commune="YS-002"),
        activity("T9", at(-20), "training", helped=10, hours=1),  # T9 never registers
        activity("T3", at(-70), "training", helped=99, hours=9),  # outside the hour
    ]


def test_activities_citizens_and_hours() -> None:
    events = community_scenario()
    assert window_kpi(events, "community.activities", as_of=T, config=CONFIG) == 4
    helped = window_kpi(events, "community.citizens_helped", as_of=T, config=CONFIG)
    assert helped == 20 and isinstance(helped, int)
    assert (
        window_kpi(events, "community.hours", as_of=T, config=CONFIG) == 2.0
    )  # 0.1 + 0.2 + 0.7 + 1, exactly
    assert window_kpi(events, "community.activities", as_of=T, by="kind", config=CONFIG) == {
        "training": 3,
        "app_install": 1,
        "account_setup": 0,
        "online_service_help": 0,
        "cashless_help": 0,
    }
    assert window_kpi(events, "community.citizens_helped", as_of=T, by="commune", config=CONFIG) == {
        "YS-001": 20,
        "YS-002": 0,
    }


def test_by_level_an_activity_takes_its_teams_level_or_unknown() -> None:
    events = community_scenario()
    assert window_kpi(events, "community.activities", as_of=T, by="level", config=CONFIG) == {
        "village": 3,  # T1 twice (its registration arrived after the first), T2
        "commune": 0,
        "unknown": 1,  # T9
    }
    # unknown is then a key of every community KPI by level, the state ones included
    assert teams(events, "level") == {"village": 3, "commune": 1, "unknown": 0}
    assert members(events, "level") == {"village": 15, "commune": 5, "unknown": 0}
    # ... and only then
    registered_only = [e for e in events if e.get("team_id") != "T9"]
    assert keys(teams(registered_only, "level")) == {"village", "commune"}


# --- 24: community.teams_active_pct ------------------------------------------------------------


def test_teams_active_pct_by_hand() -> None:
    events = community_scenario()
    pct = "community.teams_active_pct"
    # T1, T2, T9 active in the hour; T1..T4 registered: 100 x 3 / 4
    assert window_kpi(events, pct, as_of=T, config=CONFIG) == 75.0
    assert window_kpi(events, pct, as_of=T, by="level", config=CONFIG) == {
        "village": pytest.approx(100 * 2 / 3),  # T1, T2 of T1, T2, T3
        "commune": 0.0,  # T4 registered, idle
        "unknown": None,  # T9: no team registered under unknown
    }
    assert window_kpi(events, pct, as_of=T, by="commune", config=CONFIG) == {
        "YS-001": pytest.approx(100 * 2 / 3),  # T1, T9 of T1, T3, T4
        "YS-002": 100.0,  # T2 of T2
    }
    # teams have no kind: each kind divides by all 4 teams
    assert window_kpi(events, pct, as_of=T, by="kind", config=CONFIG) == {
        "training": 50.0,  # T1, T9
        "app_install": 25.0,  # T2
        "account_setup": 0.0,
        "online_service_help": 0.0,
        "cashless_help": 0.0,
    }
    assert window_kpi(events, pct, as_of=T, window="5m", config=CONFIG) == 0.0


def test_teams_active_pct_is_null_without_teams() -> None:
    events = [activity("T1", at(-1))]
    pct = "community.teams_active_pct"
    assert window_kpi(events, pct, as_of=T, config=CONFIG) is None
    by_kind = window_kpi(events, pct, as_of=T, by="kind", config=CONFIG)
    assert isinstance(by_kind, dict) and set(by_kind.values()) == {None}


# --- 25: breakdown keys -----------------------------------------------------------------------


def test_registry_keys() -> None:
    nothing: list[dict[str, Any]] = []
    by = {
        dim: window_kpi(nothing, "market.payments", as_of=T, by=dim, config=CONFIG)
        for dim in ("district", "commune", "market", "provider")
    }
    assert by["district"] == {"YEN_SON": 0}  # PROVINCE and HAM_YEN have no commune
    assert by["commune"] == {"YS-001": 0, "YS-002": 0}
    assert by["market"] == {"CHO_YEN_SON": 0, "CHO_LANG_QUAN": 0}
    assert keys(by["provider"]) == PROVIDERS
    assert keys(window_kpi(nothing, "community.hours", as_of=T, by="kind", config=CONFIG)) == KINDS
    assert teams(nothing, "level") == {"commune": 0, "village": 0}
    assert teams(nothing, "district") == {"YEN_SON": 0}
    # the contract's closed lists need no registry
    assert keys(window_kpi(nothing, "market.payments", as_of=T, by="provider")) == PROVIDERS
    assert window_kpi(nothing, "market.payments", as_of=T, by="market") == {}


def test_every_value_an_event_of_the_area_carries_is_a_key_of_every_kpi_of_the_area() -> None:
    events = [
        offboarded("M1", at(-100), market="CHO_MOI", district="HAM_YEN", commune="HY-001"),
        changed("T1", at(-100), 3, district="LAM_BINH", commune="LB-001"),
        # extra fields are ignored, whatever their names
        activity("T2", at(-1), market="CHO_KHAC", level="province", commune="YS-002"),
        payment("M2", at(-1), kind="cash", commune="YS-002"),
    ]
    assert window_kpi(events, "market.payments", as_of=T, by="market", config=CONFIG) == {
        "CHO_YEN_SON": 1,
        "CHO_LANG_QUAN": 0,
        "CHO_MOI": 0,
    }
    assert keys(merchants(events, "district")) == {"YEN_SON", "HAM_YEN"}
    assert window_kpi(events, "community.activities", as_of=T, by="commune", config=CONFIG) == {
        "YS-001": 0,
        "YS-002": 1,
        "LB-001": 0,
    }
    assert window_kpi(events, "community.teams_active_pct", as_of=T, by="district", config=CONFIG) == {
        "YEN_SON": None,
        "LAM_BINH": None,
    }
    assert keys(teams(events, "level")) == {"commune", "village", "unknown"}  # T2 never registered


# --- 26: series points of the shares ----------------------------------------------------------


def test_a_series_point_of_a_share_divides_by_the_sample_of_its_step_else_by_now() -> None:
    first = [onboarded("M1", at(-300)), onboarded("M2", at(-300)), payment("M1", at(-3))]
    later = [
        onboarded("M3", at(-300)),
        onboarded("M4", at(-300), market="CHO_MOI"),
        payment("M4", at(-3), market="CHO_MOI"),
    ]
    events = [*first, *later]

    def point(name: str, by: str | None = None, **kw: Any) -> Any:
        return range_kpi(events, name, start=at(-3), end=at(-2), by=by, config=CONFIG, **kw)

    with pytest.raises(ValueError, match="as_of"):
        point("market.active_pct")
    # no sample: M1, M4 of the 4 merchants now
    assert point("market.active_pct", as_of=T) == 50.0
    sample = Sample(at=at(-2), events=len(first))  # taken when M1 and M2 were all
    assert point("market.active_pct", as_of=T, sample=sample) == 100.0
    # per value: the sample holds CHO_YEN_SON (2 merchants) and CHO_LANG_QUAN (a registry
    # market: 0, so null), not CHO_MOI (1 now)
    assert point("market.active_pct", "market", as_of=T, sample=sample) == {
        "CHO_YEN_SON": 50.0,
        "CHO_LANG_QUAN": None,
        "CHO_MOI": 100.0,
    }
    # the other KPIs need neither
    assert point("market.merchants_active") == 2


def test_a_window_is_the_range_of_its_buckets_for_every_new_kpi() -> None:
    events = [*active_scenario(), *community_scenario(), *payments_scenario()]
    for name in (
        "market.payments",
        "market.value_vnd",
        "market.payment_vnd_p50",
        "market.merchants_active",
        "market.active_pct",
        "community.activities",
        "community.citizens_helped",
        "community.hours",
        "community.teams_active_pct",
    ):
        for by in (None, "district", "commune"):
            want = window_kpi(events, name, as_of=T, by=by, config=CONFIG)
            assert range_kpi(events, name, start=at(-60), end=at(1), by=by, config=CONFIG, as_of=T) == want, (
                name
            )
