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
    market = by_kpi["market.payments"]
    assert (market.window, market.by, market.op, market.threshold) == ("1h", "market", "==", 0)
    assert market.for_ == timedelta(minutes=30) and market.active_time_intervals == ("open_hours+1h",)
    community = by_kpi["community.activities"]
    assert (community.window, community.by, community.op, community.threshold) == ("7d", "district", "<=", 0)
    assert community.active_time_intervals == ()
    (office,) = rs.time_intervals
    assert office.name == "office_hours" and office.time_intervals[0].weekdays == ((0, 5),)


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
        "unknown top-level field 'rulez'; allowed: receivers, rules, silences, time_intervals",
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
    assert ok.stdout.startswith(f"OK: {SHIPPED}: 6 rules, 1 receivers, 0 silences\n")
    assert "rule MeetingEndpointOffline: vc.meeting_endpoints_offline[now] by endpoint > 0" in ok.stdout
    assert "rule MarketPaymentsStopped: market.payments[1h] by market == 0 for 30m during open_hours+1h" in (
        ok.stdout
    )
    assert "  time interval office_hours: 07:00-17:30 monday:saturday\n" in ok.stdout
    assert "  times are local: IOC_TIMEZONE=" in ok.stdout
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


# -- time intervals (Alertmanager's shape, a subset) --------------------------------------------


def intervals_doc(interval: str, rule_intervals: str = "[market_hours]", by: str = "market") -> str:
    """A rules document with one interval named market_hours (`interval`: its one entry's fields)
    and one rule naming `rule_intervals`."""
    return textwrap.dedent(
        f"""
        time_intervals:
          - name: market_hours
            time_intervals:
              - {interval}
        rules:
          - name: R
            kpi: market.payments
            by: {by}
            op: "=="
            threshold: 0
            active_time_intervals: {rule_intervals}
        """
    )


def test_time_intervals_load_in_alertmanagers_syntax() -> None:
    rs = parse_rules(
        intervals_doc(
            """times: [{start_time: "06:00", end_time: "11:00"}, {start_time: 13:30, end_time: "24:00"}]
                weekdays: ["monday:saturday", Sunday]
                days_of_month: ["1:7", -1, "-7:-1", 15, 20:25]
                months: ["january:march", "12", 6:8]"""
        )
    )
    (named,) = rs.time_intervals
    (iv,) = named.time_intervals
    # 13:30 unquoted is YAML's base-60 number 810: the same minutes
    assert [(r.start_time, r.end_time) for r in iv.times] == [(360, 660), (810, 1440)]
    assert iv.weekdays == ((0, 5), (6, 6))
    assert iv.days_of_month == ((1, 7), (-1, -1), (-7, -1), (15, 15), (20, 25))
    assert iv.months == ((1, 3), (12, 12), (6, 8))
    assert rs.rules[0].active_time_intervals == ("market_hours",)
    assert rs.interval_by_name["market_hours"] is named


def test_an_interval_may_leave_fields_out_and_rules_may_name_several() -> None:
    rs = parse_rules(intervals_doc("{}", rule_intervals="[market_hours, open_hours, open_hours+90m]"))
    assert rs.time_intervals[0].time_intervals[0].times == ()
    assert rs.rules[0].active_time_intervals == ("market_hours", "open_hours", "open_hours+90m")


def test_rules_without_intervals_keep_their_shape() -> None:
    rs = parse_rules(CONTRACT_EXAMPLE)
    assert rs.time_intervals == () and rs.rules[0].active_time_intervals == ()


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (
            'times: [{start_time: "6:00", end_time: "11:00"}]',
            "field 'time_intervals.0.times.0.start_time': invalid time '6:00': write HH:MM, 24-hour,"
            " from 00:00 to 24:00",
        ),
        ('times: [{start_time: "06:00", end_time: "24:01"}]', "field 'time_intervals.0.times.0.end_time'"),
        ('times: [{start_time: "06:60", end_time: "11:00"}]', "invalid time '06:60'"),
        ('times: [{start_time: "noon", end_time: "11:00"}]', "invalid time 'noon'"),
        ("times: [{start_time: 1441, end_time: 1500}]", "invalid time 1441"),
        ('times: [{start_time: "06:00"}]', "field 'time_intervals.0.times.0.end_time': required"),
        (
            'times: [{start_time: "22:00", end_time: "06:00"}]',
            "field 'time_intervals.0.times.0': 'end_time' must be after 'start_time'; a range across"
            " midnight is two ranges, e.g. 22:00-24:00 and 00:00-06:00",
        ),
        ('times: [{start_time: "06:00", end_time: "06:00"}]', "'end_time' must be after 'start_time'"),
        (
            'weekdays: ["monday:saturdy"]',
            "field 'time_intervals.0.weekdays.0': 'monday:saturdy' is not a weekday; allowed: monday, ...,"
            " sunday, or a range such as monday:friday",
        ),
        ("weekdays: [mon]", "'mon' is not a weekday"),
        ("weekdays: [1]", "'1' is not a weekday"),
        (
            'weekdays: ["saturday:monday"]',
            "field 'time_intervals.0.weekdays.0': 'saturday:monday' runs backwards: write the range's"
            " start first",
        ),
        ("weekdays: monday", "field 'time_intervals.0.weekdays': Input should be a valid tuple"),
        ('days_of_month: ["0"]', "'0' is not a day of the month; allowed: 1 to 31, or -31 to -1"),
        ("days_of_month: [32]", "'32' is not a day of the month"),
        ("days_of_month: [1:32]", "'1:32' is not a day of the month"),
        ('days_of_month: ["-32"]', "'-32' is not a day of the month"),
        ('days_of_month: ["10:5"]', "'10:5' runs backwards"),
        ('days_of_month: ["-1:-3"]', "'-1:-3' runs backwards"),
        ("months: [jan]", "'jan' is not a month; allowed: january, ..., december, or 1 to 12"),
        ("months: [13]", "'13' is not a month"),
        ('months: ["december:january"]', "'december:january' runs backwards"),
        (
            'years: ["2025"]',
            "field 'time_intervals.0.years': unknown field; allowed: times, weekdays, days_of_month, months",
        ),
        ('location: "Asia/Ho_Chi_Minh"', "field 'time_intervals.0.location': unknown field"),
    ],
)
def test_time_interval_errors_name_the_interval_and_the_field(interval: str, expected: str) -> None:
    errors = errors_of(intervals_doc(interval))
    prefix = "time interval 'market_hours': field 'time_intervals.0."
    assert any(e.startswith(prefix) and expected in e for e in errors), errors


