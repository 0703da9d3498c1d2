"""`ioc rules check FILE`: validate an alert rules file without starting anything."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from alerts.durations import format_duration
from alerts.evaluate import schedule_of
from alerts.models import open_hours_offset
from alerts.rules import WEEKDAYS, RulesError, RuleSet, TimeInterval, load_rules
from ioc.registry import Registry, load_registry
from ioc.settings import KpiSettings


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def describe(interval: TimeInterval) -> str:
    """An interval as the file says it, e.g. `monday:saturday 06:00-11:00`."""
    spans = [
        " ".join(f"{a}:{b}" if a != b else f"{a}" for a, b in spans)
        for spans in (interval.days_of_month, interval.months)
    ]
    parts = [
        " ".join(f"{_clock(r.start_time)}-{_clock(r.end_time)}" for r in interval.times),
        " ".join(f"{WEEKDAYS[a]}:{WEEKDAYS[b]}" if a != b else WEEKDAYS[a] for a, b in interval.weekdays),
        f"days {spans[0]}" if spans[0] else "",
        f"months {spans[1]}" if spans[1] else "",
    ]
    return " ".join(p for p in parts if p) or "always"


def open_hours_warnings(rules: RuleSet, registry: Registry) -> list[str]:
    """Rules whose `open_hours` finds no schedule in the registry: they are always active."""
    out = []
    for rule in rules.rules:
        if rule.by and any(open_hours_offset(n) is not None for n in rule.active_time_intervals):
            places = registry.places.get(rule.by, ())
            if not any(schedule_of(p.model_extra or {}) for p in places):
                out.append(
                    f"rule {rule.name}: no registry place of kind {rule.by!r} has a schedule;"
                    " open_hours is then always active"
                )
    return out


def summary(rules: RuleSet) -> list[str]:
    """One line per rule, receiver, silence and time interval: what the evaluator will do with the file."""
    lines = []
    for rule in rules.rules:
        by = f" by {rule.by}" if rule.by else ""
        to = ", ".join(rule.receivers) or "no receiver (shown in the API only)"
        when = f" during {', '.join(rule.active_time_intervals)}" if rule.active_time_intervals else ""
        lines.append(
            f"  rule {rule.name}: {rule.kpi}[{rule.display_window}]{by} {rule.op} {rule.threshold:g}"
            f" for {format_duration(rule.for_)}{when} ({rule.severity}) -> {to}"
        )
    for r in rules.receivers:
        if r.is_alertmanager:
            lines.append(f"  receiver {r.name}: Alertmanager")
        else:
            signed = f", signed with ${r.secret_env}" if r.secret_env else ", unsigned"
            lines.append(
                f"  receiver {r.name}: webhook{signed}, repeat {format_duration(r.repeat_interval)},"
                f" timeout {format_duration(r.timeout)}, send_resolved {str(r.send_resolved).lower()}"
            )
    for i, s in enumerate(rules.silences, 1):
        matchers = ", ".join(f"{k}={v}" for k, v in s.matchers.items())
        lines.append(f"  silence #{i}: {matchers} from {s.starts_at.isoformat()} to {s.ends_at.isoformat()}")
    for t in rules.time_intervals:
        lines.append(f"  time interval {t.name}: {'; '.join(map(describe, t.time_intervals)) or 'never'}")
    return lines


@click.group("rules")
def rules() -> None:
    """Alert rules files."""


@rules.command("check")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def check(file: Path) -> None:
    """Validate FILE; print a summary, or every error and exit 1."""
    try:
        ruleset = load_rules(file)
    except RulesError as exc:
        click.echo(f"{exc.source}: {len(exc.errors)} error(s)", err=True)
        for error in exc.errors:
            click.echo(f"  {error}", err=True)
        sys.exit(1)
    click.echo(
        f"OK: {file}: {len(ruleset.rules)} rules, {len(ruleset.receivers)} receivers,"
        f" {len(ruleset.silences)} silences"
    )
    for line in summary(ruleset):
        click.echo(line)
    if ruleset.time_intervals or any(r.active_time_intervals for r in ruleset.rules):
        settings = KpiSettings()
        click.echo(f"  times are local: IOC_TIMEZONE={settings.timezone}")
        try:
            registry = load_registry(settings.registry_file)
        except (OSError, ValueError) as exc:
            click.echo(f"warning: the registry cannot be read ({exc}); open_hours not checked", err=True)
        else:
            for warning in open_hours_warnings(ruleset, registry):
                click.echo(f"warning: {warning}", err=True)
    for r in ruleset.receivers:
        if r.secret_env and r.secret_env not in os.environ:
            click.echo(
                f"warning: receiver {r.name}: ${r.secret_env} is not set here; the evaluator must have it",
                err=True,
            )
