"""The alert tables (migration 0010_alerts): state, history and notification logs, in one place.

The evaluator (alerts/) writes these tables and the API reads them; both go through this
module, so each table's rows are mapped once. One evaluation is stored in one transaction:
the alerts that changed, their history rows, the receivers' logs and the notifications owed.
So after a crash either all of an evaluation's effects exist or none do, and the next leader
neither repeats nor forgets. The outbox's delivery side is in ioc/db/alert_outbox.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

import asyncpg
import orjson

from ioc.db.alert_rows import AlertState, Change, GroupLog, OutboxItem
from ioc.db.pool import Conn, Queryable
from schemas.actions import Ack
from schemas.alerts import Alert, AlertChange

MAX_CHANGES = 10_000
"""At most this many state changes per history answer (the oldest first)."""

Ranged = Literal["alert_history", "audit_log"]
"""The tables read by time range: each has an `at` (indexed) and an `id` that orders ties."""
T = TypeVar("T")


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _map(value: Any) -> dict[str, str]:
    loaded = orjson.loads(value) if isinstance(value, str | bytes) else value
    return {str(k): str(v) for k, v in dict(loaded).items()}


def _alert(r: asyncpg.Record) -> AlertState:
    """The one mapping of an `alert_state` row."""
    return AlertState(
        rule=r["rule"],
        fingerprint=r["fingerprint"],
        state=r["state"],
        severity=r["severity"],
        kpi=r["kpi"],
        window=r["kpi_window"],
        by=r["by_dim"],
        by_value=r["by_value"],
        labels=_map(r["labels"]),
        annotations=_map(r["annotations"]),
        value=r["value"],
        active_since=r["active_since"],
        updated_at=r["updated_at"],
        firing_since=r["firing_since"],
        resolved_at=r["resolved_at"],
        silenced=r["silenced"],
    )


def _shown(a: AlertState) -> Alert:
    """An alert as the API serves it (the fields of contract/KPIS.md, not the evaluator's)."""
    return Alert(
        rule=a.rule,
        fingerprint=a.fingerprint,
        state=a.state,
        severity=a.severity,
        kpi=a.kpi,
        by=a.by,
        by_value=a.by_value,
        value=a.value,
        labels=a.labels,
        annotations=a.annotations,
        active_since=a.active_since,
        firing_since=a.firing_since,
        silenced=a.silenced,
        updated_at=a.updated_at,
    )


# -- what the API reads ------------------------------------------------------------------------


_SHOWN = """
SELECT s.*, a.acked_by, a.comment AS ack_comment, a.acked_at,
       (SELECT min(e.at) FROM alert_escalations e
        WHERE e.fingerprint = s.fingerprint AND e.firing_since = s.firing_since) AS escalated_at
FROM alert_state s
LEFT JOIN alert_acks a ON a.fingerprint = s.fingerprint AND a.firing_since = s.firing_since
WHERE {where}
ORDER BY CASE s.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
         coalesce(s.firing_since, s.active_since), s.rule, s.fingerprint
"""


def _shown_row(r: asyncpg.Record) -> Alert:
    """An alert as served, with its acknowledgement and when it escalated, if it did."""
    alert = _shown(_alert(r))
    if r["acked_by"] is not None:
        alert.acknowledgement = Ack(
            fingerprint=alert.fingerprint,
            acked_by=r["acked_by"],
            acked_at=r["acked_at"],
            comment=r["ack_comment"],
            firing_since=r["firing_since"],
        )
    alert.escalated_at = r["escalated_at"]
    return alert


async def firing_alerts(conn: Queryable, *, include_pending: bool = False) -> list[Alert]:
    """Alerts firing now (and pending ones if asked), most severe first, then oldest first,
    each with its acknowledgement and when it escalated, if it did."""
    states = ["firing", "pending"] if include_pending else ["firing"]
    rows = await conn.fetch(_SHOWN.format(where="s.state = ANY($1::text[])"), states)
    return [_shown_row(r) for r in rows]


async def firing_alert(conn: Queryable, fingerprint: str) -> Alert | None:
    """The alert with this fingerprint if it is firing now (as `firing_alerts` shows it), else None.

    One query for the one row; the primary key (rule, fingerprint) does not lead with the
    fingerprint, so the rows are found through `alert_state_active`, which holds only pending
    and firing alerts."""
    row = await conn.fetchrow(
        _SHOWN.format(where="s.fingerprint = $1 AND s.state = 'firing'") + "LIMIT 1", fingerprint
    )
    return _shown_row(row) if row is not None else None


async def rows_between(
    conn: Queryable,
    table: Ranged,
    start: datetime,
    end: datetime,
    *,
    limit: int,
    row: Callable[[asyncpg.Record], T],
) -> list[T]:
    """The rows of `table` with `start <= at < end`, oldest first, at most `limit` of them, each
    mapped by `row`: the one ranged read behind the alert history and the audit log."""
    rows = await conn.fetch(
        f"SELECT * FROM {table} WHERE at >= $1 AND at < $2 ORDER BY at, id LIMIT $3", start, end, limit
    )
    return [row(r) for r in rows]


def _change(r: asyncpg.Record) -> AlertChange:
    """The one mapping of an `alert_history` row."""
    return AlertChange(
        at=r["at"],
        rule=r["rule"],
        fingerprint=r["fingerprint"],
        state=r["state"],
        previous=r["previous"],
        severity=r["severity"],
        value=r["value"],
        labels=_map(r["labels"]),
        annotations=_map(r["annotations"]),
    )


async def alert_history(
    conn: Queryable, start: datetime, end: datetime, *, limit: int = MAX_CHANGES
) -> list[AlertChange]:
    """State changes with `start <= at < end`, oldest first, at most `limit` of them."""
    return await rows_between(conn, "alert_history", start, end, limit=limit, row=_change)


# -- what the evaluator reads and writes -------------------------------------------------------


async def load_active(conn: Queryable) -> list[AlertState]:
    """Pending and firing alerts, as the last evaluation left them."""
    rows = await conn.fetch(
        "SELECT * FROM alert_state WHERE state IN ('pending', 'firing') ORDER BY rule, fingerprint"
    )
    return [_alert(r) for r in rows]


async def load_logs(conn: Queryable) -> dict[tuple[str, str], GroupLog]:
    """(receiver, rule) -> what that receiver was told about that rule."""
    rows = await conn.fetch("SELECT receiver, rule, notified, last_sent_at FROM alert_notify_log")
    return {(r["receiver"], r["rule"]): GroupLog(frozenset(r["notified"]), r["last_sent_at"]) for r in rows}


_UPSERT = """
INSERT INTO alert_state (rule, fingerprint, state, severity, kpi, kpi_window, by_dim, by_value,
                         labels, annotations, value, silenced, active_since, firing_since,
                         resolved_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12, $13, $14, $15, $16)
ON CONFLICT (rule, fingerprint) DO UPDATE SET
    state = EXCLUDED.state, severity = EXCLUDED.severity, kpi = EXCLUDED.kpi,
    kpi_window = EXCLUDED.kpi_window, by_dim = EXCLUDED.by_dim, by_value = EXCLUDED.by_value,
    labels = EXCLUDED.labels, annotations = EXCLUDED.annotations, value = EXCLUDED.value,
    silenced = EXCLUDED.silenced, active_since = EXCLUDED.active_since,
    firing_since = EXCLUDED.firing_since, resolved_at = EXCLUDED.resolved_at,
    updated_at = EXCLUDED.updated_at
"""


def _state_args(a: AlertState) -> tuple[object, ...]:
    return (
        a.rule,
        a.fingerprint,
        a.state,
        a.severity,
        a.kpi,
        a.window,
        a.by,
        a.by_value,
        _json(a.labels),
        _json(a.annotations),
        a.value,
        a.silenced,
        a.active_since,
        a.firing_since,
        a.resolved_at,
        a.updated_at,
    )


def _history_args(c: Change) -> tuple[object, ...]:
    a = c.alert
    return (
        c.at,
        a.rule,
        a.fingerprint,
        a.state,
        c.previous,
        a.severity,
        a.value,
        _json(a.labels),
        _json(a.annotations),
    )


async def save_evaluation(
    conn: Conn,
    *,
    updated: Sequence[AlertState],
    changes: Sequence[Change],
    logs: Mapping[tuple[str, str], GroupLog | None],
    outbox: Sequence[OutboxItem],
) -> None:
    """Store one evaluation's effects atomically (`logs` value None: forget that log)."""
    async with conn.transaction():
        if updated:
            await conn.executemany(_UPSERT, [_state_args(a) for a in updated])
        if changes:
            await conn.executemany(
                "INSERT INTO alert_history (at, rule, fingerprint, state, previous, severity, value,"
                " labels, annotations) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb)",
                [_history_args(c) for c in changes],
            )
        for (receiver, rule), log in logs.items():
            if log is None:
                await conn.execute(
                    "DELETE FROM alert_notify_log WHERE receiver = $1 AND rule = $2", receiver, rule
                )
            else:
                await conn.execute(
                    "INSERT INTO alert_notify_log (receiver, rule, notified, last_sent_at)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT (receiver, rule) DO UPDATE SET"
                    " notified = EXCLUDED.notified, last_sent_at = EXCLUDED.last_sent_at",
                    receiver,
                    rule,
                    sorted(log.notified),
                    log.last_sent_at,
                )
        if outbox:
            await conn.executemany(
                "INSERT INTO alert_outbox (receiver, rule, status, body, created_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                [(o.receiver, o.rule, o.status, o.body, o.created_at) for o in outbox],
            )


async def purge(conn: Conn, *, before: datetime, owed_before: datetime, now: datetime) -> None:
    """Drop history, delivered notifications and ended alerts older than `before`.

    Notifications still owed from before `owed_before` are closed as `expired`: this catches
    those of a receiver that left the rules file, whose delivery loop no longer runs.
    """
    async with conn.transaction():
        await conn.execute(
            "UPDATE alert_outbox SET outcome = 'expired', done_at = $2"
            " WHERE outcome IS NULL AND created_at < $1",
            owed_before,
            now,
        )
        await conn.execute("DELETE FROM alert_history WHERE at < $1", before)
        await conn.execute("DELETE FROM alert_outbox WHERE outcome IS NOT NULL AND done_at < $1", before)
        await conn.execute(
            "DELETE FROM alert_state WHERE state IN ('resolved', 'inactive') AND updated_at < $1", before
        )
