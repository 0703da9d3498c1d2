"""The market-4.0 and community-team profiles tell a true, repeatable story: valid events, the
markets' days and hours, realistic payments by onboarded traders, teams that work office hours
and weekend campaigns, a tenth of the teams silent, and out-of-order delivery on demand."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import orjson
import pytest

from ioc.errors import ConfigError
from ioc.registry import load_registry
from ioc.simulation import Holdback, Payload
from ioc.simulation.disorder import Events
from schemas.decode import Rejection
from schemas.wire import Event
from simulator import FaultConfig, Record, Simulation, SimulatorConfig, Volumes, generate, plan
from sources import COMMUNITY_ACTIVITIES, MARKET_PAYMENTS, MODEL_BY_TYPE, SOURCES, decode
from sources.community.simulator import Teams
from sources.market.simulator import VOLUMES as MARKET_VOLUMES
from sources.market.simulator import Payments

ICT = timezone(timedelta(hours=7))
MONDAY = datetime(2024, 3, 11, tzinfo=ICT)  # 00:00 local
NEVER = MONDAY + timedelta(days=365)
HOURLY = Volumes(heartbeat_interval_s=3600)  # the engine's window: an hour keeps a week fast
NEW_TOPICS = (MARKET_PAYMENTS, COMMUNITY_ACTIVITIES)
REGISTRY = load_registry()
MARKETS: dict[str, dict[str, Any]] = {p.code: p.model_extra or {} for p in REGISTRY.places["market"]}
"""Each market's registry fields beyond code and names: district, commune, schedule, hours, merchants."""
TEAMS: dict[str, dict[str, Any]] = {p.code: p.model_extra or {} for p in REGISTRY.places["team"]}
GRACE = timedelta(hours=2)


def config(**options: Any) -> SimulatorConfig:
    """A past, fixed-start run of the two new topics (seed 7, Monday 00:00, a day, unless told)."""
    options.setdefault("seed", 7)
    options.setdefault("start", MONDAY)
    options.setdefault("duration", timedelta(days=1))
    options.setdefault("topics", NEW_TOPICS)
    options.setdefault("volumes", HOURLY)
    return SimulatorConfig(live=False, **options)


def run(**options: Any) -> list[Record]:
    return list(generate(config(**options)))


def decoded(records: list[Record]) -> list[Any]:
    """The events in the order sent; each one valid by the contract (decode rejects nothing)."""
    events: list[Any] = []
    for r in records:
        event = decode(r.topic, r.key, r.value)
        assert not isinstance(event, Rejection), (event, r)
        events.append(event)
    return events


def local(event: Event) -> datetime:
    return event.occurred_at.astimezone(ICT)


def minute(event: Event) -> int:
    at = local(event)
    return at.hour * 60 + at.minute


def topic_of(event: Event) -> str:
    return MARKET_PAYMENTS if event.type.startswith(("merchant", "payment")) else COMMUNITY_ACTIVITIES


def hhmm(text: Any) -> int:
    hours, minutes = str(text).split(":")
    return int(hours) * 60 + int(minutes)


@pytest.fixture(scope="module")
def day() -> list[Record]:
    return run()


@pytest.fixture(scope="module")
def week() -> list[Any]:
    return decoded(run(duration=timedelta(days=7)))


@pytest.fixture(scope="module")
def month_of_teams() -> list[Any]:
    return decoded(run(duration=timedelta(days=28), topics=(COMMUNITY_ACTIVITIES,)))


def of_type(events: list[Any], type_name: str) -> list[Any]:
    return [e for e in events if e.type == type_name]


# --- the contract --------------------------------------------------------------------------


def test_a_day_is_contract_valid_with_every_event_type_of_both_sources(day: list[Record]) -> None:
    events = decoded(day)
    types = {t for s in (SOURCES.by_name["market"], SOURCES.by_name["community"]) for t in s.topics}
    assert {e.type for e in events} == {t for topic in types for t in topic.types}
    for r, e in zip(day, events, strict=True):  # the pydantic models, the judge of bad input, agree
        model: Any = MODEL_BY_TYPE[e.type].model_validate_json(r.value)
        assert model.event_id == e.event_id and model.occurred_at.utcoffset() == timedelta(hours=7)
    assert all(MONDAY <= e.occurred_at < MONDAY + timedelta(days=1) for e in events)
    assert len({e.event_id for e in events}) == len(events)
    assert {e.source for e in events if e.type.startswith(("merchant", "payment"))} == {"market-gw"}


