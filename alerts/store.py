"""Alert state, history, notification logs and the outbox in PostgreSQL (migration 0010_alerts).

One evaluation is stored in one transaction: the alerts that changed, their history rows,
the receivers' logs and the notifications owed. So after a crash either all of an
evaluation's effects exist or none do, and the next leader neither repeats nor forgets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from ioc.db.pool import Conn
from streams.alerts.evaluate import AlertState, Change
from streams.alerts.notify import GroupLog


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A notification to queue: the exact body for one receiver."""

    receiver: str
    rule: str
    status: str
    body: bytes
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A queued notification still owed to its receiver."""

    seq: int
    receiver: str
    rule: str
    status: str
    body: bytes
    created_at: datetime
    attempts: int


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _map(value: Any) -> dict[str, str]:
    loaded = orjson.loads(value) if isinstance(value, str | bytes) else value
    return {str(k): str(v) for k, v in dict(loaded).items()}


def _alert(r: asyncpg.Record) -> AlertState:
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


async def load_active(conn: Conn) -> list[AlertState]:
    """Pending and firing alerts, as the last evaluation left them."""
    rows = await conn.fetch(
        "SELECT * FROM alert_state WHERE state IN ('pending', 'firing') ORDER BY rule, fingerprint"
    )
    return [_alert(r) for r in rows]


async def load_logs(conn: Conn) -> dict[tuple[str, str], GroupLog]:
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
            await conn.executemany(
                _UPSERT,
                [
                    (
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
                    for a in updated
                ],
            )
        if changes:
            await conn.executemany(
                "INSERT INTO alert_history (at, rule, fingerprint, state, previous, severity, value,"
                " labels, annotations) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb)",
                [
                    (
                        c.at,
                        c.alert.rule,
                        c.alert.fingerprint,
                        c.alert.state,
                        c.previous,
                        c.alert.severity,
                        c.alert.value,
                        _json(c.alert.labels),
                        _json(c.alert.annotations),
                    )
                    for c in changes
                ],
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


def _row(r: asyncpg.Record) -> OutboxRow:
    return OutboxRow(
        seq=r["seq"],
        receiver=r["receiver"],
        rule=r["rule"],
        status=r["status"],
        body=bytes(r["body"]),
        created_at=r["created_at"],
        attempts=r["attempts"],
    )


_OWED = (
    "SELECT seq, receiver, rule, status, body, created_at, attempts FROM alert_outbox"
    " WHERE receiver = $1 AND outcome IS NULL ORDER BY seq LIMIT $2"
)


async def next_owed(conn: Conn, receiver: str) -> OutboxRow | None:
    """The oldest notification still owed to `receiver` (delivery is strictly in order)."""
    rows = await conn.fetch(_OWED, receiver, 1)
    return _row(rows[0]) if rows else None


async def owed(conn: Conn, receiver: str, *, limit: int = 500) -> list[OutboxRow]:
    rows = await conn.fetch(_OWED, receiver, limit)
    return [_row(r) for r in rows]


async def finish(conn: Conn, seqs: Sequence[int], *, outcome: str, at: datetime) -> None:
    """Close notifications: `sent`, `failed` (refused for good) or `expired` (too old)."""
    await conn.execute(
        "UPDATE alert_outbox SET outcome = $2, done_at = $3, attempts = attempts + 1"
        " WHERE seq = ANY($1::bigint[]) AND outcome IS NULL",
        list(seqs),
        outcome,
        at,
    )


async def record_failure(conn: Conn, seqs: Sequence[int], *, error: str) -> None:
    """Count a failed attempt that will be retried (never the body or secret, only what went wrong)."""
    await conn.execute(
        "UPDATE alert_outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = ANY($1::bigint[])",
        list(seqs),
        error[:500],
    )


async def owed_counts(conn: Conn) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT receiver, count(*)::bigint AS n FROM alert_outbox WHERE outcome IS NULL GROUP BY receiver"
    )
    return {r["receiver"]: r["n"] for r in rows}


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
