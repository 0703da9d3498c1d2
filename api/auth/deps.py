"""Who may read what: API tokens and their scopes, CORS, and limits on request size.

With no `IOC_API_TOKENS` everything is open (the embedded demo). With tokens configured:

- the data endpoints (`/api/v1/...`) and the live channel need a token: `Authorization:
  Bearer <token>`, or `?token=<token>` on the WebSocket (browsers cannot set its headers);
  `/metrics` needs one too unless `IOC_METRICS_REQUIRE_TOKEN=false`;
- `/healthz`, `/readyz`, the wall page, its static files, `/docs` and `/openapi.json` stay
  open (they hold no KPI values);
- a token's scope is `all`, `district:CODE` or `agency:CODE`. A scoped token reads one KPI
  broken down by its own dimension (`/api/v1/kpis/{name}?by=district`, `/api/v1/series/...`),
  and sees only its own value there; totals, other breakdowns, sources, alerts, `/metrics` and
  the live channel (whose snapshot is province-wide) are refused with 403. The catalog is
  open to every token.

Tokens are kept only as SHA-256 digests and compared in constant time, every configured
token each time, so neither the answer nor its timing tells how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Request, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.errors import ApiError
from schemas.api import ErrorBody

V = TypeVar("V")
ScopeKind = Literal["all", "district", "agency"]
_MIN_TOKEN_CHARS = 16
MAX_HEADER_BYTES = 16384
"""Most header bytes a request may carry (what h11, uvicorn's other HTTP parser, allows)."""


class AuthSettings(BaseSettings):
    """The API's access control and request limits (environment variables `IOC_*`)."""

    # hide_input_in_errors: a refused IOC_API_TOKENS must not print the tokens it holds
    model_config = SettingsConfigDict(
        env_prefix="IOC_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    api_tokens: SecretStr = Field(
        default=SecretStr(""),
        description="API tokens and their scopes: `token:scope,token:scope` or a JSON object "
        '{"token": "scope"}; scope is `all`, `district:CODE` or `agency:CODE` (a bare token is '
        "`all`). Empty: no token is needed anywhere.",
    )
    metrics_require_token: bool = Field(
        default=True,
        description="With tokens configured, /metrics needs a token of scope `all` "
        "(its labels reveal every district's numbers).",
    )
    cors_origins: str = Field(
        default="", description="Origins allowed to call the API from a browser (comma list); empty: no CORS."
    )
    api_max_query_bytes: int = Field(default=4096, ge=256, description="Longest query string accepted.")
    api_max_body_bytes: int = Field(default=16384, ge=0, description="Largest request body accepted.")

    @field_validator("api_tokens")
    @classmethod
    def _parse(cls, v: SecretStr) -> SecretStr:
        parse_tokens(v.get_secret_value())  # fail at start, naming the entry but never the token
        return v

    @property
    def origins(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


# -- scopes and tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What one token may read."""

    kind: ScopeKind
    value: str | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value}"

    @property
    def is_all(self) -> bool:
        return self.kind == "all"

    def require_all(self) -> None:
        if not self.is_all:
            raise AuthError(
                403,
                "forbidden",
                f"a token scoped to {self} cannot read this; it may read /api/v1/kpis/{{name}} and "
                f"/api/v1/series/{{name}} with by={self.kind}",
            )

    def check_breakdown(self, by: str | None) -> None:
        """A scoped token reads breakdowns by its own dimension only (a total is province-wide)."""
        if not self.is_all and by != self.kind:
            raise AuthError(
                403,
                "forbidden",
                f"a token scoped to {self} reads breakdowns by {self.kind} only (got by={by})",
                [self.kind],
            )

    def only_mine(self, values: Mapping[str, V]) -> dict[str, V]:
        """The breakdown values this scope may see."""
        if self.is_all:
            return dict(values)
        return {k: v for k, v in values.items() if k == self.value}


ALL = Scope("all")


def parse_scope(text: str) -> Scope:
    kind, _, value = text.strip().partition(":")
    if kind == "all" and not value:
        return ALL
    if kind in ("district", "agency") and value.strip():
        return Scope(kind, value.strip())  # type: ignore[arg-type]
    raise ValueError(f"scope {text.strip()!r} is not `all`, `district:CODE` or `agency:CODE`")


def parse_tokens(text: str) -> dict[bytes, Scope]:
    """`IOC_API_TOKENS` as {sha256(token): scope}. Errors name the entry, never the token."""
    text = text.strip()
    if not text:
        return {}
    pairs: list[tuple[str, str]]
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError:
            raise ValueError("IOC_API_TOKENS is not valid JSON") from None
        if not all(isinstance(k, str) and isinstance(s, str) for k, s in loaded.items()):
            raise ValueError('IOC_API_TOKENS as JSON must be an object {"token": "scope"}')
        pairs = list(loaded.items())
    else:
        pairs = []
        for entry in text.split(","):
            token, _, scope = entry.strip().partition(":")
            pairs.append((token, scope or "all"))
    out: dict[bytes, Scope] = {}
    for n, (raw, scope) in enumerate(pairs, start=1):
        token = raw.strip()
        if len(token) < _MIN_TOKEN_CHARS:
            raise ValueError(
                f"IOC_API_TOKENS entry {n}: a token needs at least {_MIN_TOKEN_CHARS} characters"
            )
        try:
            out[_digest(token)] = parse_scope(scope)
        except ValueError as exc:
            raise ValueError(f"IOC_API_TOKENS entry {n}: {exc}") from None
    return out


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class Tokens:
    """The configured tokens; `scope_of` compares against every one in constant time."""

    def __init__(self, settings: AuthSettings) -> None:
        self._scopes = list(parse_tokens(settings.api_tokens.get_secret_value()).items())
        self.metrics_require_token = settings.metrics_require_token

    @property
    def enabled(self) -> bool:
        return bool(self._scopes)

    def scope_of(self, token: str) -> Scope | None:
        given = _digest(token)
        found: Scope | None = None
        for digest, scope in self._scopes:  # no early exit: the time does not depend on which matched
            if hmac.compare_digest(given, digest):
                found = scope
        return found


# -- FastAPI dependencies ---------------------------------------------------------------------


class AuthError(ApiError):
    """401 (no or unknown token, with a WWW-Authenticate challenge) or 403 (outside the scope)."""

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="ioc"'} if self.status == 401 else {}


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorBody,
        "description": "API tokens are configured and none, or an unknown one, was sent",
    },
    403: {"model": ErrorBody, "description": "The token's scope does not cover this"},
    # RequestLimits (below) answers these on every route, before any handler runs.
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