def test_a_run_may_rename_the_envelope_source_and_override_volumes_by_name() -> None:
    volumes = replace(HOURLY, per_source={"market": {"payments_per_merchant_day": 24.0}})
    events = decoded(run(sources={"market": "vnpt-money"}, topics=(MARKET_PAYMENTS,), volumes=volumes))
    base = of_type(decoded(run(topics=(MARKET_PAYMENTS,))), "payment.completed")
    assert {e.source for e in events} == {"vnpt-money"}
    assert len(of_type(events, "payment.completed")) == pytest.approx(1.6 * len(base), rel=0.25)
    with pytest.raises(ConfigError, match="no setting"):
        run(volumes=replace(HOURLY, per_source={"market": {"payments_per_day": 1.0}}))
    with pytest.raises(ConfigError, match="share"):
        run(volumes=replace(HOURLY, per_source={"community": {"silent_share": 2.0}}))


def test_the_engines_window_does_not_change_the_story() -> None:
    """The default 10 s windows (a live run's) and hour-long ones give the same traffic."""
    morning = {"start": MONDAY + timedelta(hours=5), "duration": timedelta(hours=4)}
    fine = Counter(e.type for e in decoded(run(volumes=Volumes(), **morning)))
    coarse = Counter(e.type for e in decoded(run(**morning)))
    for type_name in ("merchant.onboarded", "payment.completed", "team.registered", "activity.reported"):
        assert fine[type_name] == pytest.approx(coarse[type_name], rel=0.1), type_name


def test_the_same_seed_and_start_give_the_same_bytes(day: list[Record]) -> None:
    assert run() == day
    assert [r.value for r in run(seed=8)] != [r.value for r in day]


# --- markets ----------------------------------------------------------------------------------


def test_payments_only_on_a_markets_days_and_in_its_hours(week: list[Any]) -> None:
    payments = of_type(week, "payment.completed")
    days: dict[str, set[int]] = {}
    for e in payments:
        extra = MARKETS[e.market]
        schedule = extra["schedule"]
        assert schedule == "daily" or local(e).weekday() in schedule, e
        assert hhmm(extra["opens"]) <= minute(e) < hhmm(extra["closes"]), e
        days.setdefault(e.market, set()).add(local(e).weekday())
    weekly = {c: set(p["schedule"]) for c, p in MARKETS.items() if p["schedule"] != "daily"}
    assert weekly and all(days[c] == d for c, d in weekly.items())  # and they do trade on their days
    assert all(days[c] == set(range(7)) for c in MARKETS if c not in weekly)


def test_markets_peak_in_the_morning_and_city_markets_trade_longer(week: list[Any]) -> None:
    payments = of_type(week, "payment.completed")
    hours = Counter(local(e).hour for e in payments)
    assert max(hours, key=hours.__getitem__) in (6, 7, 8)
    assert sum(hours[h] for h in (6, 7, 8)) > 0.5 * len(payments)
    afternoon = {e.market for e in payments if local(e).hour >= 13}
    assert afternoon and all(hhmm(MARKETS[m]["closes"]) > 13 * 60 for m in afternoon)


def test_payments_are_tens_of_thousands_of_dong_through_weighted_providers(week: list[Any]) -> None:
    payments = of_type(week, "payment.completed")
    amounts = [e.amount_vnd for e in payments]
    assert 20_000 <= statistics.median(amounts) <= 100_000
    assert all(a > 0 and a % 1000 == 0 for a in amounts)
    big = sum(a >= 200_000 for a in amounts) / len(amounts)
    assert 0.01 < big < 0.1  # occasionally a few hundred thousand
    providers = Counter(e.provider for e in payments)
    assert [p for p, _ in providers.most_common()] == ["vnpt_money", "viettel_money", "bank_qr", "other"]


