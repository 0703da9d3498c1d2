"""Who is told what, and when: pure planning of notifications, grouped by rule.

Each receiver keeps, per rule, a small log like Alertmanager's notification log: which alerts
it was told are firing and when it was last sent anything. A receiver is notified when an
alert it has not been told about fires, when one it was told about resolves (if it wants
resolved notifications), and again every `repeat_interval` while alerts still fire and one of
them is not acknowledged. A
silenced alert is never announced; a receiver that was told an alert fired before a silence
began is still told when it resolves, so no ticket is left open by a maintenance window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from alerts.models import Receiver
from ioc.db.alert_rows import AlertState, GroupLog

__all__ = ["GroupLog", "Notice", "plan"]


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification to send: a rule's firing alerts and the ones that just resolved."""

    receiver: str
    rule: str
    firing: tuple[AlertState, ...]
    resolved: tuple[AlertState, ...]
    at: datetime

    @property
    def status(self) -> str:
        """`firing` while any alert in it fires, as in Alertmanager's webhook."""
        return "firing" if self.firing else "resolved"


def plan(
    receiver: Receiver,
    rule: str,
    *,
    routed: bool,
    firing: Sequence[AlertState],
    resolved: Sequence[AlertState],
    log: GroupLog,
    now: datetime,
) -> tuple[Notice | None, GroupLog]:
    """The notice `receiver` is owed for `rule` after an evaluation (if any) and its new log.

    `routed`: the rule names this receiver now (otherwise it only hears of resolutions of what
    it was told before). `firing`: every firing alert of the rule, silenced ones included.
    `resolved`: the rule's alerts that resolved in this evaluation.

    For an Alertmanager, firing alerts travel by the periodic re-post of the current state, so
    only resolutions are planned here (Alertmanager always wants them, with their `endsAt`).
    """
    loud = [a for a in firing if not a.silenced] if routed else []
    loud_fps = {a.fingerprint for a in loud}
    still_firing = {a.fingerprint for a in firing}
    closing = tuple(a for a in resolved if a.fingerprint in log.notified)
    new_log_notified = frozenset((log.notified & still_firing) | loud_fps)
    if receiver.is_alertmanager:
        notice = Notice(receiver.name, rule, (), closing, now) if closing else None
        return notice, GroupLog(new_log_notified, log.last_sent_at)
    news = bool(loud_fps - log.notified)
    closing = closing if receiver.send_resolved else ()
    # an acknowledged alert keeps firing, but someone is on it: it alone is not re-sent
    repeat = (
        any(not a.acknowledged for a in loud)
        and log.last_sent_at is not None
        and now - log.last_sent_at >= receiver.repeat_interval
    )
    if not (news or closing or repeat):
        return None, GroupLog(new_log_notified, log.last_sent_at)
    return Notice(receiver.name, rule, tuple(loud), closing, now), GroupLog(new_log_notified, now)
