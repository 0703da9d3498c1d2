"""One evaluation round apart from its storage: every rule evaluated, then what each receiver
is owed (its new notification log and the outbox bodies).

The service stores a round's outcome in one transaction with the alerts, so what is decided
here is either all stored or not at all. Only the KPI reads do I/O, through the `KpiSource`.

Rules' time intervals are judged in the time zone, and `open_hours` from the registry, that the
KPIs are computed with: the source's `KpiContext` (IOC_TIMEZONE, IOC_REGISTRY_FILE), or, for a
source without one (tests, dry runs), Asia/Ho_Chi_Minh and the shipped registry.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.durations import format_duration
from alerts.evaluate import (
    AlertState,
    Calendar,
    RuleResult,
    Schedule,
    evaluate_rule,
    retire,
    rule_active,
    schedule_of,
)
from alerts.models import Receiver, Rule, open_hours_offset
from alerts.notify import GroupLog, Notice, plan
from alerts.payload import encode, postable_alert, webhook_payload
from alerts.rules import RuleSet
from alerts.source import KpiSource
from ioc.db.alert_rows import Ack, OutboxItem
from ioc.kpi.context import KpiContext
from ioc.names import name_lookup
from ioc.registry import Registry, load_registry
from schemas.actions import Silence

LogChanges = dict[tuple[str, str], GroupLog | None]
"""(receiver, rule) -> its new log, or None to forget it."""


def calendar_from(registry: Registry, timezone: ZoneInfo, kinds: Iterable[str]) -> Calendar:
    """The opening hours of the registry's places of `kinds` (those with a schedule)."""
    places: dict[str, dict[str, Schedule]] = {}
    for kind in set(kinds):
        found = {p.code: schedule_of(p.model_extra or {}) for p in registry.places.get(kind, ())}
        places[kind] = {code: s for code, s in found.items() if s is not None}
    return Calendar(timezone, places)


def calendar_of(source: KpiSource, rules: RuleSet) -> Calendar:
    """The calendar of the source's KPI context, with the places the rules' `open_hours` need."""
    kinds = [
        r.by
        for r in rules.rules
        if r.by and any(open_hours_offset(n) is not None for n in r.active_time_intervals)
    ]
    ctx = getattr(source, "ctx", None)
    if isinstance(ctx, KpiContext):
        return calendar_from(ctx.registry, ctx.timezone, kinds)
    return calendar_from(load_registry(None), Calendar().timezone, kinds)


def names_of(source: KpiSource) -> dict[tuple[str, str], str]:
    """(dimension, code) -> the Vietnamese name `{{ by_name }}` shows: from the registry the
    source's KPIs are computed with (ioc/names.py), or the shipped one."""
    ctx = getattr(source, "ctx", None)
    if isinstance(ctx, KpiContext):
        found = name_lookup(ctx.registry, ctx.sources.value_names)
    else:
        found = name_lookup(load_registry(None), {})
    return {key: v.name_vi for key, v in found.items()}


def name_in(names: Mapping[tuple[str, str], str], by: str | None, code: str | None) -> str | None:
    """The name of `code` of dimension `by`, if it has one."""
    return names.get((by, code)) if by is not None and code is not None else None


async def evaluate_rules(
    rules: RuleSet,
    source: KpiSource,
    active: Mapping[str, Mapping[str, AlertState]],
    *,
    now: datetime,
    unreadable: Callable[[Rule, Exception], None],
    calendar: Calendar | None = None,
    silences: Sequence[Silence] = (),
) -> dict[str, RuleResult]:
    """Every rule advanced to `now` (each KPI, window and breakdown read once), and the alerts of
    rules that left the file ended. A rule whose KPI cannot be read is left out, so its alerts
    stay as they were; `unreadable` is told about it. `calendar` (local time, opening hours)
    defaults to the source's (`calendar_of`). `silences`: those made through the API, applied
    beside the file's.
    """

    def silenced(labels: Mapping[str, str]) -> bool:
        return rules.silenced(labels, now) or any(s.applies(labels, now) for s in silences)

    cal = calendar or calendar_of(source, rules)
    names = names_of(source)
    intervals = rules.interval_by_name
    results: dict[str, RuleResult] = {}
    cache: dict[tuple[str, str, str | None], dict[str, float | None]] = {}
    for rule in rules.rules:
        key = (rule.kpi, rule.query_window, rule.by)
        if key not in cache:
            try:
                cache[key] = await source.kpi_values(rule.kpi, window=rule.query_window, by=rule.by)
            except Exception as exc:  # noqa: BLE001 - one unreadable KPI must not stop the others
                unreadable(rule, exc)
                continue
        results[rule.name] = evaluate_rule(
            rule,
            cache[key],
            active.get(rule.name, {}),
            now=now,
            silenced=silenced,
            active=functools.partial(rule_active, rule, intervals, now=now, cal=cal),
            by_name=functools.partial(name_in, names, rule.by),
        )
    for gone in active.keys() - rules.rule_by_name.keys():
        results[gone] = retire(active[gone], now=now)
    return results