def test_payments_are_by_merchants_onboarded_earlier_in_the_run(week: list[Any]) -> None:
    onboarded: dict[str, Any] = {}
    gone: dict[str, datetime] = {}
    paid: Counter[str] = Counter()
    for e in week:
        if e.type == "merchant.onboarded":
            assert e.merchant_id not in onboarded
            onboarded[e.merchant_id] = e
        elif e.type == "merchant.offboarded":
            assert onboarded[e.merchant_id].occurred_at < e.occurred_at
            gone[e.merchant_id] = e.occurred_at
        elif e.type == "payment.completed":
            first = onboarded[e.merchant_id]
            assert first.occurred_at < e.occurred_at < gone.get(e.merchant_id, NEVER)
            same = (first.market, first.district, first.commune, first.provider)
            assert (e.market, e.district, e.commune, e.provider) == same
            paid[e.merchant_id] += 1
    assert all(re.fullmatch(r"MK-[A-Z]{2}-\d{4,}", m) for m in onboarded)
    # Part of each market's traders at the start, more since, within the roster; a few give up.
    full = sum(p["merchants"] for p in MARKETS.values())
    at_start = sum(e.occurred_at < MONDAY + timedelta(minutes=10) for e in onboarded.values())
    assert at_start == pytest.approx(MARKET_VOLUMES["onboarded_share"] * full, rel=0.02)
    assert 30 < len(onboarded) - at_start < 100 and 3 <= len(gone) < 30
    per_market = Counter(e.market for e in onboarded.values())
    assert all(n <= MARKETS[m]["merchants"] for m, n in per_market.items())
    assert set(per_market) == set(MARKETS)
    # A daily market's trader takes 5-30 payments a day (a few hardly use it).
    daily = [m for m, e in onboarded.items() if MARKETS[e.market]["schedule"] == "daily"]
    busy = sorted(paid[m] / 7 for m in daily if onboarded[m].occurred_at < MONDAY + timedelta(minutes=10))
    assert 5 <= statistics.median(busy) <= 30


# --- community teams ------------------------------------------------------------------------


def test_every_team_registers_once_at_the_start_as_the_registry_says(day: list[Record]) -> None:
    registered = of_type(decoded(day), "team.registered")
    assert sorted(e.team_id for e in registered) == sorted(TEAMS)
    for e in registered:
        extra = TEAMS[e.team_id]
        assert (e.level, e.district, e.commune, e.members) == (
            extra["level"],
            extra["district"],
            extra["commune"],
            extra["members"],
        )
        assert e.occurred_at < MONDAY + timedelta(minutes=10)


def test_activities_come_in_office_hours_and_weekend_campaigns(week: list[Any]) -> None:
    activities = of_type(week, "activity.reported")

    def daytime(e: Event) -> bool:
        weekday, m = local(e).weekday(), minute(e)
        return 7 * 60 + 30 <= m < 17 * 60 if weekday < 5 else 7 * 60 <= m < 18 * 60

    assert sum(map(daytime, activities)) / len(activities) > 0.7
    weekend = [e for e in activities if local(e).weekday() >= 5]
    assert 0.1 < len(weekend) / len(activities) < 0.35
    kinds = Counter(e.kind for e in activities)
    assert {k for k, _ in kinds.most_common(2)} == {"online_service_help", "account_setup"}
    assert all(1 <= e.citizens_helped <= 15 for e in activities)
    assert all(0.5 <= e.hours <= 4 and (e.hours * 2).is_integer() for e in activities)
    helped = {
        w: statistics.mean(e.citizens_helped for e in activities if (local(e).weekday() >= 5) == w)
        for w in (False, True)
    }
    assert helped[True] > helped[False]  # a campaign helps more people at once


def test_a_tenth_of_the_teams_never_report_and_members_change_now_and_then(
    month_of_teams: list[Any],
) -> None:
    registered = {e.team_id: e for e in of_type(month_of_teams, "team.registered")}
    reporting = {e.team_id for e in of_type(month_of_teams, "activity.reported")}
    assert reporting <= set(registered)
    assert 0.07 < 1 - len(reporting) / len(registered) < 0.14
    changes = of_type(month_of_teams, "team.members_changed")
    assert 300 < len(changes) < 1000 and all(1 <= e.members <= 20 for e in changes)
    for e in changes + of_type(month_of_teams, "activity.reported"):
        team = registered[e.team_id]
        assert (e.district, e.commune) == (team.district, team.commune)
        assert team.occurred_at < e.occurred_at


# --- scale ------------------------------------------------------------------------------------


def test_events_per_day_says_how_busy_the_sources_are(week: list[Any]) -> None:
    for topic in NEW_TOPICS:
        simulation = Simulation(config(topics=(topic,)), plan(config(), MONDAY))
        start = MONDAY + timedelta(minutes=10)  # after the start's onboardings and registrations
        per_day = [e for e in week if e.occurred_at >= start and topic_of(e) == topic]
        assert simulation.events_per_day() == pytest.approx(len(per_day) / 7, rel=0.1), topic


