"""Who is told what and when: grouping by rule, repeats, send_resolved, silences, Alertmanager."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.evaluate import AlertState
from alerts.notify import GroupLog, Notice, plan
from alerts.rules import Receiver

T0 = datetime(2025, 3, 3, 2, 30, tzinfo=UTC)


def receiver(**overrides: Any) -> Receiver:
    fields: dict[str, Any] = {"name": "oncall", "url": "http://127.0.0.1:9/hook", "repeat_interval": "4h"}
    fields.update(overrides)
    return Receiver.model_validate({k: v for k, v in fields.items() if v is not None})


def alert(by_value: str, state: str = "firing", *, silenced: bool = False) -> AlertState:
    return AlertState(
        rule="R",
        fingerprint=f"fp-{by_value}",
        state=state,  # type: ignore[arg-type]
        severity="warning",
        kpi="portal.on_time_pct",
        window="1h",
        by="agency",
        by_value=by_value,
        labels={"alertname": "R", "severity": "warning", "agency": by_value},
        annotations={},
        value=1.0,
        active_since=T0,
        updated_at=T0,
        firing_since=T0,
        resolved_at=T0 if state == "resolved" else None,
        silenced=silenced,
    )


def told(
    r: Receiver,
    log: GroupLog,
    *,
    firing: Sequence[AlertState] = (),
    resolved: Sequence[AlertState] = (),
    at: timedelta = timedelta(0),
    routed: bool = True,
) -> tuple[Notice | None, GroupLog]:
    return plan(r, "R", routed=routed, firing=firing, resolved=resolved, log=log, now=T0 + at)


def names(notice: Notice | None) -> tuple[list[str | None], list[str | None]]:
    assert notice is not None
    return [a.by_value for a in notice.firing], [a.by_value for a in notice.resolved]


def test_new_firing_alerts_are_sent_with_the_whole_group() -> None:
    r = receiver()
    notice, log = told(r, GroupLog(), firing=[alert("A")])
    assert names(notice) == (["A"], []) and notice is not None and notice.status == "firing"
    assert log == GroupLog(frozenset({"fp-A"}), T0)
    notice, log = told(r, log, firing=[alert("A"), alert("B")], at=timedelta(seconds=5))
    assert names(notice) == (["A", "B"], [])  # Alertmanager sends the group's firing alerts
    assert log.notified == {"fp-A", "fp-B"}


def test_still_firing_is_not_repeated_before_repeat_interval() -> None:
    r = receiver(repeat_interval="1h")
    _, log = told(r, GroupLog(), firing=[alert("A")])
    notice, log2 = told(r, log, firing=[alert("A")], at=timedelta(minutes=59))
    assert notice is None and log2 == log
    notice, log3 = told(r, log, firing=[alert("A")], at=timedelta(hours=1))
    assert names(notice) == (["A"], []) and log3.last_sent_at == T0 + timedelta(hours=1)


def test_resolved_is_sent_only_to_who_was_told_and_wants_it() -> None:
    r = receiver()
    _, log = told(r, GroupLog(), firing=[alert("A"), alert("B")])
    notice, log = told(
        r, log, firing=[alert("B")], resolved=[alert("A", "resolved")], at=timedelta(seconds=5)
    )
    assert names(notice) == (["B"], ["A"]) and notice is not None and notice.status == "firing"
    notice, log = told(r, log, resolved=[alert("B", "resolved")], at=timedelta(seconds=10))
    assert names(notice) == ([], ["B"]) and notice is not None and notice.status == "resolved"
    assert log.notified == frozenset()
    notice, _ = told(r, log, resolved=[alert("C", "resolved")], at=timedelta(seconds=15))
    assert notice is None  # never told C fired


def test_send_resolved_false() -> None:
    r = receiver(send_resolved=False)
    _, log = told(r, GroupLog(), firing=[alert("A")])
    notice, log = told(r, log, resolved=[alert("A", "resolved")], at=timedelta(seconds=5))
    assert notice is None and log.notified == frozenset()


def test_silenced_alerts_notify_no_one_but_close_what_was_opened() -> None:
    r = receiver()
    notice, log = told(r, GroupLog(), firing=[alert("A", silenced=True)])
    assert notice is None and log.notified == frozenset()
    notice, log = told(r, log, firing=[alert("A", silenced=True)], at=timedelta(hours=5))
    assert notice is None  # no repeat either
    notice, log = told(r, log, firing=[alert("A")], at=timedelta(hours=6))
    assert names(notice) == (["A"], [])  # the silence ended while it still fires
    notice, log = told(r, log, firing=[alert("A", silenced=True)], at=timedelta(hours=7))
    assert notice is None and log.notified == {"fp-A"}
    notice, log = told(r, log, resolved=[alert("A", "resolved", silenced=True)], at=timedelta(hours=8))
    assert names(notice) == ([], ["A"])


def test_a_receiver_dropped_from_the_rule_hears_only_the_resolution() -> None:
    r = receiver()
    _, log = told(r, GroupLog(), firing=[alert("A")])
    notice, log = told(r, log, firing=[alert("A"), alert("B")], routed=False, at=timedelta(hours=5))
    assert notice is None and log.notified == {"fp-A"}
    notice, log = told(r, log, firing=[alert("B")], resolved=[alert("A", "resolved")], routed=False)
    assert names(notice) == ([], ["A"])


def test_alertmanager_gets_only_queued_resolutions() -> None:
    am = receiver(url=None, repeat_interval=None, alertmanager_url="http://127.0.0.1:9093")
    notice, log = told(am, GroupLog(), firing=[alert("A"), alert("B", silenced=True)])
    assert notice is None and log.notified == {"fp-A"}
    notice, log = told(
        am, log, resolved=[alert("A", "resolved"), alert("B", "resolved")], at=timedelta(hours=9)
    )
    assert names(notice) == ([], ["A"]) and log.notified == frozenset()


def test_plan_is_pure() -> None:
    r = receiver()
    log = GroupLog(frozenset({"fp-A"}), T0)
    firing = [alert("A"), alert("B")]
    first = told(r, log, firing=firing)
    again = told(r, log, firing=[replace(a) for a in firing])
    assert first == again and log == GroupLog(frozenset({"fp-A"}), T0)
