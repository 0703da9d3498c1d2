"""`ioc rules check FILE`: validate an alert rules file without starting anything."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from alerts.durations import format_duration
from alerts.rules import RulesError, RuleSet, load_rules


def summary(rules: RuleSet) -> list[str]:
    """One line per rule, receiver and silence: what the evaluator will do with the file."""
    lines = []
    for rule in rules.rules:
        by = f" by {rule.by}" if rule.by else ""
        to = ", ".join(rule.receivers) or "no receiver (shown in the API only)"
        lines.append(
            f"  rule {rule.name}: {rule.kpi}[{rule.display_window}]{by} {rule.op} {rule.threshold:g}"
            f" for {format_duration(rule.for_)} ({rule.severity}) -> {to}"
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
    for r in ruleset.receivers:
        if r.secret_env and r.secret_env not in os.environ:
            click.echo(
                f"warning: receiver {r.name}: ${r.secret_env} is not set here; the evaluator must have it",
                err=True,
            )