def test_a_multiplier_clones_teams_and_grows_rosters() -> None:
    events = decoded(run(multiplier=2, duration=timedelta(hours=8)))
    teams = {e.team_id for e in of_type(events, "team.registered")}
    assert len(teams) == 2 * len(TEAMS) and set(TEAMS) <= teams
    merchants = [e.merchant_id for e in of_type(events, "merchant.onboarded")]
    full = sum(p["merchants"] for p in MARKETS.values())
    assert len(set(merchants)) == len(merchants) == pytest.approx(2 * 0.6 * full, rel=0.02)


# --- out of order on demand -----------------------------------------------------------------


Reordered = tuple[list[Record], dict[str, int], int]


@pytest.fixture(scope="module")
def reordered() -> Reordered:
    """A day from 08:00 with a tenth of the traders and teams out of order, what each profile
    counted, and the run's fault count."""
    asked = config(start=MONDAY + timedelta(hours=8), faults=FaultConfig(out_of_order=0.1))
    simulation = Simulation(asked, plan(asked, MONDAY))
    records = list(simulation)
    counted = {p.outlet.topic: p.reordered for p in simulation.profiles if isinstance(p, Payments | Teams)}
    return records, counted, simulation.fault_counts["out_of_order"]


def disorder(records: list[Record], limit: timedelta) -> dict[str, Counter[Any]]:
    """Per topic: the keys, those with an event arriving after a later one of theirs, and (type
    newest so far, type arriving) of each such event. Every event is valid, and none arrives more
    than ``limit`` behind the newest before it on its topic, so none would be judged late."""
    out: dict[str, Counter[Any]] = defaultdict(Counter)
    newest: dict[bytes | None, tuple[datetime, str]] = {}
    topic_newest: dict[str, datetime] = {}
    disordered: set[bytes | None] = set()
    for r, e in zip(records, decoded(records), strict=True):
        counts = out[r.topic]
        counts["keys"] += r.key not in newest
        lag = topic_newest.get(r.topic, e.occurred_at) - e.occurred_at
        assert lag <= limit < GRACE, (lag, e)
        if r.key in newest and newest[r.key][0] > e.occurred_at:
            counts["disordered"] += r.key not in disordered
            counts[newest[r.key][1], e.type] += 1
            disordered.add(r.key)
        newest[r.key] = max(newest.get(r.key, (e.occurred_at, e.type)), (e.occurred_at, e.type))
        topic_newest[r.topic] = max(topic_newest.get(r.topic, e.occurred_at), e.occurred_at)
    return out


def bodies(records: list[Record]) -> Counter[tuple[str, str]]:
    """Each record's topic and event without its id (ids go in arrival order)."""
    return Counter((r.topic, re.sub(rb'"event_id":"[^"]+",', b"", r.value).decode()) for r in records)


def test_out_of_order_traders_and_teams_come_in_the_share_asked_within_max_disorder(
    reordered: Reordered,
) -> None:
    records, counted, fault_count = reordered
    topics = disorder(records, timedelta(hours=1))
    for topic in NEW_TOPICS:
        share = topics[topic]["disordered"] / topics[topic]["keys"]
        assert share == pytest.approx(0.1, rel=0.15), topic
        assert counted[topic] == topics[topic]["disordered"], topic  # the profiles count them
    assert fault_count == sum(counted.values())  # and the run reports them
    # An onboarding after the trader's first payment; a re-onboarding before the offboarding.
    market = topics[MARKET_PAYMENTS]
    assert market["payment.completed", "merchant.onboarded"] > 50
    assert market["merchant.onboarded", "merchant.offboarded"] > 50
    # A registration after the team's first activity; two member changes swapped.
    teams = topics[COMMUNITY_ACTIVITIES]
    assert teams["activity.reported", "team.registered"] > 0
    assert teams["team.members_changed", "team.members_changed"] > 100


def test_out_of_order_changes_only_arrival_and_adds_a_swapped_pair_where_nothing_came(
    reordered: Reordered,
) -> None:
    records = reordered[0]
    clean = bodies(run(start=MONDAY + timedelta(hours=8)))
    assert not clean - bodies(records)  # every event of the clean run, as it occurred
    made_up = Counter(orjson.loads(body)["type"] for _, body in (bodies(records) - clean).elements())
    market, teams = (disorder(records, timedelta(hours=1))[t] for t in NEW_TOPICS)
    pairs = market["merchant.onboarded", "merchant.offboarded"]
    assert made_up == {"merchant.offboarded": pairs, "merchant.onboarded": pairs} | {
        "team.members_changed": 2 * teams["team.members_changed", "team.members_changed"]
    }