@pytest.mark.parametrize(
    ("rule_intervals", "by", "expected"),
    [
        (
            "[market_hourz]",
            "market",
            "rule 'R': field 'active_time_intervals': unknown time interval 'market_hourz';"
            " allowed: market_hours, open_hours (top-level 'time_intervals' names them)",
        ),
        (
            "[open_hours]",
            "DROP",
            "rule 'R': field 'active_time_intervals': 'open_hours' needs 'by': the opening hours of"
            " each by-value's place",
        ),
        (
            "[open_hours+1d]",
            "market",
            "rule 'R': field 'active_time_intervals': 'open_hours+1d' is not open_hours or"
            " open_hours+DURATION shorter than a day",
        ),
        ("[open_hours+soon]", "market", "rule 'R': field 'active_time_intervals': 'open_hours+soon' is not"),
        ("[open_hours+]", "market", "rule 'R': field 'active_time_intervals': 'open_hours+' is not"),
        ("open_hours", "market", "rule 'R': field 'active_time_intervals': Input should be a valid tuple"),
    ],
)
def test_rule_interval_errors(rule_intervals: str, by: str, expected: str) -> None:
    doc = intervals_doc("{}", rule_intervals=rule_intervals, by=by)
    if by == "DROP":
        doc = doc.replace("    by: DROP\n", "")
    errors = errors_of(doc)
    assert any(e.startswith(expected) for e in errors), errors


def test_interval_names_are_unique_and_open_hours_is_reserved() -> None:
    errors = errors_of(
        """
        time_intervals:
          - name: weekend
            time_intervals: [{weekdays: ["saturday:sunday"]}]
          - name: weekend
            time_intervals: []
          - name: open_hours
            time_intervals: []
          - name: open_hours_early
            time_intervals: []
          - time_intervals: []
        """
    )
    assert errors == [
        "time interval 'open_hours': field 'name': 'open_hours': names starting with 'open_hours' are"
        " reserved (the registry's hours)",
        "time interval 'open_hours_early': field 'name': 'open_hours_early': names starting with"
        " 'open_hours' are reserved (the registry's hours)",
        "time interval #5: field 'name': required",
        "time interval 'weekend': field 'name': time interval name used more than once",
    ]


def test_time_intervals_must_be_a_list() -> None:
    (error,) = errors_of("time_intervals: {name: x}\n")
    assert error == "field 'time_intervals': must be a list"


def test_check_command_rejects_bad_intervals_and_warns_of_open_hours_without_schedules(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.yml"
    bad.write_text(intervals_doc('weekdays: ["funday"]', rule_intervals="[market_hours, lunch]"))
    failed = runner.invoke(rules_cli, ["check", str(bad)])
    assert failed.exit_code == 1 and not failed.stdout
    lines = failed.stderr.splitlines()
    assert lines[0] == f"{bad}: 2 error(s)"
    assert lines[1].startswith(
        "  time interval 'market_hours': field 'time_intervals.0.weekdays.0': 'funday'"
    )
    assert lines[2].startswith("  rule 'R': field 'active_time_intervals': unknown time interval 'lunch'")
    good = tmp_path / "good.yml"
    good.write_text(intervals_doc("{}", rule_intervals="[open_hours]", by="district"))
    ok = runner.invoke(rules_cli, ["check", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "rule R: market.payments[1h] by district == 0 for 0s during open_hours (warning)" in ok.stdout
    assert "time interval market_hours: always" in ok.stdout
    assert (
        "warning: rule R: no registry place of kind 'district' has a schedule; open_hours is then always"
        " active" in ok.stderr
    )
    shipped = runner.invoke(rules_cli, ["check", str(SHIPPED)])
    assert "has a schedule" not in shipped.stderr  # the markets have their hours in the registry
