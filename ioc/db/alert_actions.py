"""What operators do about alerts, stored (migration 0040): acknowledgements, silences made
through the API, escalations sent, and the append-only audit log.

The API writes acknowledgements and silences, each with its audit row in the same
transaction; the evaluator reads them every round, so an action takes effect within one
evaluation, and survives restarts and changes of leader because it lives only here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg
import orjson

from ioc.access import Principal
from ioc.db.alert_rows import Ack
from ioc.db.alerts import rows_between
from ioc.db.pool import Conn, Queryable
from schemas.actions import AuditEntry, Matcher, Silence, SilenceBody, SilenceStatus

MAX_AUDIT = 10_000
"""At most this many audit entries per answer (the oldest first)."""


def _ack(r: asyncpg.Record) -> Ack:
    return Ack(r["fingerprint"], r["firing_since"], r["acked_by"], r["comment"], r["acked_at"])


async def acknowledge(
    conn: Queryable, fingerprint: str, *, by: str, comment: str, now: datetime
) -> Ack | None:
    """Acknowledge the current firing of an alert; None when no alert with it is firing."""
    row = await conn.fetchrow(
        """
        INSERT INTO alert_acks (fingerprint, firing_since, acked_by, comment, acked_at)
        SELECT fingerprint, firing_since, $2, $3, $4 FROM alert_state
        WHERE fingerprint = $1 AND state = 'firing' AND firing_since IS NOT NULL
        LIMIT 1
        ON CONFLICT (fingerprint) DO UPDATE SET firing_since = EXCLUDED.firing_since,
            acked_by = EXCLUDED.acked_by, comment = EXCLUDED.comment, acked_at = EXCLUDED.acked_at
        RETURNING *
        """,
        fingerprint,
        by,
        comment,
        now,
    )
    return _ack(row) if row is not None else None


async def unacknowledge(conn: Queryable, fingerprint: str) -> bool:
    """Take an acknowledgement back; False when there was none."""
    return (
        await conn.fetchval("DELETE FROM alert_acks WHERE fingerprint = $1 RETURNING true", fingerprint)
        or False
    )


async def load_acks(conn: Queryable) -> dict[str, Ack]:
    return {r["fingerprint"]: _ack(r) for r in await conn.fetch("SELECT * FROM alert_acks")}


def _state(starts_at: datetime, ends_at: datetime, now: datetime) -> SilenceStatus:
    state = "expired" if ends_at <= now else "pending" if starts_at > now else "active"
    return SilenceStatus(state=state)  # type: ignore[arg-type]


def _silence(r: asyncpg.Record, now: datetime) -> Silence:
    return Silence(
        id=str(r["id"]),
        status=_state(r["starts_at"], r["ends_at"], now),
        updatedAt=r["created_at"] if r["ends_at"] > now else max(r["created_at"], r["ends_at"]),
        matchers=[Matcher.model_validate(m) for m in orjson.loads(r["matchers"])],
        startsAt=r["starts_at"],
        endsAt=r["ends_at"],
        createdBy=r["created_by"],
        comment=r["comment"],
    )


async def create_silence(conn: Queryable, body: SilenceBody, *, created_by: str, now: datetime) -> str:
    silence_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO alert_silences (id, matchers, starts_at, ends_at, comment, created_by, created_at)"
        " VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7)",
        silence_id,
        orjson.dumps([m.model_dump() for m in body.matchers]).decode(),
        body.startsAt,
        body.endsAt,
        body.comment,
        created_by,
        now,
    )
    return str(silence_id)


async def silence_by_id(conn: Queryable, silence_id: uuid.UUID, now: datetime) -> Silence | None:
    row = await conn.fetchrow("SELECT * FROM alert_silences WHERE id = $1", silence_id)
    return _silence(row, now) if row is not None else None


async def expire_silence(conn: Queryable, silence_id: uuid.UUID, now: datetime) -> bool:
    """End a silence now, as Alertmanager does (one not begun ends before it starts); False when
    it was already over."""
    done = await conn.fetchval(
        "UPDATE alert_silences SET ends_at = $2, starts_at = least(starts_at, $2)"
        " WHERE id = $1 AND ends_at > $2 RETURNING true",
        silence_id,
        now,
    )
    return bool(done)


async def list_silences(conn: Queryable, now: datetime, *, expired_since: datetime) -> list[Silence]:
    """Silences active or pending, and those that expired after `expired_since`, newest first."""
    rows = await conn.fetch(
        "SELECT * FROM alert_silences WHERE ends_at > $1 ORDER BY created_at DESC, id", expired_since
    )
    return [_silence(r, now) for r in rows]


async def active_silences(conn: Queryable, now: datetime) -> list[Silence]:
    rows = await conn.fetch("SELECT * FROM alert_silences WHERE starts_at <= $1 AND ends_at > $1", now)
    return [_silence(r, now) for r in rows]


async def escalations(conn: Queryable) -> set[tuple[str, datetime, str]]:
    """(fingerprint, firing_since, receiver) of every escalation already sent for a firing."""
    rows = await conn.fetch("SELECT fingerprint, firing_since, receiver FROM alert_escalations")
    return {(r["fingerprint"], r["firing_since"], r["receiver"]) for r in rows}


async def record_escalations(conn: Conn, sent: Sequence[tuple[str, datetime, str]], now: datetime) -> None:
    """Within the evaluation's transaction: these firings escalated now (once each)."""
    if sent:
        await conn.executemany(
            "INSERT INTO alert_escalations (fingerprint, firing_since, receiver, at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            [(fp, since, receiver, now) for fp, since, receiver in sent],
        )


async def audit(
    conn: Queryable,
    principal: Principal,
    *,
    action: str,
    target: str,
    address: str | None,
    now: datetime,
    detail: dict[str, object] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (at, actor, role, scope, address, action, target, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)",
        now,
        principal.name,
        str(principal.role),
        str(principal.scope),
        address,
        action,
        target,
        orjson.dumps(detail or {}).decode(),
    )


def _entry(r: asyncpg.Record) -> AuditEntry:
    return AuditEntry(
        at=r["at"],
        actor=r["actor"],
        role=r["role"],
        scope=r["scope"],
        address=r["address"],
        action=r["action"],
        target=r["target"],
        detail=orjson.loads(r["detail"]),
    )


async def audit_entries(
    conn: Queryable, start: datetime, end: datetime, *, limit: int = MAX_AUDIT
) -> list[AuditEntry]:
    """Actions with `start <= at < end`, oldest first, at most `limit` of them."""
    return await rows_between(conn, "audit_log", start, end, limit=limit, row=_entry)


async def purge_finished(conn: Queryable) -> None:
    """Forget the acknowledgements and escalations of firings that are over (they can never
    apply again: a new firing has a new `firing_since`)."""
    for table in ("alert_escalations", "alert_acks"):
        await conn.execute(
            f"DELETE FROM {table} x WHERE NOT EXISTS (SELECT 1 FROM alert_state s"
            " WHERE s.fingerprint = x.fingerprint AND s.firing_since = x.firing_since"
            " AND s.state = 'firing')"
        )
