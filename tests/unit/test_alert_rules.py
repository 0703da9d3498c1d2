"""The rules file: what loads, what is refused, and that every error names the rule and the field."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from alerts.command import rules as rules_cli
from alerts.durations import format_duration, parse_duration
from alerts.rules import RulesError, RuleSet, load_rules, parse_rules
from sources import BY_NAME

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "deploy" / "alerts" / "rules.yml"

CONTRACT_EXAMPLE = """
receivers:
  - name: oncall
    url: https://hooks.example.gov.vn/ioc
    secret_env: IOC_WEBHOOK_SECRET
    send_resolved: true
    repeat_interval: 4h
    timeout: 10s
  - name: province-am
    alertmanager_url: http://alertmanager:9093
rules:
  - name: PortalOnTimeLow
    kpi: portal.on_time_pct
    window: 1h
    by: agency
    op: "<"
    threshold: 90
    for: 5m
    severity: warning
    labels: {team: portal}
    annotations:
      summary: "On-time rate {{ value }} % at {{ by_value }}"
    receivers: [oncall]
silences:
  - matchers: {alertname: PortalOnTimeLow, agency: SO_TTTT}
    starts_at: 2025-06-01T22:00:00+07:00
    ends_at: 2025-06-02T02:00:00+07:00
    comment: upgrade
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(RulesError) as info:
        parse_rules(textwrap.dedent(text), source="test.yml")
    return info.value.errors


def one_rule(**fields: str) -> str:
    """A rules document with one otherwise valid rule, `fields` replacing its lines."""
    base = {
        "name": "R",
        "kpi": "portal.on_time_pct",
        "window": "1h",
        "by": "agency",
        "op": '"<"',
        "threshold": "90",
        "for": "5m",
    }
    base.update(fields)
    lines = "\n".join(f"    {k}: {v}" for k, v in base.items() if v != "DROP")
    return f"rules:\n  - {lines.lstrip()}\n"


def test_the_contract_example_loads_with_every_field() -> None:
    rs = parse_rules(CONTRACT_EXAMPLE)
    oncall, am = rs.receivers
    assert oncall.url == "https://hooks.example.gov.vn/ioc"
    assert oncall.secret_env == "IOC_WEBHOOK_SECRET"  # noqa: S105 - a variable name
    assert oncall.repeat_interval == timedelta(hours=4) and oncall.timeout == timedelta(seconds=10)
    assert am.is_alertmanager and not oncall.is_alertmanager
    (rule,) = rs.rules
    assert (rule.kpi, rule.window, rule.by, rule.op, rule.threshold) == (
        "portal.on_time_pct",
        "1h",
        "agency",
        "<",
        90,
    )
    assert rule.for_ == timedelta(minutes=5) and rule.severity == "warning"
    assert rule.labels == {"team": "portal"} and rule.receivers == ("oncall",)
    (silence,) = rs.silences
    assert silence.comment == "upgrade"
    inside = datetime(2025, 6, 1, 16, 0, tzinfo=UTC)
    labels = {"alertname": "PortalOnTimeLow", "agency": "SO_TTTT", "severity": "warning"}
    assert rs.silenced(labels, inside)
    assert not rs.silenced(labels, inside + timedelta(hours=4))  # ends_at is exclusive
    assert not rs.silenced({**labels, "agency": "SO_YTE"}, inside)


def test_defaults() -> None:
    rs = parse_rules("receivers: [{name: x, url: 'http://127.0.0.1:1/'}]\n" + one_rule(**{"for": "DROP"}))
    (rule,) = rs.rules
    assert rule.for_ == timedelta(0) and rule.severity == "warning" and rule.receivers == ()
    (r,) = rs.receivers
    assert r.send_resolved is True and r.repeat_interval == timedelta(hours=4)
    assert r.timeout == timedelta(seconds=10) and r.secret_env is None


def test_the_shipped_rules_load_with_the_contract_built_ins() -> None:
    rs = load_rules(SHIPPED)
    by_kpi = {r.kpi: r for r in rs.rules}
    offline = by_kpi["vc.meeting_endpoints_offline"]
    assert (offline.by, offline.op, offline.threshold) == ("endpoint", ">", 0)
    loss = by_kpi["vc.packet_loss_pct_avg"]
    assert (loss.window, loss.by, loss.op, loss.threshold) == ("5m", "district", ">", 5)
    overdue = by_kpi["eoffice.overdue"]
    assert (overdue.by, overdue.op) == ("agency", ">")
    ontime = by_kpi["portal.on_time_pct"]
    assert (ontime.window, ontime.op, ontime.threshold) == ("1h", "<", 90)
    assert any(r.secret_env for r in rs.receivers)


