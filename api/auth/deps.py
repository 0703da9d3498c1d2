"""The FastAPI dependencies that check a caller: data routes, /metrics and the live channel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth.scopes import ALL, AuthError, Scope
from api.auth.tokens import Tokens
from schemas.api import ErrorBody

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorBody,
        "description": "API tokens are configured and none, or an unknown one, was sent",
    },
    403: {"model": ErrorBody, "description": "The token's scope does not cover this"},
    # RequestLimits (api.auth.limits) answers these on every route, before any handler runs.
    413: {"model": ErrorBody, "description": "The declared request body is over IOC_API_MAX_BODY_BYTES"},
    414: {"model": ErrorBody, "description": "The query string is over IOC_API_MAX_QUERY_BYTES"},
    431: {"model": ErrorBody, "description": "The request headers are over 16 KiB"},
}

_bearer = HTTPBearer(auto_error=False, description="An API token from IOC_API_TOKENS (when configured)")


def tokens_of(app_state: Any) -> Tokens:
    tokens: Tokens = app_state.tokens
    return tokens


async def caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Scope:
    """The scope of the request's token; everything when no tokens are configured."""
    tokens = tokens_of(request.app.state)
    if not tokens.enabled:
        return ALL
    if credentials is None:
        raise AuthError(
            401, "unauthorized", "this endpoint needs an API token: `Authorization: Bearer <token>`"
        )
    scope = tokens.scope_of(credentials.credentials)
    if scope is None:
        raise AuthError(401, "unauthorized", "unknown API token")
    return scope


Caller = Annotated[Scope, Depends(caller)]


async def require_all(scope: Caller) -> Scope:
    """Endpoints whose answers are province-wide: a token of scope `all` (or no tokens configured)."""
    scope.require_all()
    return scope


async def metrics_guard(request: Request) -> None:
    """/metrics: open, unless tokens are configured and IOC_METRICS_REQUIRE_TOKEN (the default)."""
    tokens = tokens_of(request.app.state)
    if tokens.enabled and tokens.metrics_require_token:
        credentials = await _bearer(request)
        scope = await caller(request, credentials)
        scope.require_all()


async def admit_live(ws: WebSocket) -> bool:
    """The live channel pushes province-wide snapshots: a token of scope `all`, sent as
    `?token=` or `Authorization: Bearer`. Refused handshakes are closed with 1008 (HTTP 403)."""
    tokens = tokens_of(ws.app.state)
    if not tokens.enabled:
        return True
    token = ws.query_params.get("token")
    header = ws.headers.get("authorization", "")
    if token is None and header[:7].lower() == "bearer ":
        token = header[7:].strip()
    scope = tokens.scope_of(token) if token else None
    if scope is None or not scope.is_all:
        await ws.close(code=1008, reason="an API token of scope `all` is needed")
        return False
    return True
