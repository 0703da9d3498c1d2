"""Acknowledgements, API silences and escalations as pure logic: who is told, and when."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from alerts.evaluate import RuleResult
from alerts.notify import GroupLog
from alerts.payload import webhook_payload
from alerts.round import escalation_targets, plan_escalations, with_acks
from alerts.rules import RulesError, parse_rules
from ioc.db.alert_rows import Ack
from schemas.actions import SILENCE_RULES, Matcher, Silence, SilenceBody, SilenceStatus, silence_refusal
from tests.unit.test_alert_notify import T0, alert, receiver, told

RULES = """
receivers:
  - {name: oncall, url: "http://127.0.0.1:9/a", escalate_after: 10m, escalate_to: [chief]}
  - {name: duty, url: "http://127.0.0.1:9/b"}
  - {name: chief, url: "http://127.0.0.1:9/c"}
rules:
  - {name: R, kpi: portal.on_time_pct, by: agency, op: "<", threshold: 90, receivers: [oncall],
     escalate_after: 30m, escalate_to: [duty, chief]}
"""


def ack_of(fingerprint: str, *, since: object = T0) -> Ack:
    return Ack(fingerprint, since, "ha.nguyen", "on it", T0 + timedelta(minutes=1))  # type: ignore[arg-type]


# -- acknowledgements ----------------------------------------------------------------------------------


def test_an_acknowledged_alert_is_not_repeated_but_news_still_go_out() -> None:
    r = receiver(repeat_interval="1h")
    a, b = alert("SO_TTTT"), alert("SO_YT")
    acked = replace(a, ack=ack_of(a.fingerprint))
    log = GroupLog(frozenset({a.fingerprint}), T0)
    assert told(r, log, firing=[acked], at=timedelta(hours=2))[0] is None  # no repeat
    notice, _ = told(r, log, firing=[a], at=timedelta(hours=2))
    assert notice is not None  # unacknowledged: repeated as before
    notice, _ = told(r, log, firing=[acked, b], at=timedelta(minutes=5))
    assert notice is not None and [x.by_value for x in notice.firing] == ["SO_TTTT", "SO_YT"]  # b is news
    body = webhook_payload(notice, external_url="http://ioc")
    first = body["alerts"][0]["annotations"]
    assert first["acknowledged_by"] == "ha.nguyen" and first["acknowledgement"] == "on it"
    assert "acknowledged_by" not in body["alerts"][1]["annotations"]
    assert "acknowledged_by" not in body["commonAnnotations"]


def test_an_acknowledgement_holds_for_its_own_firing_only() -> None:
    a = alert("SO_TTTT")
    result = RuleResult(active={a.fingerprint: a})
    same = with_acks({"R": result}, {a.fingerprint: ack_of(a.fingerprint)})["R"].firing[0]
    assert same.acknowledged and same.announced["acknowledged_by"] == "ha.nguyen"
    later = with_acks({"R": result}, {a.fingerprint: ack_of(a.fingerprint, since=T0 - timedelta(days=1))})
    assert not later["R"].firing[0].acknowledged  # made in an earlier firing
    assert "acknowledged_by" not in later["R"].firing[0].announced


# -- escalation ------------------------------------------------------------------------------------------


def test_escalation_targets_come_from_the_rule_and_its_receivers_shortest_first() -> None:
    rules = parse_rules(RULES, source="t")
    assert escalation_targets(rules.rules[0], rules.receiver_by_name) == {
        "duty": timedelta(minutes=30),
        "chief": timedelta(minutes=10),
    }


def test_an_unacknowledged_firing_escalates_once_per_receiver() -> None:
    rules = parse_rules(RULES, source="t")
    a, b, c = alert("SO_TTTT"), alert("SO_YT"), alert("SO_GD", silenced=True)
    b = replace(b, ack=ack_of(b.fingerprint))
    results = {"R": RuleResult(active={x.fingerprint: x for x in (a, b, c)})}

    def escalate(minutes: int, sent: set[tuple[str, object, str]]) -> tuple[list[str], list[tuple[str, str]]]:
        outbox, escalated = plan_escalations(
            rules,
            results,
            sent,
            external_url="http://ioc",
            now=T0 + timedelta(minutes=minutes),  # type: ignore[arg-type]
        )
        return [o.receiver for o in outbox], [(fp, r) for fp, _, r in escalated]

    assert escalate(9, set()) == ([], [])  # not yet
    assert escalate(10, set()) == (["chief"], [(a.fingerprint, "chief")])  # b acknowledged, c silenced
    sent = {(a.fingerprint, T0, "chief")}
    assert escalate(20, sent) == ([], [])  # once per firing
    assert escalate(30, sent) == (["duty"], [(a.fingerprint, "duty")])
    outbox, _ = plan_escalations(
        rules, results, set(), external_url="http://ioc", now=T0 + timedelta(hours=1)
    )
    assert b"not acknowledged within 10m" in outbox[0].body


def test_escalation_needs_both_fields_and_a_webhook_receiver() -> None:
    with pytest.raises(RulesError, match="escalate_to"):
        parse_rules(RULES.replace("escalate_to: [duty, chief]", "escalate_to: [nobody]"), source="t")
    with pytest.raises(RulesError, match="escalate_after"):
        parse_rules(RULES.replace("escalate_after: 30m, ", ""), source="t")
    with pytest.raises(RulesError, match="not a webhook receiver"):
        parse_rules(
            RULES.replace(
                '{name: duty, url: "http://127.0.0.1:9/b"}', "{name: duty, alertmanager_url: http://am:9093}"
            ),
            source="t",
        )


# -- silences ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matcher", "labels", "hit"),
    [
        ({"name": "district", "value": "YEN_SON"}, {"district": "YEN_SON"}, True),
        ({"name": "district", "value": "YEN_SON"}, {"district": "HAM_YEN"}, False),
        ({"name": "district", "value": "YEN_SON", "isEqual": False}, {"district": "HAM_YEN"}, True),
        ({"name": "agency", "value": "SO_.*", "isRegex": True}, {"agency": "SO_TTTT"}, True),
        ({"name": "agency", "value": "SO_", "isRegex": True}, {"agency": "SO_TTTT"}, False),  # anchored
        ({"name": "agency", "value": "SO_.*", "isRegex": True, "isEqual": False}, {"agency": "UBND"}, True),
        ({"name": "agency", "value": "x"}, {}, False),  # an absent label is the empty value
    ],
)
def test_matchers_follow_alertmanager(matcher: dict[str, object], labels: dict[str, str], hit: bool) -> None:
    assert Matcher.model_validate(matcher).matches(labels) is hit


def test_a_silence_applies_only_while_it_lasts() -> None:
    s = Silence(
        id="x",
        status=SilenceStatus(state="active"),
        updatedAt=T0,
        matchers=[Matcher(name="agency", value="SO_TTTT")],
        startsAt=T0,
        endsAt=T0 + timedelta(hours=1),
        createdBy="ha.nguyen",
        comment="maintenance",
    )
    labels = {"agency": "SO_TTTT"}
    assert s.applies(labels, T0) and not s.applies(labels, T0 + timedelta(hours=1))
    assert not s.applies(labels, T0 - timedelta(seconds=1)) and not s.applies({"agency": "SO_YT"}, T0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"matchers": []}, "at least 1"),
        ({"matchers": [{"name": "agency", "value": "(", "isRegex": True}]}, "does not compile"),
        ({"comment": "x" * 1001}, "at most 1000"),
        ({"comment": ""}, "at least 1"),
        ({"startsAt": "2026-03-03T10:00:00"}, "timezone"),
        ({"comment": "a\x00b"}, "pattern"),
        ({"matchers": [{"name": "agency", "value": "SO\x00"}]}, "pattern"),
    ],
)
def test_bad_silences_are_refused_saying_why(change: dict[str, object], message: str) -> None:
    body: dict[str, object] = {
        "matchers": [{"name": "agency", "value": "SO_TTTT"}],
        "startsAt": "2026-03-03T10:00:00+07:00",
        "endsAt": "2026-03-03T12:00:00+07:00",
        "comment": "maintenance",
    }
    with pytest.raises(ValidationError, match=message):
        SilenceBody.model_validate(body | change)


NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # 09:00 in the province (+07:00)


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({}, None),
        ({"endsAt": "2026-03-03T09:00:00+07:00"}, "ends_before_start"),
        ({"endsAt": "2026-03-03T10:00:00+07:00"}, "ends_before_start"),  # equal: never applies
        ({"endsAt": "2027-03-05T10:00:00+07:00"}, "too_long"),
        ({"endsAt": "2027-03-04T10:00:00+07:00"}, None),  # 366 days: the longest allowed
        ({"startsAt": "9999-12-31T20:00:00-05:00", "endsAt": "9999-12-31T21:00:00-05:00"}, "out_of_range"),
        ({"startsAt": "0001-01-01T01:00:00+02:00"}, "out_of_range"),
        (
            {"startsAt": "2026-03-02T10:00:00+07:00", "endsAt": "2026-03-03T08:00:00+07:00"},
            "ends_in_the_past",
        ),
        ({"matchers": [{"name": "agency", "value": ".*", "isRegex": True}]}, "matches_everything"),
        ({"matchers": [{"name": "agency", "value": ""}]}, "matches_everything"),
        ({"matchers": [{"name": "agency", "value": "SO_YT", "isEqual": False}]}, "matches_everything"),
        ({"matchers": [{"name": "agency", "value": ".+", "isRegex": True}]}, None),
        ({"matchers": [{"name": "agency", "value": ""}, {"name": "district", "value": "YEN_SON"}]}, None),
    ],
)
def test_rules_across_a_silences_fields_name_what_is_broken(
    change: dict[str, object], rule: str | None
) -> None:
    """Well-formed bodies (the schema accepts them) that no silence can be: each names its rule,
    whose words the 400 carries and the OpenAPI document lists."""
    body: dict[str, object] = {
        "matchers": [{"name": "agency", "value": "SO_TTTT"}],
        "startsAt": "2026-03-03T10:00:00+07:00",
        "endsAt": "2026-03-03T12:00:00+07:00",
        "comment": "maintenance",
    }
    silence = SilenceBody.model_validate(body | change)  # the schema's rules hold
    assert silence_refusal(silence, NOW) == rule
    if rule is not None:
        assert SILENCE_RULES[rule]
