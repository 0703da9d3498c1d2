"""Rule evaluation as a pure state machine: KPI values and the prior alerts in, alerts and changes out.

Per rule and dimension value: a value that satisfies the rule makes the alert `pending`; it is
`firing` once it has held for the rule's `for` (at once for `0s`). A value that does not
satisfy it, is null, or is absent ends the alert: a firing alert becomes `resolved`, a pending
one `inactive` (it never fired, nobody was told). So does a rule outside its
`active_time_intervals` (local time; `open_hours` is each by-value's place's opening hours,
from the registry). Nothing here reads a clock or a database, so the whole behaviour is tested
with fixed timestamps.
"""

from __future__ import annotations

import calendar
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.models import Rule, open_hours_offset
from alerts.rules import NamedTimeInterval, TimeInterval, parse_clock
from alerts.template import format_number, render
from ioc.db.alert_rows import AlertState, Change, State

__all__ = [
    "TOTAL",
    "AlertState",
    "Calendar",
    "Change",
    "RuleResult",
    "Schedule",
    "State",
    "alert_labels",
    "evaluate_rule",
    "fingerprint",
    "holds",
    "interval_matches",
    "open_at",
    "render_annotations",
    "retire",
    "rule_active",
    "schedule_of",
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


def render_annotations(
    rule: Rule, value: float | None, by_value: str | None, by_name: str | None = None
) -> dict[str, str]:
    names = {
        "value": format_number(value),
        "by_value": TOTAL if by_value is None else by_value,
        "by_name": by_name or (TOTAL if by_value is None else by_value),
        "rule": rule.name,
        "kpi": rule.kpi,
        "window": rule.display_window,
        "threshold": format_number(rule.threshold),
    }
    return {k: render(v, names) for k, v in rule.annotations.items()}


# -- when a rule is active ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Schedule:
    """A place's opening hours: `days` 0 = Monday (None: daily), `opens`/`closes` in minutes after
    midnight; closing at or before opening runs past midnight into the next day."""

    days: frozenset[int] | None
    opens: int
    closes: int


def schedule_of(place: Mapping[str, object]) -> Schedule | None:
    """A registry place's `schedule` ("daily" or weekday numbers, 0 = Monday), `opens` and
    `closes` ("HH:MM"); None when it has none (or they cannot be read): then always open."""
    days, opens, closes = place.get("schedule"), place.get("opens"), place.get("closes")
    try:
        hours = parse_clock(opens), parse_clock(closes)
    except ValueError:
        return None
    if days == "daily":
        return Schedule(None, *hours)
    if isinstance(days, list | tuple) and all(type(d) is int and 0 <= d <= 6 for d in days):
        return Schedule(frozenset(days), *hours)
    return None


def open_at(schedule: Schedule, local: datetime, after_opening: timedelta = timedelta(0)) -> bool:
    """Whether the place is open at local time `local`, from `after_opening` after it opens."""
    now = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    length = ((schedule.closes - schedule.opens) % 1440 or 1440) * 60
    for back in (0, 1):  # the opening of today, and yesterday's when it runs past midnight
        day = (local.weekday() - back) % 7
        since = now + back * 86_400 - schedule.opens * 60
        if (
            schedule.days is None or day in schedule.days
        ) and after_opening.total_seconds() <= since < length:
            return True
    return False


def interval_matches(interval: TimeInterval, local: datetime) -> bool:
    """Alertmanager's rule: every field given matches local time `local` (ends excluded)."""
    minute = local.hour * 60 + local.minute
    if interval.times and not any(r.start_time <= minute < r.end_time for r in interval.times):
        return False
    if interval.weekdays and not any(a <= local.weekday() <= b for a, b in interval.weekdays):
        return False
    if interval.months and not any(a <= local.month <= b for a, b in interval.months):
        return False
    if not interval.days_of_month:
        return True
    last = calendar.monthrange(local.year, local.month)[1]
    for a, b in interval.days_of_month:  # negative: from the month's end; clamped to the month
        begin, end = (a if a > 0 else last + a + 1), (b if b > 0 else last + b + 1)
        if begin <= last and max(begin, 1) <= local.day <= min(end, last):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Calendar:
    """Local time (IOC_TIMEZONE) and the places' opening hours by kind and code (`open_hours`)."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))
    places: Mapping[str, Mapping[str, Schedule]] = field(default_factory=dict)


def rule_active(
    rule: Rule,
    intervals: Mapping[str, NamedTimeInterval],
    by_value: str | None,
    *,
    now: datetime,
    cal: Calendar,
) -> bool:
    """Whether `now` is in one of the rule's active intervals (always, when it names none). Under
    `open_hours`, a by-value whose place has no schedule in the registry is always active."""
    if not rule.active_time_intervals:
        return True
    local = now.astimezone(cal.timezone)
    for name in rule.active_time_intervals:
        after_opening = open_hours_offset(name)
        if after_opening is not None:
            schedule = cal.places.get(rule.by or "", {}).get(by_value or "")
            if schedule is None or open_at(schedule, local, after_opening):
                return True
        elif name in intervals and any(interval_matches(i, local) for i in intervals[name].time_intervals):
            return True
    return False


# -- the state machine ---------------------------------------------------------------------------


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
    active: Callable[[str | None], bool] = lambda _by_value: True,
    by_name: Callable[[str | None], str | None] = lambda _by_value: None,
) -> RuleResult:
    """Advance one rule's alerts to `now` given the KPI's values (`{"": total}` without `by`);
    `active(by_value)` says whether the rule is in its active time intervals for that value,
    `by_name(by_value)` its registry name for `{{ by_name }}` (None: the value itself)."""
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
        if not holds(rule, value) or not active(by_value):
            if old is not None:
                ended = _end(old, value, now)
                result.changes.append(Change(ended, old.state, now))
                result.updated.append(ended)
            continue
        notes = render_annotations(rule, value, by_value, by_name(by_value))
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
