"""The FastAPI dependencies that identify a caller: HTTP routes, /metrics and the live channel."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth.scopes import AuthError, require_everything, require_role
from api.auth.tokens import Tokens
from ioc.access import ANONYMOUS, Principal, Role
from schemas.api import ErrorBody

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorBody,
        "description": "API tokens are configured and none, or an unknown one, was sent",
    },
    403: {"model": ErrorBody, "description": "The token's role or scope does not cover this"},
    # RequestLimits (api.auth.limits) answers these on every route, before any handler runs.
    413: {"model": ErrorBody, "description": "The declared request body is over IOC_API_MAX_BODY_BYTES"},
    414: {"model": ErrorBody, "description": "The query string is over IOC_API_MAX_QUERY_BYTES"},
    431: {"model": ErrorBody, "description": "The request headers are over 16 KiB"},
}

LIVE_AUTH_TIMEOUT_S = 10.0
"""How long the live channel waits for a browser's first message, which carries its token."""

_bearer = HTTPBearer(auto_error=False, description="An API token from IOC_API_TOKENS (when configured)")


def tokens_of(app_state: Any) -> Tokens:
    tokens: Tokens = app_state.tokens
    return tokens


async def caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """Who the request acts as; everyone is an admin of everything when no tokens are configured."""
    tokens = tokens_of(request.app.state)
    if not tokens.enabled:
        return ANONYMOUS
    if credentials is None:
        raise AuthError(
            401, "unauthorized", "this endpoint needs an API token: `Authorization: Bearer <token>`"
        )
    principal = tokens.principal_of(credentials.credentials)
    if principal is None:
        raise AuthError(401, "unauthorized", "unknown API token")
    return principal


Caller = Annotated[Principal, Depends(caller)]


async def operator(principal: Caller) -> Principal:
    """Acting on alerts (acknowledge, silence): role `operator` or `admin`."""
    require_role(principal, Role.OPERATOR, "acting on alerts")
    return principal


async def admin(principal: Caller) -> Principal:
    """The audit log: role `admin`."""
    require_role(principal, Role.ADMIN, "reading the audit log")
    return principal


Operator = Annotated[Principal, Depends(operator)]
Admin = Annotated[Principal, Depends(admin)]


async def metrics_guard(request: Request) -> None:
    """/metrics: open, unless tokens are configured and IOC_METRICS_REQUIRE_TOKEN (the default);
    then an `admin` token of scope `all`, since its labels name every district's numbers."""
    tokens = tokens_of(request.app.state)
    if tokens.enabled and tokens.metrics_require_token:
        principal = await caller(request, await _bearer(request))
        require_role(principal, Role.ADMIN, "reading /metrics")
        require_everything(principal, "/metrics")


async def admit_live(ws: WebSocket) -> Principal | None:
    """Who a live-channel client is, after `ws.accept()`: its `Authorization: Bearer` header,
    or (browsers cannot set headers on a WebSocket) its first message `{"token": "..."}`. Never
    a query string: a URL ends up in logs and histories. A refusal closes with 1008 and says why;
    the answer is None then."""
    tokens = tokens_of(ws.app.state)
    if not tokens.enabled:
        return ANONYMOUS
    header = ws.headers.get("authorization", "")
    token: str | None = header[7:].strip() if header[:7].lower() == "bearer " else None
    if token is None:
        try:
            first = await asyncio.wait_for(ws.receive_text(), LIVE_AUTH_TIMEOUT_S)
            sent = orjson.loads(first)
            token = sent.get("token") if isinstance(sent, dict) else None
        except (TimeoutError, orjson.JSONDecodeError, KeyError, RuntimeError):
            token = None
    principal = tokens.principal_of(token) if isinstance(token, str) and token else None
    if principal is None:
        await ws.close(
            code=1008,
            reason='an API token is needed: `Authorization: Bearer` or a first message {"token": "..."}',
        )
    return principal