def document_security(app: FastAPI, tokens: Tokens) -> None:
    """The OpenAPI document names the bearer scheme only when tokens are configured: an open API
    (the demo) documents no credential it does not ask for."""
    if tokens.enabled:
        return
    generate = app.openapi

    def without_security() -> dict[str, Any]:
        document = generate()
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                operation.pop("security", None)
        document.get("components", {}).pop("securitySchemes", None)
        return document

    app.openapi = without_security  # type: ignore[method-assign]


class RedactTokens(logging.Filter):
    """Masks API tokens in log records: the live channel's `?token=` (the HTTP server logs each
    WebSocket handshake with its query string) and `Bearer` credentials."""

    _SECRET = re.compile(r"(?i)(token=|bearer\s+)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._SECRET.search(message):
            record.msg, record.args = self._SECRET.sub(r"\1[redacted]", message), ()
        return True


def redact_tokens_in_logs() -> None:
    """Install `RedactTokens` on the loggers that see request lines (once per process)."""
    for name in ("uvicorn.error", "uvicorn.access", "uvicorn"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


# -- request limits and CORS --------------------------------------------------------------------

AsgiScope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class RequestLimits:
    """ASGI middleware: a query string, headers or a declared body over the limits get a clean
    414, 431 or 413 (the HTTP server's own limits refuse what is larger still, with a 400)."""

    def __init__(
        self,
        app: Callable[[AsgiScope, Receive, Send], Awaitable[None]],
        *,
        max_query: int,
        max_body: int,
        max_headers: int,
    ) -> None:
        self.app = app
        self.max_query = max_query
        self.max_body = max_body
        self.max_headers = max_headers

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            refusal = self._refusal(scope)
            if refusal is not None:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1009, "reason": refusal[2]})
                    return
                await _send_error(send, *refusal)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: AsgiScope) -> tuple[int, str, str] | None:
        query = scope.get("query_string", b"")
        if len(query) > self.max_query:
            return 414, "uri_too_long", f"query string of {len(query)} bytes; at most {self.max_query}"
        headers = scope.get("headers", ())
        size = sum(len(name) + len(value) + 4 for name, value in headers)
        if size > self.max_headers:
            return 431, "headers_too_large", f"{size} bytes of headers; at most {self.max_headers}"
        for name, value in headers:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return 400, "bad_request", "Content-Length is not a number"
                if length > self.max_body:
                    return 413, "too_large", f"request body of {length} bytes; at most {self.max_body}"
        return None


async def _send_error(send: Send, status: int, error: str, detail: str) -> None:
    body = ErrorBody(error=error, detail=detail).model_dump_json().encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install_auth(app: FastAPI, settings: AuthSettings) -> None:
    """Wire the settings into an app: its tokens, 401/403 answers, CORS (only for configured
    origins), request limits, the OpenAPI security scheme (only with tokens) and log redaction."""
    app.state.tokens = tokens = Tokens(settings)

    async def auth_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthError)  # noqa: S101 - registered for AuthError only
        return JSONResponse(exc.body.model_dump(), status_code=exc.status, headers=exc.headers)

    app.add_exception_handler(AuthError, auth_error)
    if settings.origins:  # no CORS headers at all unless origins are configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.origins,
            allow_methods=["GET"],
            allow_headers=["Authorization"],
            allow_credentials=False,
        )
    app.add_middleware(
        RequestLimits,
        max_query=settings.api_max_query_bytes,
        max_body=settings.api_max_body_bytes,
        max_headers=MAX_HEADER_BYTES,
    )
    document_security(app, tokens)
    redact_tokens_in_logs()