def outbox_items(receiver: Receiver, notice: Notice, *, external_url: str) -> list[OutboxItem]:
    """The exact bodies a notice becomes: one webhook body, or one postable alert per resolution
    for an Alertmanager (its firing alerts travel by the periodic re-post instead)."""
    if not receiver.is_alertmanager:
        body = encode(webhook_payload(notice, external_url=external_url))
        return [OutboxItem(receiver.name, notice.rule, notice.status, body, notice.at)]
    return [
        OutboxItem(
            receiver.name,
            notice.rule,
            "resolved",
            encode(postable_alert(a, external_url=external_url, now=notice.at, valid_for=timedelta(0))),
            notice.at,
        )
        for a in notice.resolved
    ]


def plan_round(
    rules: RuleSet,
    results: Mapping[str, RuleResult],
    logs: Mapping[tuple[str, str], GroupLog],
    *,
    external_url: str,
    now: datetime,
) -> tuple[LogChanges, list[OutboxItem]]:
    """The logs that change and the notifications owed after a round with these `results`.

    Every receiver a rule names is considered, and every receiver told about it before (to
    hear of resolutions even after the rule or the route went away). A log is forgotten when
    its receiver left the file, or when its rule did and nothing it announced is still open.
    """
    receivers = rules.receiver_by_name
    changed: LogChanges = {}
    outbox: list[OutboxItem] = []
    for rule_name, result in results.items():
        rule = rules.rule_by_name.get(rule_name)
        routed = set(rule.receivers) if rule else set()
        told = {r for (r, rn) in logs if rn == rule_name}
        for name in sorted(routed | told):
            key = (name, rule_name)
            before = logs.get(key, GroupLog())
            receiver = receivers.get(name)
            if receiver is None:
                changed[key] = None  # the receiver left the file: nobody to tell
                continue
            notice, after = plan(
                receiver,
                rule_name,
                routed=name in routed,
                firing=result.firing,
                resolved=result.resolved,
                log=before,
                now=now,
            )
            if rule is None and not after.notified:
                changed[key] = None
            elif after != before:
                changed[key] = after
            if notice is not None:
                outbox.extend(outbox_items(receiver, notice, external_url=external_url))
    return changed, outbox


def with_acks(results: Mapping[str, RuleResult], acks: Mapping[str, Ack]) -> dict[str, RuleResult]:
    """The results with each active alert carrying its acknowledgement (only the firing it was
    made in counts: `AlertState.acknowledged`)."""
    return {
        name: replace(
            result,
            active={fp: replace(a, ack=acks.get(fp)) for fp, a in result.active.items()},
        )
        for name, result in results.items()
    }


Escalation = tuple[str, datetime, str]
"""(fingerprint, firing_since, receiver): one firing sent to one escalation receiver."""


def escalation_targets(rule: Rule, receivers: Mapping[str, Receiver]) -> dict[str, timedelta]:
    """Escalation receiver -> how long an alert of `rule` may stay unacknowledged: the rule's
    own, and those of the receivers it routes to (the shortest wins)."""
    out: dict[str, timedelta] = {}
    owners: list[Rule | Receiver] = [rule, *(r for n in rule.receivers if (r := receivers.get(n)))]
    for owner in owners:
        if owner.escalate_after is not None:
            for target in owner.escalate_to:
                out[target] = min(out.get(target, owner.escalate_after), owner.escalate_after)
    return out


def plan_escalations(
    rules: RuleSet,
    results: Mapping[str, RuleResult],
    sent: set[Escalation],
    *,
    external_url: str,
    now: datetime,
) -> tuple[list[OutboxItem], list[Escalation]]:
    """Firing alerts neither acknowledged nor silenced past their `escalate_after`, sent once
    per firing to each escalation receiver, with an `escalation` annotation saying why."""
    receivers = rules.receiver_by_name
    outbox: list[OutboxItem] = []
    escalated: list[Escalation] = []
    for rule_name, result in results.items():
        rule = rules.rule_by_name.get(rule_name)
        if rule is None:
            continue
        for target, after in sorted(escalation_targets(rule, receivers).items()):
            due = [
                a
                for a in result.firing
                if not a.silenced
                and not a.acknowledged
                and a.firing_since is not None
                and now - a.firing_since >= after
                and (a.fingerprint, a.firing_since, target) not in sent
            ]
            receiver = receivers.get(target)
            if not due or receiver is None:
                continue
            why = f"not acknowledged within {format_duration(after)}"
            marked = tuple(replace(a, annotations={**a.annotations, "escalation": why}) for a in due)
            outbox.extend(
                outbox_items(receiver, Notice(target, rule_name, marked, (), now), external_url=external_url)
            )
            escalated.extend((a.fingerprint, a.firing_since, target) for a in due if a.firing_since)
    return outbox, escalated
