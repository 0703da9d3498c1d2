"""Access control wired into an app: tokens, 401/403 answers, limits, OpenAPI and log redaction."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.auth.limits import install_limits
from api.auth.redact import redact_tokens_in_logs
from api.auth.scopes import AuthError
from api.auth.tokens import Tokens
from ioc.settings import AuthSettings


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


def install_auth(app: FastAPI, settings: AuthSettings) -> None:
    """Wire the settings into an app: its tokens, 401/403 answers, CORS (only for configured
    origins), request limits, the OpenAPI security scheme (only with tokens) and log redaction."""
    app.state.tokens = tokens = Tokens(settings)

    async def auth_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthError)  # noqa: S101 - registered for AuthError only
        return JSONResponse(exc.body.model_dump(), status_code=exc.status, headers=exc.headers)

    app.add_exception_handler(AuthError, auth_error)
    install_limits(app, settings)
    document_security(app, tokens)
    redact_tokens_in_logs()