def test_out_of_order_keeps_within_a_shorter_max_disorder_and_loses_nothing_at_the_end() -> None:
    """A 30 min grace (max_disorder 15 min), 10 s windows, and a run that ends while some held."""
    short = {"duration": timedelta(minutes=20), "volumes": Volumes()}
    start = MONDAY + timedelta(hours=6)
    records = run(start=start, faults=FaultConfig.parse("out_of_order=0.2,grace=30m"), **short)
    topics = disorder(records, timedelta(minutes=15))
    assert all(topics[t]["disordered"] / topics[t]["keys"] > 0.15 for t in NEW_TOPICS)
    clean = run(start=start, **short)
    assert not bodies(clean) - bodies(records)


def test_profiles_learn_the_runs_max_disorder_and_end_from_their_context() -> None:
    asked = config(faults=FaultConfig.parse("out_of_order=0.2,grace=30m"))
    timeline = plan(asked, MONDAY)
    holdbacks = [p.holdback for p in Simulation(asked, timeline).profiles if isinstance(p, Payments | Teams)]
    assert len(holdbacks) == 2
    assert {(h.share, h.max_disorder_ms, h.end_ms) for h in holdbacks} == {
        (0.2, 15 * 60_000, timeline.end_ms)
    }
    live = replace(asked, start=None, live=True, duration=None)
    assert all(
        p.holdback.end_ms is None
        for p in Simulation(live, plan(live, MONDAY)).profiles
        if isinstance(p, Payments | Teams)
    )


def swap(subject: str, first: Payload) -> tuple[Payload, Payload]:
    """The made-up pair of a held entity: its state changed, then back."""
    return {"of": subject, "n": first["n"] + 1}, {"of": subject, "n": first["n"]}


def test_a_holdback_sends_a_first_event_after_the_entitys_next_or_at_max_disorder_with_a_pair() -> None:
    holdback: Holdback[str] = Holdback(0.5, 10_000, 100_000, lambda: 0.0)  # every draw holds
    events: Events = []
    holdback.first("a", b"a", 1_000, {"n": 1}, events)  # held till 11_000
    holdback.first("b", b"b", 2_000, {"n": 2}, events)  # held till 12_000
    holdback.first("c", b"c", 99_500, {"n": 3}, events)  # the run ends too soon to hold it
    assert events == [(99_500, 99_500, b"c", {"n": 3})]
    events.clear()
    holdback.sent(b"a", 5_000, events)  # a's next event: its first arrives just after
    holdback.sent(b"b", 12_001, events)  # too late to take b's along
    holdback.due(12_000, events, swap)  # b's is due at 12_000: not yet
    assert events == [(5_000, 1_000, b"a", {"n": 1})]
    events.clear()
    holdback.due(12_001, events, swap)
    t1 = 2_000 + 1 + 1_000  # at + 1 + 10 % of the held span (draws of 0)
    t2 = t1 + 1 + (12_000 - t1 - 1) // 10
    later, earlier = {"of": "b", "n": 2}, {"of": "b", "n": 3}
    assert events == [(12_000, 2_000, b"b", {"n": 2}), (12_000, t2, b"b", later), (12_000, t1, b"b", earlier)]
    assert holdback.reordered == 2 and not holdback.held


@pytest.mark.parametrize(("ties", "order"), [("key", [b"a", b"z"]), ("held", [b"z", b"a"])])
def test_a_holdback_never_holds_past_the_runs_end_and_breaks_ties_as_asked(
    ties: Literal["key", "held"], order: list[bytes]
) -> None:
    holdback: Holdback[str] = Holdback(1.0, 60_000, 50_000, lambda: 0.5, ties=ties)
    events: Events = []
    holdback.first("z", b"z", 20_000, {"n": 1}, events)
    holdback.first("a", b"a", 30_000, {"n": 1}, events)
    assert {due for _, due, _, _ in holdback.held.values()} == {49_999}  # both at the end
    holdback.due(50_000, events, swap)
    assert [key for _, _, key, _ in events] == [k for k in order for _ in range(3)]
    assert all(t == 49_999 and occurred < 50_000 for t, occurred, _, _ in events)
