"""The evaluation state machine, data in and data out, on a clock that moves only when told."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.db_source import DatabaseKpiSource
from alerts.durations import parse_duration
from alerts.evaluate import (
    AlertState,
    Calendar,
    RuleResult,
    Schedule,
    alert_labels,
    evaluate_rule,
    fingerprint,
    holds,
    interval_matches,
    open_at,
    retire,
    rule_active,
    schedule_of,
)
from alerts.round import calendar_from, calendar_of, evaluate_rules
from alerts.rules import NamedTimeInterval, Rule, TimeInterval, load_rules
from alerts.source import MemoryKpiSource
from ioc.clock import FixedClock
from ioc.kpi.context import context_from
from ioc.registry import load_registry
from ioc.settings import DatabaseSettings, KpiSettings
from sources import SOURCES

T0 = datetime(2025, 3, 3, 2, 30, tzinfo=UTC)
SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "alerts" / "rules.yml"


def make_rule(**overrides: Any) -> Rule:
    fields: dict[str, Any] = {
        "name": "PortalOnTimeLow",
        "kpi": "portal.on_time_pct",
        "window": "1h",
        "by": "agency",
        "op": "<",
        "threshold": 90,
        "for": "5m",
        "labels": {"team": "portal"},
        "annotations": {"summary": "On-time rate {{ value }} % at {{ by_value }}"},
    }
    fields.update(overrides)
    return Rule.model_validate({k: v for k, v in fields.items() if v is not None})


class Run:
    """Feeds one rule its values round after round, keeping the active alerts like the service."""

    def __init__(self, rule: Rule, *, silenced: frozenset[str] = frozenset()) -> None:
        self.rule = rule
        self.clock = FixedClock(T0)
        self.active: dict[str, AlertState] = {}
        self.silenced_values = silenced

    def step(self, values: Mapping[str, float | None], *, after: timedelta = timedelta(0)) -> RuleResult:
        self.clock.advance(after)
        rule = self.rule
        result = evaluate_rule(
            rule,
            values,
            self.active,
            now=self.clock.now(),
            silenced=lambda labels: labels.get(rule.by or "") in self.silenced_values,
        )
        self.active = result.active
        return result

    def states(self) -> dict[str | None, str]:
        return {a.by_value: a.state for a in self.active.values()}


def transitions(result: RuleResult) -> list[tuple[str | None, str | None, str]]:
    return [(c.alert.by_value, c.previous, c.alert.state) for c in result.changes]


def test_pending_then_firing_after_for() -> None:
    run = Run(make_rule())
    r = run.step({"SO_TTTT": 80.0, "SO_YTE": 95.0})
    assert transitions(r) == [("SO_TTTT", None, "pending")]
    assert run.states() == {"SO_TTTT": "pending"}
    r = run.step({"SO_TTTT": 81.0, "SO_YTE": 95.0}, after=timedelta(minutes=4, seconds=59))
    assert transitions(r) == [] and run.states() == {"SO_TTTT": "pending"}
    assert [a.value for a in r.updated] == [81.0]  # the value is kept fresh while pending
    r = run.step({"SO_TTTT": 82.0}, after=timedelta(seconds=1))
    assert transitions(r) == [("SO_TTTT", "pending", "firing")]
    (alert,) = r.firing
    assert alert.active_since == T0 and alert.firing_since == T0 + timedelta(minutes=5)
    assert alert.annotations == {"summary": "On-time rate 82 % at SO_TTTT"}


def test_zero_for_fires_at_once() -> None:
    run = Run(make_rule(**{"for": "0s"}))
    r = run.step({"SO_TTTT": 10.0})
    assert transitions(r) == [("SO_TTTT", None, "firing")]
    assert r.firing[0].firing_since == r.firing[0].active_since == T0


def test_a_pending_alert_that_clears_becomes_inactive_and_starts_over() -> None:
    run = Run(make_rule())
    run.step({"SO_TTTT": 80.0})
    r = run.step({"SO_TTTT": 95.0}, after=timedelta(minutes=3))
    assert transitions(r) == [("SO_TTTT", "pending", "inactive")] and run.active == {}
    run.step({"SO_TTTT": 80.0}, after=timedelta(minutes=1))
    r = run.step({"SO_TTTT": 80.0}, after=timedelta(minutes=4))
    assert run.states() == {"SO_TTTT": "pending"}  # 4 min into its new pending period
    r = run.step({"SO_TTTT": 80.0}, after=timedelta(minutes=1))
    assert transitions(r) == [("SO_TTTT", "pending", "firing")]


@pytest.mark.parametrize("gone", [{"SO_TTTT": None}, {}, {"SO_TTTT": float("nan")}])
def test_null_nan_or_absent_resolves_a_firing_alert(gone: dict[str, float | None]) -> None:
    run = Run(make_rule(**{"for": "0s"}))
    run.step({"SO_TTTT": 50.0})
    r = run.step(gone, after=timedelta(seconds=5))
    assert transitions(r) == [("SO_TTTT", "firing", "resolved")]
    (resolved,) = r.resolved
    assert resolved.resolved_at == T0 + timedelta(seconds=5) and resolved.firing_since == T0
    assert resolved.annotations == {"summary": "On-time rate 50 % at SO_TTTT"}  # as last fired
    assert run.active == {}


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_null_never_satisfies_any_operator(op: str) -> None:
    rule = make_rule(op=op, threshold=0)
    assert not holds(rule, None)
    assert not holds(rule, float("nan"))


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("<", 89.9, True),
        ("<", 90, False),
        ("<=", 90, True),
        (">", 90, False),
        (">", 90.1, True),
        (">=", 90, True),
        ("==", 90, True),
        ("==", 90.5, False),
        ("!=", 90.5, True),
        ("!=", 90, False),
    ],
)
def test_operators(op: str, value: float, expected: bool) -> None:
    assert holds(make_rule(op=op), value) is expected


def test_one_alert_per_dimension_value_with_its_own_labels() -> None:
    run = Run(make_rule(**{"for": "0s"}))
    r = run.step({"SO_TTTT": 50.0, "SO_YTE": 60.0, "SO_GDDT": 99.0, "": 10.0})
    assert sorted(a.by_value or "" for a in r.firing) == ["SO_TTTT", "SO_YTE"]
    labels = {a.by_value: a.labels for a in r.firing}
    assert labels["SO_TTTT"] == {
        "alertname": "PortalOnTimeLow",
        "severity": "warning",
        "team": "portal",
        "agency": "SO_TTTT",
    }
    assert len({a.fingerprint for a in r.firing}) == 2
    r = run.step({"SO_TTTT": 95.0, "SO_YTE": 61.0}, after=timedelta(seconds=5))
    assert transitions(r) == [("SO_TTTT", "firing", "resolved")]
    assert run.states() == {"SO_YTE": "firing"}


def test_without_by_the_total_is_used() -> None:
    run = Run(make_rule(by=None, **{"for": "0s"}))
    r = run.step({"": 70.0, "SO_TTTT": 99.0})
    (alert,) = r.firing
    assert alert.by_value is None and "agency" not in alert.labels
    assert alert.annotations["summary"] == "On-time rate 70 % at total"


def test_silenced_alerts_still_fire_and_carry_the_flag() -> None:
    run = Run(make_rule(**{"for": "0s"}), silenced=frozenset({"SO_TTTT"}))
    r = run.step({"SO_TTTT": 50.0, "SO_YTE": 50.0})
    flags = {a.by_value: a.silenced for a in r.firing}
    assert flags == {"SO_TTTT": True, "SO_YTE": False}
    run.silenced_values = frozenset()
    r = run.step({"SO_TTTT": 50.0, "SO_YTE": 50.0}, after=timedelta(seconds=5))
    assert transitions(r) == [] and [a.by_value for a in r.updated] == ["SO_TTTT"]


def test_unchanged_alerts_are_not_rewritten() -> None:
    run = Run(make_rule(**{"for": "0s"}))
    run.step({"SO_TTTT": 50.0})
    r = run.step({"SO_TTTT": 50.0}, after=timedelta(seconds=5))
    assert r.updated == [] and r.changes == []
    assert r.firing[0].updated_at == T0


def test_a_rule_change_that_keeps_the_labels_keeps_the_alert() -> None:
    run = Run(make_rule(**{"for": "0s"}))
    run.step({"SO_TTTT": 50.0})
    run.rule = make_rule(threshold=60, **{"for": "0s"})
    r = run.step({"SO_TTTT": 50.0}, after=timedelta(seconds=5))
    assert r.changes == [] and r.firing[0].firing_since == T0


def test_a_changed_label_is_a_new_alert() -> None:
    run = Run(make_rule(**{"for": "0s"}))
    run.step({"SO_TTTT": 50.0})
    run.rule = make_rule(severity="critical", **{"for": "0s"})
    r = run.step({"SO_TTTT": 50.0}, after=timedelta(seconds=5))
    assert sorted((str(c.previous), c.alert.state, c.alert.severity) for c in r.changes) == [
        ("None", "firing", "critical"),
        ("firing", "resolved", "warning"),
    ]


def test_retire_ends_every_alert_of_a_removed_rule() -> None:
    run = Run(make_rule(**{"for": "5m"}))
    run.step({"SO_TTTT": 50.0})
    run.step({"SO_TTTT": 50.0, "SO_YTE": 50.0}, after=timedelta(minutes=5))
    assert run.states() == {"SO_TTTT": "firing", "SO_YTE": "pending"}
    r = retire(run.active, now=T0 + timedelta(minutes=6))
    assert sorted((c.alert.by_value, c.alert.state) for c in r.changes) == [
        ("SO_TTTT", "resolved"),
        ("SO_YTE", "inactive"),
    ]
    assert r.active == {}


def test_window_placeholders_for_state_and_windowed_kpis() -> None:
    notes = {"d": "{{ rule }} {{ kpi }} {{ window }} {{ threshold }}"}
    state = make_rule(kpi="eoffice.overdue", op=">", threshold=20, annotations=notes, **{"for": "0s"})
    r = evaluate_rule(state, {"SO_TTTT": 21.0}, {}, now=T0)
    assert r.firing[0].annotations == {"d": "PortalOnTimeLow eoffice.overdue now 20"}
    windowed = make_rule(window="5m", threshold=92.5, annotations=notes, **{"for": "0s"})
    r = evaluate_rule(windowed, {"SO_TTTT": 21.0}, {}, now=T0)
    assert r.firing[0].annotations == {"d": "PortalOnTimeLow portal.on_time_pct 5m 92.5"}


# -- fingerprints ----------------------------------------------------------------------------


def test_fingerprint_matches_alertmanager() -> None:
    """Values read back from a real Alertmanager 0.25 given these label sets."""
    labels = {"alertname": "PortalOnTimeLow", "severity": "warning", "team": "portal", "agency": "SO_TTTT"}
    assert fingerprint(labels) == "17b735c96526047c"
    assert fingerprint({"alertname": "Ünï", "severity": "critical"}) == "a4eb8dc04f347cbf"
    assert fingerprint({}) == "cbf29ce484222325"


@given(st.dictionaries(st.text(min_size=1), st.text(), max_size=6))
def test_fingerprint_ignores_label_order(labels: dict[str, str]) -> None:
    reordered = dict(reversed(list(labels.items())))
    assert fingerprint(labels) == fingerprint(reordered)
    assert len(fingerprint(labels)) == 16


def test_fingerprint_is_stable_across_evaluations_and_values() -> None:
    rule = make_rule(**{"for": "0s"})
    a = evaluate_rule(rule, {"SO_TTTT": 50.0}, {}, now=T0).firing[0]
    b = evaluate_rule(rule, {"SO_TTTT": 10.0}, {}, now=T0 + timedelta(days=1)).firing[0]
    assert a.fingerprint == b.fingerprint == fingerprint(alert_labels(rule, "SO_TTTT"))
    # name and value are separated: {"ab": "c"} is not {"a": "bc"}
    assert fingerprint({"ab": "c"}) != fingerprint({"a": "bc"})


# -- active time intervals ------------------------------------------------------------------------

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MON = datetime(2025, 6, 2)  # a Monday; MON + n days is weekday n (0 = Monday)


def at(day: int, hhmm: str, second: int = 0) -> datetime:
    """Local wall time (naive: the interval functions take local time) on weekday `day` of that week."""
    h, m = map(int, hhmm.split(":"))
    return MON + timedelta(days=day, hours=h, minutes=m, seconds=second)


def interval(**fields: Any) -> TimeInterval:
    return TimeInterval.model_validate(fields)


MARKET_HOURS = interval(times=[{"start_time": "06:00", "end_time": "11:00"}], weekdays=["monday:saturday"])


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        (at(0, "05:59", 59), False),
        (at(0, "06:00"), True),  # start included
        (at(0, "10:59", 59), True),
        (at(0, "11:00"), False),  # end excluded
        (at(5, "08:00"), True),  # Saturday: the range's end is included
        (at(6, "08:00"), False),  # Sunday
        (at(7, "06:00"), True),  # the next Monday
    ],
)
def test_times_and_weekday_range_boundaries(when: datetime, inside: bool) -> None:
    assert interval_matches(MARKET_HOURS, when) is inside


def test_weekday_ranges_single_days_and_several_entries() -> None:
    iv = interval(weekdays=["tuesday", "thursday:friday", "SUNDAY"])
    assert [interval_matches(iv, at(d, "12:00")) for d in range(7)] == [
        False, True, False, True, True, False, True,
    ]  # fmt: skip
    every = interval(weekdays=["monday:sunday"])
    assert all(interval_matches(every, at(d, "00:00")) for d in range(7))


def test_several_time_ranges_and_the_end_of_the_day() -> None:
    iv = interval(
        times=[{"start_time": "00:00", "end_time": "06:00"}, {"start_time": "22:00", "end_time": "24:00"}]
    )
    inside = ["00:00", "05:59", "22:00", "23:59"]
    outside = ["06:00", "12:00", "21:59"]
    assert all(interval_matches(iv, at(2, t)) for t in inside)
    assert not any(interval_matches(iv, at(2, t)) for t in outside)
    assert interval_matches(iv, at(2, "23:59", 59))


def test_an_empty_interval_always_matches_and_every_field_must() -> None:
    assert interval_matches(interval(), at(3, "03:33"))
    both = interval(weekdays=["monday"], months=["july"])
    assert not interval_matches(both, at(0, "12:00"))  # a Monday in June
    assert interval_matches(both, datetime(2025, 7, 7, 12))  # a Monday in July
    assert not interval_matches(both, datetime(2025, 7, 8, 12))  # a Tuesday in July


@pytest.mark.parametrize(
    ("days", "date", "inside"),
    [
        ("1:7", datetime(2025, 6, 1), True),
        ("1:7", datetime(2025, 6, 7, 23, 59), True),
        ("1:7", datetime(2025, 6, 8), False),
        ("-1", datetime(2025, 6, 30), True),  # the last day of a 30-day month
        ("-1", datetime(2025, 6, 29), False),
        ("-1", datetime(2024, 2, 29), True),  # a leap February
        ("-1", datetime(2025, 2, 28), True),
        ("-3:-1", datetime(2025, 2, 26), True),
        ("-3:-1", datetime(2025, 2, 25), False),
        ("1:-1", datetime(2025, 2, 14), True),  # mixed signs: the whole month
        ("25:31", datetime(2025, 2, 28), True),  # clamped to the month's end
        ("30:31", datetime(2025, 2, 28), False),  # begins after February ends: no day
        ("-31:3", datetime(2025, 2, 1), True),  # clamped to the month's start
        ("15", datetime(2025, 6, 15, 12), True),
        ("15", datetime(2025, 6, 16), False),
    ],
)
def test_days_of_the_month(days: str, date: datetime, inside: bool) -> None:
    assert interval_matches(interval(days_of_month=[days]), date) is inside


def test_months_by_name_and_number() -> None:
    iv = interval(months=["january:march", "12"])
    hits = [m for m in range(1, 13) if interval_matches(iv, datetime(2025, m, 10))]
    assert hits == [1, 2, 3, 12]


# -- the registry's opening hours ------------------------------------------------------------------

DAILY = Schedule(None, 5 * 60 + 30, 11 * 60 + 30)
THURSDAYS = Schedule(frozenset({3}), 5 * 60 + 30, 11 * 60 + 30)
NIGHT = Schedule(frozenset({5}), 18 * 60, 2 * 60)  # Saturday 18:00 to Sunday 02:00


@pytest.mark.parametrize(
    ("place", "schedule"),
    [
        ({"schedule": "daily", "opens": "05:30", "closes": "11:30"}, DAILY),
        ({"schedule": [3], "opens": "05:30", "closes": "11:30"}, THURSDAYS),
        ({"schedule": [5], "opens": "18:00", "closes": "02:00"}, NIGHT),
        ({"schedule": [0, 6], "opens": "00:00", "closes": "24:00"}, Schedule(frozenset({0, 6}), 0, 1440)),
        ({"merchants": 240}, None),  # no hours: always open
        ({"schedule": "daily", "opens": "05:30"}, None),
        ({"schedule": "weekly", "opens": "05:30", "closes": "11:30"}, None),
        ({"schedule": [7], "opens": "05:30", "closes": "11:30"}, None),
        ({"schedule": ["monday"], "opens": "05:30", "closes": "11:30"}, None),
        ({"schedule": "daily", "opens": "5h", "closes": "11:30"}, None),
    ],
)
def test_schedule_of_a_registry_place(place: dict[str, object], schedule: Schedule | None) -> None:
    assert schedule_of(place) == schedule


def test_every_shipped_market_has_readable_hours() -> None:
    markets = load_registry(None).places["market"]
    assert markets and all(schedule_of(m.model_extra or {}) is not None for m in markets)


@pytest.mark.parametrize(
    ("schedule", "when", "after", "inside"),
    [
        (DAILY, at(0, "05:29", 59), "0s", False),
        (DAILY, at(0, "05:30"), "0s", True),  # opening included
        (DAILY, at(0, "11:29", 59), "0s", True),
        (DAILY, at(0, "11:30"), "0s", False),  # closing excluded
        (DAILY, at(6, "09:00"), "0s", True),
        (DAILY, at(0, "06:29", 59), "1h", False),  # the first hour after opening left out
        (DAILY, at(0, "06:30"), "1h", True),
        (DAILY, at(0, "11:29"), "1h", True),
        (DAILY, at(0, "11:30"), "1h", False),
        (DAILY, at(0, "09:00"), "6h", False),  # nothing left of the day
        (THURSDAYS, at(3, "09:00"), "0s", True),
        (THURSDAYS, at(2, "09:00"), "0s", False),  # a weekly market: only its market day
        (THURSDAYS, at(4, "09:00"), "0s", False),
        (THURSDAYS, at(3, "12:00"), "0s", False),
        (NIGHT, at(5, "17:59"), "0s", False),
        (NIGHT, at(5, "18:00"), "0s", True),
        (NIGHT, at(5, "23:59", 59), "0s", True),
        (NIGHT, at(6, "00:00"), "0s", True),  # across midnight, into Sunday
        (NIGHT, at(6, "01:59", 59), "0s", True),
        (NIGHT, at(6, "02:00"), "0s", False),
        (NIGHT, at(6, "18:00"), "0s", False),  # Sunday evening: not a market day
        (NIGHT, at(4, "23:00"), "0s", False),
        (NIGHT, at(6, "00:59"), "7h", False),  # opening + 7h is 01:00 on Sunday
        (NIGHT, at(6, "01:00"), "7h", True),
        (Schedule(None, 8 * 60, 8 * 60), at(1, "07:59"), "0s", True),  # opens = closes: 24 hours
    ],
)
def test_open_at(schedule: Schedule, when: datetime, after: str, inside: bool) -> None:
    assert open_at(schedule, when, parse_duration(after)) is inside


def market_rule(intervals: list[str], by: str | None = "market") -> Rule:
    return make_rule(
        name="MarketPaymentsStopped",
        kpi="market.payments",
        by=by,
        op="==",
        threshold=0,
        labels={},
        annotations={},
        active_time_intervals=intervals,
        **{"for": "0s"},
    )


CAL = Calendar(HCM, {"market": {"CHO_A": DAILY, "CHO_THU": THURSDAYS}})


def utc(local: datetime) -> datetime:
    return local.replace(tzinfo=HCM).astimezone(UTC)


def test_rule_active_judges_local_time_of_the_by_values_place() -> None:
    rule = market_rule(["open_hours"])
    thursday_9 = utc(at(3, "09:00"))  # 02:00 UTC
    assert rule_active(rule, {}, "CHO_A", now=thursday_9, cal=CAL)
    assert rule_active(rule, {}, "CHO_THU", now=thursday_9, cal=CAL)
    friday_9 = utc(at(4, "09:00"))
    assert rule_active(rule, {}, "CHO_A", now=friday_9, cal=CAL)
    assert not rule_active(rule, {}, "CHO_THU", now=friday_9, cal=CAL)
    # without a schedule in the registry: always active
    assert rule_active(rule, {}, "CHO_NOT_IN_REGISTRY", now=utc(at(4, "03:00")), cal=CAL)
    assert not rule_active(rule, {}, "CHO_A", now=utc(at(4, "03:00")), cal=CAL)
    # 02:00 UTC is 09:00 in Ho Chi Minh City (open) and 02:00 in a UTC calendar (closed)
    early = datetime(2025, 6, 5, 2, 0, tzinfo=UTC)
    assert rule_active(rule, {}, "CHO_A", now=early, cal=CAL)
    assert not rule_active(rule, {}, "CHO_A", now=early, cal=Calendar(ZoneInfo("UTC"), CAL.places))


def test_rule_active_with_named_intervals_any_of_them() -> None:
    named = {
        "mornings": NamedTimeInterval(name="mornings", time_intervals=(MARKET_HOURS,)),
        "never": NamedTimeInterval(name="never", time_intervals=()),
    }
    assert rule_active(market_rule([]), named, "CHO_A", now=utc(at(6, "03:00")), cal=CAL)  # none: always
    rule = market_rule(["never", "mornings"])
    assert rule_active(rule, named, "CHO_THU", now=utc(at(1, "07:00")), cal=CAL)
    assert not rule_active(rule, named, "CHO_THU", now=utc(at(1, "12:00")), cal=CAL)
    assert not rule_active(market_rule(["never"]), named, None, now=utc(at(1, "07:00")), cal=CAL)
    either = market_rule(["mornings", "open_hours"])
    assert rule_active(either, named, "CHO_THU", now=utc(at(3, "11:15")), cal=CAL)  # its market day
    assert not rule_active(either, named, "CHO_THU", now=utc(at(4, "11:15")), cal=CAL)


def test_outside_its_intervals_a_pending_alert_resets_and_a_firing_one_resolves() -> None:
    rule = make_rule(**{"for": "5m"})
    open_now = {"yes": True}
    run = Run(rule)

    def step(after: timedelta) -> RuleResult:
        run.clock.advance(after)
        result = evaluate_rule(
            rule, {"SO_TTTT": 50.0}, run.active, now=run.clock.now(), active=lambda _v: open_now["yes"]
        )
        run.active = result.active
        return result

    assert transitions(step(timedelta(0))) == [("SO_TTTT", None, "pending")]
    open_now["yes"] = False
    assert transitions(step(timedelta(minutes=3))) == [("SO_TTTT", "pending", "inactive")]
    assert transitions(step(timedelta(minutes=3))) == []  # nothing, while outside
    open_now["yes"] = True
    assert transitions(step(timedelta(0))) == [("SO_TTTT", None, "pending")]  # starts over
    assert transitions(step(timedelta(minutes=5))) == [("SO_TTTT", "pending", "firing")]
    open_now["yes"] = False
    r = step(timedelta(seconds=5))
    assert transitions(r) == [("SO_TTTT", "firing", "resolved")] and r.resolved[0].value == 50.0


# -- the shipped rule, evaluated round after round ---------------------------------------------------


async def test_the_shipped_market_rule_fires_only_in_market_hours() -> None:
    """MarketPaymentsStopped on the shipped registry: CHO_TAM_CO trades daily 05:00-18:00,
    CHO_HUNG_LOI on Thursdays 05:30-11:30, CHO_KIM_BINH on Mondays; none of them sells anything."""
    rules = load_rules(SHIPPED)
    only = rules.model_copy(update={"rules": (rules.rule_by_name["MarketPaymentsStopped"],)})
    source = MemoryKpiSource()
    source.set("market.payments", {"CHO_TAM_CO": 0, "CHO_HUNG_LOI": 0, "CHO_KIM_BINH": 0}, by="market")
    active: dict[str, dict[str, AlertState]] = {}

    def unreadable(rule: Rule, exc: Exception) -> None:
        pytest.fail(f"{rule.name}: {exc}")

    async def states(local: datetime) -> dict[str | None, str]:
        results = await evaluate_rules(only, source, active, now=utc(local), unreadable=unreadable)
        for name, result in results.items():
            active[name] = result.active
        return {a.by_value: a.state for a in active.get("MarketPaymentsStopped", {}).values()}

    thursday = 3
    assert await states(at(thursday, "04:00")) == {}  # night: nobody is judged
    assert await states(at(thursday, "05:59")) == {}  # open, but within the first hour
    assert await states(at(thursday, "06:00")) == {"CHO_TAM_CO": "pending"}
    assert await states(at(thursday, "06:30")) == {"CHO_TAM_CO": "firing", "CHO_HUNG_LOI": "pending"}
    assert await states(at(thursday, "07:00")) == {"CHO_TAM_CO": "firing", "CHO_HUNG_LOI": "firing"}
    assert await states(at(thursday, "11:30")) == {"CHO_TAM_CO": "firing"}  # the weekly market closed
    assert await states(at(thursday, "18:00")) == {}
    assert await states(at(thursday + 1, "09:00")) == {"CHO_TAM_CO": "pending"}  # not Hung Loi's day
    assert await states(at(thursday + 1, "18:00")) == {}
    assert await states(at(thursday + 4, "09:00")) == {"CHO_TAM_CO": "pending", "CHO_KIM_BINH": "pending"}
    source.set("market.payments", {"CHO_TAM_CO": 3, "CHO_HUNG_LOI": 0, "CHO_KIM_BINH": 1}, by="market")
    assert await states(at(thursday + 4, "09:01")) == {}  # paid again


async def test_the_calendar_comes_from_the_sources_kpi_context() -> None:
    ctx = context_from(KpiSettings(timezone="UTC"), SOURCES)
    rules = load_rules(SHIPPED)
    cal = calendar_of(DatabaseKpiSource(DatabaseSettings(), ctx), rules)
    assert cal.timezone == ZoneInfo("UTC")
    assert cal.places["market"]["CHO_HUNG_LOI"] == THURSDAYS
    assert calendar_of(MemoryKpiSource(), rules).timezone == HCM  # no context: the defaults
    assert calendar_from(ctx.registry, HCM, ["district", "team"]).places == {"district": {}, "team": {}}