def test_unknown_kpi_names_rule_field_and_what_is_allowed() -> None:
    (error,) = errors_of(
        """
        rules:
          - name: PortalOnTimeLow
            kpi: portal.ontime_pct
            op: "<"
            threshold: 90
        """
    )
    assert error.startswith("rule 'PortalOnTimeLow': field 'kpi': unknown KPI 'portal.ontime_pct'; allowed: ")
    assert all(name in error for name in BY_NAME)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"by": "endpoint"},
            "rule 'R': field 'by': 'endpoint' is not a breakdown of portal.on_time_pct;"
            " allowed: agency, district, service_level",
        ),
        (
            {"kpi": "vc.meetings_active", "by": "district", "window": "DROP"},
            "rule 'R': field 'by': vc.meetings_active has no breakdown; remove 'by'",
        ),
        (
            {"window": "2h"},
            "rule 'R': field 'window': unknown window '2h'; allowed: 5m, 15m, 1h, 6h, 24h, 7d",
        ),
        (
            {"op": '"=<"'},
            "rule 'R': field 'op': '=<' is not allowed; allowed: '<', '<=', '>', '>=', '==' or '!='",
        ),
        ({"for": "5 minutes"}, "rule 'R': field 'for': invalid duration '5 minutes'"),
        ({"threshold": "yes"}, "rule 'R': field 'threshold': must be a number"),
        ({"threshold": ".nan"}, "rule 'R': field 'threshold': "),
        ({"threshold": "DROP"}, "rule 'R': field 'threshold': required"),
        ({"severity": "urgent"}, "rule 'R': field 'severity': 'urgent' is not allowed"),
        ({"treshold": "3"}, "rule 'R': field 'treshold': unknown field; allowed: name, kpi, window, by, op,"),
        ({"labels": "{agency: x}"}, "rule 'R': field 'labels': label 'agency' is set by the evaluator"),
        (
            {"labels": "{severity: page}"},
            "rule 'R': field 'labels': label 'severity' is set by the evaluator",
        ),
        ({"labels": "{9team: x}"}, "rule 'R': field 'labels': invalid label name '9team'"),
        (
            {"annotations": '{summary: "{{ valeu }}"}'},
            "rule 'R': field 'annotations.summary': unknown placeholder '{{ valeu }}';"
            " allowed: value, by_value,",
        ),
        (
            {"receivers": "[pager]"},
            "rule 'R': field 'receivers': unknown receiver 'pager'; allowed: (no receivers defined)",
        ),
        ({"name": "DROP"}, "rule #1: field 'name': required"),
    ],
)
def test_rule_errors(fields: dict[str, str], expected: str) -> None:
    errors = errors_of(one_rule(**fields))
    assert any(e.startswith(expected) for e in errors), errors


def test_window_of_a_state_kpi_is_ignored_but_now_is_accepted() -> None:
    rs = parse_rules(one_rule(kpi="eoffice.overdue", window="now", op='">"', threshold="20"))
    assert rs.rules[0].display_window == "now" and rs.rules[0].query_window == "1h"


@pytest.mark.parametrize(
    ("receiver", "expected"),
    [
        (
            "{name: a, url: 'ftp://x'}",
            "receiver 'a': field 'url': 'ftp://x' is not an http:// or https:// URL",
        ),
        ("{name: a}", "receiver 'a': give exactly one of 'url' (a webhook) and 'alertmanager_url'"),
        ("{name: a, url: 'http://h/', alertmanager_url: 'http://h/'}", "receiver 'a': give exactly one of"),
        (
            "{name: a, url: 'http://h/', secret_env: 's3cr3t value'}",
            "receiver 'a': field 'secret_env': 's3cr3t value' is not an environment variable name",
        ),
        (
            "{name: a, alertmanager_url: 'http://h/', send_resolved: false}",
            "receiver 'a': field 'send_resolved' applies to webhook receivers ('url') only",
        ),
        ("{name: a, url: 'http://h/', timeout: 0s}", "receiver 'a': field 'timeout': must be longer than 0s"),
        (
            "{name: a, url: 'http://h/', repeat_interval: often}",
            "receiver 'a': field 'repeat_interval': invalid",
        ),
    ],
)
def test_receiver_errors(receiver: str, expected: str) -> None:
    errors = errors_of(f"receivers:\n  - {receiver}\n")
    assert any(e.startswith(expected) for e in errors), errors


