"""Limits on request size (a clean 414, 431 or 413) and CORS for the configured origins only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from ioc.settings import AuthSettings
from schemas.api import ErrorBody

MAX_HEADER_BYTES = 16384
"""Most header bytes a request may carry (what h11, uvicorn's other HTTP parser, allows)."""

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


def install_limits(app: FastAPI, settings: AuthSettings) -> None:
    """CORS (only for configured origins), then the request limits outside it, so an oversized
    request is refused before anything else runs."""
    if settings.origins:  # no CORS headers at all unless origins are configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
        )
    app.add_middleware(
        RequestLimits,
        max_query=settings.api_max_query_bytes,
        max_body=settings.api_max_body_bytes,
        max_headers=MAX_HEADER_BYTES,
    )
