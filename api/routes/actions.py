"""Operators act on alerts: acknowledge, silence, and the audit log of every such action.

`POST/DELETE /api/v1/alerts/{fingerprint}/ack`, `GET/POST /api/v1/silences`,
`DELETE /api/v1/silences/{id}` (role `operator`), `GET /api/v1/audit` (role `admin`). Each
action and its audit row are stored in one transaction, so the log never misses one. A scoped
token acts only inside its scope: on alerts whose labels fall in it, and with silences one of
whose exact matchers names a value inside it (so it cannot silence another district).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from api.auth import Admin, AuthError, Caller, Operator
from api.deps import AppState, State
from api.errors import ERROR_RESPONSES, ApiError, error_example
from api.routes.alerts import TimeBounds
from ioc.access import Principal
from ioc.db import alert_actions as store
from ioc.db.alerts import firing_alert
from schemas.actions import (
    SILENCE_RULES,
    Ack,
    AckBody,
    AuditResponse,
    Matcher,
    Silence,
    SilenceBody,
    SilenceCreated,
    silence_refusal,
)
from schemas.alerts import Alert
from schemas.api import ErrorBody

router = APIRouter(prefix="/api/v1", tags=["actions"])

Fingerprint = Annotated[
    str, Path(pattern=r"^[0-9a-f]{16}$", description="The alert's fingerprint (16 hex digits)")
]
ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"model": ErrorBody, "description": "No such firing alert or silence within the token's scope"},
    409: {"model": ErrorBody, "description": "The silence has already expired"},
}
SILENCE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ACTION_RESPONSES,
    400: {
        "model": ErrorBody,
        "description": "A well-formed silence that breaks a rule across its fields or the clock, which"
        " a schema cannot express; `error` is `invalid_silence` and each example below is one rule",
        "content": {
            "application/json": {
                "examples": {k: error_example("invalid_silence", v) for k, v in SILENCE_RULES.items()}
            }
        },
    },
}
SILENCES_EXPIRED_SHOWN = timedelta(days=7)
"""Expired silences stay listed this long, so an operator sees what just ended."""


def _address(request: Request) -> str | None:
    return request.client.host if request.client is not None else None


def silence_in_scope(state: AppState, principal: Principal, matchers: list[Matcher]) -> bool:
    """A scoped token's silence must pin a label to a value inside its scope."""
    scope = principal.scope
    if scope.is_all:
        return True
    holds = state.reader.hierarchy.holds
    return any(m.isEqual and not m.isRegex and holds(scope, m.name, m.value) for m in matchers)


async def _firing_alert(state: AppState, principal: Principal, fingerprint: str) -> Alert:
    alert = await firing_alert(state.pool, fingerprint)
    if alert is None:
        raise ApiError(404, "unknown_alert", f"no alert with fingerprint {fingerprint} is firing")
    if not state.reader.hierarchy.labels_inside(principal.scope, alert.labels):
        raise AuthError(
            403, "forbidden", f"alert {fingerprint} is outside the token's scope {principal.scope}"
        )
    return alert


@router.post(
    "/alerts/{fingerprint}/ack",
    response_model=Ack,
    responses=ACTION_RESPONSES,
    summary="Acknowledge a firing alert: it keeps firing, but is not re-sent",
)
async def acknowledge(
    principal: Operator, state: State, request: Request, fingerprint: Fingerprint, body: AckBody | None = None
) -> Ack:
    await _firing_alert(state, principal, fingerprint)
    now = state.reader.clock.now()
    comment = body.comment if body is not None else ""
    async with state.pool.acquire() as conn, conn.transaction():
        ack = await store.acknowledge(conn, fingerprint, by=principal.name, comment=comment, now=now)
        if ack is None:  # it resolved in between
            raise ApiError(404, "unknown_alert", f"no alert with fingerprint {fingerprint} is firing")
        await store.audit(
            conn,
            principal,
            action="alert.acknowledge",
            target=fingerprint,
            address=_address(request),
            now=now,
            detail={"comment": comment},
        )
    return Ack(
        fingerprint=fingerprint,
        acked_by=ack.acked_by,
        acked_at=ack.acked_at,
        comment=ack.comment,
        firing_since=ack.firing_since,
    )