def test_silence_errors() -> None:
    errors = errors_of(
        """
        silences:
          - matchers: {alertname: X}
            starts_at: 2025-06-01T22:00:00
            ends_at: 2025-06-02T02:00:00+07:00
          - matchers: {alertname: X}
            starts_at: 2025-06-02T22:00:00+07:00
            ends_at: 2025-06-02T02:00:00+07:00
          - matchers: {}
            starts_at: 2025-06-01T22:00:00+07:00
            ends_at: 2025-06-02T02:00:00+07:00
        """
    )
    assert errors[0] == "silence #1: field 'starts_at': needs a UTC offset, e.g. 2025-06-01T22:00:00+07:00"
    assert errors[1] == "silence #2: 'ends_at' must be after 'starts_at'"
    assert errors[2].startswith("silence #3: field 'matchers': ")


def test_malformed_file_reports_every_error_at_once() -> None:
    errors = errors_of(
        """
        receivers:
          - name: oncall
            url: https://hooks.example.gov.vn/ioc
          - name: oncall
            url: https://hooks.example.gov.vn/other
        rules:
          - name: A
            kpi: vc.heartbeats
            op: ">"
            threshold: 1
            receivers: [oncall, nobody]
          - name: A
            kpi: vc.heartbeats
            op: ">"
            threshold: 2
        rulez: []
        """
    )
    assert errors == [
        "unknown top-level field 'rulez'; allowed: receivers, rules, silences",
        "receiver 'oncall': field 'name': receiver name used more than once",
        "rule 'A': field 'name': rule name used more than once",
        "rule 'A': field 'receivers': unknown receiver 'nobody'; allowed: oncall",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: [\n  {name: x\n", "YAML syntax: line 3, column 1: "),
        ("rules: []\nrules: []\n", "YAML syntax: line 2, column 1: key 'rules' given twice"),
        ("", "the file is empty"),
        ("- a\n- b\n", "the file must be a mapping"),
        ("rules: {name: x}\n", "field 'rules': must be a list"),
    ],
)
def test_file_level_errors(text: str, expected: str) -> None:
    (error,) = errors_of(text)
    assert error.startswith(expected), error


def test_load_rules_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read the file") as info:
        load_rules(tmp_path / "missing.yml")
    assert info.value.source.endswith("missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text(one_rule(kpi="portal.ontime_pct"), encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_rules(bad)
    assert str(info.value).startswith(f"{bad}: 1 error(s):\n  rule 'R': field 'kpi': unknown KPI")


def test_rule_set_is_immutable() -> None:
    rs = parse_rules(CONTRACT_EXAMPLE)
    with pytest.raises(ValueError, match="frozen"):
        rs.rules[0].threshold = 1
    assert isinstance(rs, RuleSet)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0s", 0),
        ("0", 0),
        ("10s", 10),
        ("5m", 300),
        ("4h", 14400),
        ("1h30m", 5400),
        ("500ms", 0.5),
        ("1d", 86400),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


@pytest.mark.parametrize("text", ["5", "5 m", "m5", "-5m", "5M", "1.5h", "", None, True])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_check_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IOC_WEBHOOK_SECRET", raising=False)
    runner = CliRunner()
    ok = runner.invoke(rules_cli, ["check", str(SHIPPED)])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith(f"OK: {SHIPPED}: 4 rules, 1 receivers, 0 silences\n")
    assert "rule MeetingEndpointOffline: vc.meeting_endpoints_offline[now] by endpoint > 0" in ok.stdout
    assert "IOC_WEBHOOK_SECRET is not set here" in ok.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text(one_rule(kpi="portal.ontime_pct", by="nowhere"), encoding="utf-8")
    failed = runner.invoke(rules_cli, ["check", str(bad)])
    assert failed.exit_code == 1
    assert failed.stderr.splitlines()[0] == f"{bad}: 1 error(s)"
    assert failed.stderr.splitlines()[1].startswith(
        "  rule 'R': field 'kpi': unknown KPI 'portal.ontime_pct'"
    )
    assert not failed.stdout
