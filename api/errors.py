"""Every misuse of the API gets a 4xx whose JSON says what was wrong and what is allowed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ioc.errors import IocError
from schemas.api import ErrorBody


class ApiError(IocError):
    """A client error with the allowed values, rendered as ErrorBody (an `IocError`: a refusal
    meant for a person, not a bug)."""

    def __init__(self, status: int, error: str, detail: str, allowed: Sequence[str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.body = ErrorBody(
            error=error, detail=detail, allowed=list(allowed) if allowed is not None else None
        )


def _allowed_from(err: dict[str, Any]) -> list[str] | None:
    expected = (err.get("ctx") or {}).get("expected")
    if not isinstance(expected, str):
        return None
    return [part.strip().strip("'") for part in expected.replace(" or ", ", ").split(",") if part.strip()]


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body.model_dump(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
        body = ErrorBody(
            error="invalid_parameter",
            detail=f"{where}: {err.get('msg', 'invalid')} (got {err.get('input')!r})",
            allowed=_allowed_from(err),
        )
        return JSONResponse(body.model_dump(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = ErrorBody(error="http_error", detail=str(exc.detail))
        return JSONResponse(body.model_dump(), status_code=exc.status_code, headers=exc.headers)


def time_range(start: datetime | None, end: datetime | None, *, now: datetime) -> tuple[datetime, datetime]:
    """The `from`/`to` rule of every ranged route: `to` defaults to now, `from` to 24 h before it."""
    end = end or now
    if start is None:
        try:
            start = end - timedelta(hours=24)
        except OverflowError:  # `to` within a day of year 1: the range starts at the beginning
            start = datetime.min.replace(tzinfo=UTC)
    if start.tzinfo is None or end.tzinfo is None:
        raise ApiError(400, "naive_time", "`from` and `to` need a UTC offset or Z (RFC 3339)")
    if start > end:
        raise ApiError(400, "from_after_to", f"`from` {start.isoformat()} is after `to` {end.isoformat()}")
    return start, end


def error_example(error: str, detail: str, allowed: list[str] | None = None) -> dict[str, Any]:
    return {"summary": detail, "value": {"error": error, "detail": detail, "allowed": allowed}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "Well-formed parameters that break a rule across them, which a schema cannot"
        " express: `from` after `to`; more than 10,000 points (a series' steps from `from` to `to`"
        " times, with `by`, the values it lists: the registry's, those seen, `unknown`); a breakdown"
        " the KPI lacks (each KPI's own operation lists only its own). Each example below is one"
        " such rule; `allowed` lists what is",
        "content": {
            "application/json": {
                "examples": {
                    "from_after_to": error_example(
                        "from_after_to",
                        "`from` 2026-03-03T12:00:00+07:00 is after `to` 2026-03-03T10:00:00+07:00",
                    ),
                    "too_many_points": error_example(
                        "too_many_points",
                        "20160 points asked for; at most 10000 per response:"
                        " shorten the range or use a larger step",
                    ),
                    "unknown_breakdown": error_example(
                        "unknown_breakdown", "eoffice.received has no breakdown by 'district'", ["agency"]
                    ),
                }
            }
        },
    },
    404: {"model": ErrorBody, "description": "Unknown KPI; `allowed` lists the KPI names"},
    422: {"model": ErrorBody, "description": "A parameter has an invalid value; `allowed` lists the values"},
}


def with_400_examples(
    responses: dict[int | str, dict[str, Any]], **examples: dict[str, Any]
) -> dict[int | str, dict[str, Any]]:
    """`responses` whose documented 400 also gives `examples` (`error_example(...)` each): a route
    with a rule of its own across parameters says so where a client generated from the schema
    looks (the 400's examples), since JSON Schema cannot state it."""
    base = responses[400]
    content = base["content"]["application/json"]
    return {
        **responses,
        400: {
            **base,
            "content": {"application/json": {**content, "examples": {**content["examples"], **examples}}},
        },
    }


BAD_PLACE = error_example("bad_place", "a place needs both `dimension` and `code`")
"""The 400 of a route that takes a place: `dimension` without `code`, or `code` without `dimension`."""