@router.delete(
    "/alerts/{fingerprint}/ack",
    status_code=204,
    responses=ACTION_RESPONSES,
    summary="Take back the acknowledgement of a firing alert",
)
async def unacknowledge(
    principal: Operator, state: State, request: Request, fingerprint: Fingerprint
) -> Response:
    await _firing_alert(state, principal, fingerprint)
    now = state.reader.clock.now()
    async with state.pool.acquire() as conn, conn.transaction():
        if not await store.unacknowledge(conn, fingerprint):
            raise ApiError(404, "not_acknowledged", f"alert {fingerprint} is not acknowledged")
        await store.audit(
            conn,
            principal,
            action="alert.unacknowledge",
            target=fingerprint,
            address=_address(request),
            now=now,
        )
    return Response(status_code=204)


@router.get(
    "/silences", response_model=list[Silence], summary="Silences: active, pending and recently expired"
)
async def silences(principal: Caller, state: State) -> list[Silence]:
    now = state.reader.clock.now()
    found = await store.list_silences(state.pool, now, expired_since=now - SILENCES_EXPIRED_SHOWN)
    return [s for s in found if silence_in_scope(state, principal, list(s.matchers))]


@router.post(
    "/silences",
    response_model=SilenceCreated,
    responses=SILENCE_RESPONSES,
    summary="Silence matching alerts (Alertmanager's v2 body); `createdBy` is the token's name",
)
async def create_silence(
    principal: Operator, state: State, request: Request, body: SilenceBody
) -> SilenceCreated:
    if not silence_in_scope(state, principal, list(body.matchers)):
        raise AuthError(
            403,
            "forbidden",
            f"a token scoped to {principal.scope} silences only inside it: one matcher must be "
            f"`{principal.scope.kind}` (or a place under it) equal to a value in the scope, not a regex",
        )
    now = state.reader.clock.now()
    refused = silence_refusal(body, now)
    if refused is not None:
        raise ApiError(400, "invalid_silence", SILENCE_RULES[refused])
    async with state.pool.acquire() as conn, conn.transaction():
        silence_id = await store.create_silence(conn, body, created_by=principal.name, now=now)
        await store.audit(
            conn,
            principal,
            action="silence.create",
            target=silence_id,
            address=_address(request),
            now=now,
            detail=body.model_dump(mode="json"),
        )
    return SilenceCreated(silenceID=silence_id)


@router.delete(
    "/silences/{silence_id}", status_code=204, responses=ACTION_RESPONSES, summary="Expire a silence now"
)
async def expire_silence(
    principal: Operator, state: State, request: Request, silence_id: uuid.UUID
) -> Response:
    now = state.reader.clock.now()
    async with state.pool.acquire() as conn, conn.transaction():
        silence = await store.silence_by_id(conn, silence_id, now)
        if silence is None or not silence_in_scope(state, principal, list(silence.matchers)):
            raise ApiError(404, "unknown_silence", f"no silence {silence_id} in the token's scope")
        if not await store.expire_silence(conn, silence_id, now):
            raise ApiError(409, "already_expired", f"silence {silence_id} has already expired")
        await store.audit(
            conn,
            principal,
            action="silence.expire",
            target=str(silence_id),
            address=_address(request),
            now=now,
        )
    return Response(status_code=204)


@router.get(
    "/audit",
    response_model=AuditResponse,
    response_model_by_alias=True,
    responses=ACTION_RESPONSES,
    summary="Every action taken through the API, oldest first (read-only)",
)
async def audit(principal: Admin, state: State, bounds: TimeBounds) -> AuditResponse:
    start, end = bounds
    entries = await store.audit_entries(state.pool, start, end)
    if not principal.scope.is_all:  # a scoped admin sees the actions of its own scope
        entries = [e for e in entries if e.scope == str(principal.scope)]
    return AuditResponse(from_=start, to=end, entries=entries)
