"""The evaluation state machine, data in and data out, on a clock that moves only when told."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.evaluate import (
    AlertState,
    RuleResult,
    alert_labels,
    evaluate_rule,
    fingerprint,
    holds,
    retire,
)
from alerts.rules import Rule
from ioc.clock import FixedClock

T0 = datetime(2025, 3, 3, 2, 30, tzinfo=UTC)


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
