"""Rule evaluation as a pure state machine: KPI values and the prior alerts in, alerts and changes out.

Per rule and dimension value: a value that satisfies the rule makes the alert `pending`; it is
`firing` once it has held for the rule's `for` (at once for `0s`). A value that does not
satisfy it, is null, or is absent ends the alert: a firing alert becomes `resolved`, a pending
one `inactive` (it never fired, nobody was told). Nothing here reads a clock or a database, so
the whole behaviour is tested with fixed timestamps.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from alerts.models import Rule
from alerts.template import format_number, render
from ioc.db.alert_rows import AlertState, Change, State

__all__ = [
    "TOTAL",
    "AlertState",
    "Change",
    "RuleResult",
    "State",
    "alert_labels",
    "evaluate_rule",
    "fingerprint",
    "holds",
    "render_annotations",
    "retire",
]

TOTAL = "total"
"""`{{ by_value }}` of a rule without `by`: the KPI's total."""

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEPARATOR = 0xFF


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set: FNV-1a 64 over sorted names and values.

    The same function as prometheus/common's `labelSetToFingerprint`, so an alert has the same
    identity here, in our webhooks, and inside an Alertmanager we post to.
    """
    h = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode("utf-8"):
                h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
            h = ((h ^ _SEPARATOR) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def holds(rule: Rule, value: float | None) -> bool:
    """Whether `value` satisfies the rule; null (and NaN) never does."""
    if value is None or math.isnan(value):
        return False
    return _OPS[rule.op](value, rule.threshold)


def alert_labels(rule: Rule, by_value: str | None) -> dict[str, str]:
    """alertname, severity, the rule's labels and, with `by`, the dimension under its own name."""
    labels = {"alertname": rule.name, "severity": rule.severity, **rule.labels}
    if rule.by is not None and by_value is not None:
        labels[rule.by] = by_value
    return labels


def render_annotations(rule: Rule, value: float | None, by_value: str | None) -> dict[str, str]:
    names = {
        "value": format_number(value),
        "by_value": TOTAL if by_value is None else by_value,
        "rule": rule.name,
        "kpi": rule.kpi,
        "window": rule.display_window,
        "threshold": format_number(rule.threshold),
    }
    return {k: render(v, names) for k, v in rule.annotations.items()}


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule's evaluation: its active alerts by fingerprint, and what changed."""

    active: dict[str, AlertState] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    updated: list[AlertState] = field(default_factory=list)
    """Every alert whose stored row differs from before (state, value, annotations, silence)."""

    @property
    def firing(self) -> list[AlertState]:
        return [a for a in self.active.values() if a.state == "firing"]

    @property
    def resolved(self) -> list[AlertState]:
        return [c.alert for c in self.changes if c.alert.state == "resolved"]


def _end(old: AlertState, value: float | None, now: datetime) -> AlertState:
    if old.state == "firing":
        return replace(old, state="resolved", resolved_at=now, value=value, updated_at=now)
    return replace(old, state="inactive", value=value, updated_at=now)


def evaluate_rule(
    rule: Rule,
    values: Mapping[str, float | None],
    prior: Mapping[str, AlertState],
    *,
    now: datetime,
    silenced: Callable[[Mapping[str, str]], bool] = lambda _labels: False,
) -> RuleResult:
    """Advance one rule's alerts to `now` given the KPI's values (`{"": total}` without `by`)."""
    result = RuleResult()
    wanted = sorted(values.items()) if rule.by is not None else [("", values.get(""))]
    seen: set[str] = set()
    for key, value in wanted:
        if rule.by is not None and key == "":
            continue  # a breakdown value must name something; an empty label would vanish
        by_value = key if rule.by is not None else None
        labels = alert_labels(rule, by_value)
        fp = fingerprint(labels)
        seen.add(fp)
        old = prior.get(fp)
        if not holds(rule, value):
            if old is not None:
                ended = _end(old, value, now)
                result.changes.append(Change(ended, old.state, now))
                result.updated.append(ended)
            continue
        notes = render_annotations(rule, value, by_value)
        quiet = silenced(labels)
        if old is None:
            alert = AlertState(
                rule=rule.name,
                fingerprint=fp,
                state="pending",
                severity=rule.severity,
                kpi=rule.kpi,
                window=rule.query_window,
                by=rule.by,
                by_value=by_value,
                labels=labels,
                annotations=notes,
                value=value,
                active_since=now,
                updated_at=now,
                silenced=quiet,
            )
        else:
            alert = replace(old, annotations=notes, value=value, silenced=quiet, window=rule.query_window)
        if alert.state == "pending" and now - alert.active_since >= rule.for_:
            alert = replace(alert, state="firing", firing_since=now)
        if old is None or alert != old:
            alert = replace(alert, updated_at=now)
            result.updated.append(alert)
        if old is None or alert.state != old.state:
            result.changes.append(Change(alert, old.state if old else None, now))
        result.active[fp] = alert
    for fp, old in sorted(prior.items()):
        if fp not in seen:  # absent now: the same as null
            ended = _end(old, None, now)
            result.changes.append(Change(ended, old.state, now))
            result.updated.append(ended)
    return result


def retire(prior: Mapping[str, AlertState], *, now: datetime) -> RuleResult:
    """End the alerts of a rule that left the rules file (as if its value were null)."""
    result = RuleResult()
    for _fp, old in sorted(prior.items()):
        ended = _end(old, None, now)
        result.changes.append(Change(ended, old.state, now))
        result.updated.append(ended)
    return result
