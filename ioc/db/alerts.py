"""Alerts as the API serves them: firing alerts and their history, read from the evaluator's tables.

The worker's evaluator writes these tables (streams/alerts/store.py); the API only reads them,
so it needs neither the rules file nor the evaluator to answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from ioc.db.pool import Queryable as Conn
from schemas.alerts import Alert, AlertChange

MAX_CHANGES = 10_000
"""At most this many state changes per history answer (the oldest first)."""


def _map(value: Any) -> dict[str, str]:
    loaded = orjson.loads(value) if isinstance(value, str | bytes) else value
    return {str(k): str(v) for k, v in dict(loaded).items()}


async def firing_alerts(conn: Conn, *, include_pending: bool = False) -> list[Alert]:
    """Alerts firing now (and pending ones if asked), most severe first, then oldest first."""
    states = ["firing", "pending"] if include_pending else ["firing"]
    rows = await conn.fetch(
        "SELECT * FROM alert_state WHERE state = ANY($1::text[])"
        " ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,"
        " coalesce(firing_since, active_since), rule, fingerprint",
        states,
    )
    return [
        Alert(
            rule=r["rule"],
            fingerprint=r["fingerprint"],
            state=r["state"],
            severity=r["severity"],
            kpi=r["kpi"],
            by=r["by_dim"],
            by_value=r["by_value"],
            value=r["value"],
            labels=_map(r["labels"]),
            annotations=_map(r["annotations"]),
            active_since=r["active_since"],
            firing_since=r["firing_since"],
            silenced=r["silenced"],
            updated_at=r["updated_at"],
        )
        for r in rows
    ]


async def alert_history(
    conn: Conn, start: datetime, end: datetime, *, limit: int = MAX_CHANGES
) -> list[AlertChange]:
    """State changes with `start <= at < end`, oldest first, at most `limit` of them."""
    rows = await conn.fetch(
        "SELECT at, rule, fingerprint, state, previous, severity, value, labels, annotations"
        " FROM alert_history WHERE at >= $1 AND at < $2 ORDER BY at, id LIMIT $3",
        start,
        end,
        limit,
    )
    return [
        AlertChange(
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
        for r in rows
    ]
