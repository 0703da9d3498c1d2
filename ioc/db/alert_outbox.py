"""The alert outbox's delivery side: what is owed to a receiver, and how each attempt ended.

Notifications enter the outbox with the evaluation that owes them (ioc/db/alerts.py); the
delivery loops drain it here, strictly in order per receiver, so a receiver that was away
gets what it missed in the order it happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from ioc.db.alert_rows import OutboxRow
from ioc.db.pool import Queryable


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


async def next_owed(conn: Queryable, receiver: str) -> OutboxRow | None:
    """The oldest notification still owed to `receiver` (delivery is strictly in order)."""
    rows = await conn.fetch(_OWED, receiver, 1)
    return _row(rows[0]) if rows else None


async def owed(conn: Queryable, receiver: str, *, limit: int = 500) -> list[OutboxRow]:
    """The notifications still owed to `receiver`, oldest first."""
    rows = await conn.fetch(_OWED, receiver, limit)
    return [_row(r) for r in rows]


async def finish(conn: Queryable, seqs: Sequence[int], *, outcome: str, at: datetime) -> None:
    """Close notifications: `sent`, `failed` (refused for good) or `expired` (too old)."""
    await conn.execute(
        "UPDATE alert_outbox SET outcome = $2, done_at = $3, attempts = attempts + 1"
        " WHERE seq = ANY($1::bigint[]) AND outcome IS NULL",
        list(seqs),
        outcome,
        at,
    )


async def record_failure(conn: Queryable, seqs: Sequence[int], *, error: str) -> None:
    """Count a failed attempt that will be retried (never the body or secret, only what went wrong)."""
    await conn.execute(
        "UPDATE alert_outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = ANY($1::bigint[])",
        list(seqs),
        error[:500],
    )


async def owed_counts(conn: Queryable) -> dict[str, int]:
    """Notifications not yet delivered, by receiver (the `ioc_alert_outbox_pending` gauge)."""
    rows = await conn.fetch(
        "SELECT receiver, count(*)::bigint AS n FROM alert_outbox WHERE outcome IS NULL GROUP BY receiver"
    )
    return {r["receiver"]: r["n"] for r in rows}
