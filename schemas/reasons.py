"""Why a record is refused: the contract's dead-letter reasons, their order, their wording.

The contract (shared/contract/EVENTS.md, "Bad input") orders the reasons a record can be bad;
the first that applies wins. The decoder (schemas/decode.py) and the ingest's time rules
(`judge_time`) name them through this module, so every dead letter is worded one way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
from pydantic_core import ErrorDetails

from schemas.events import INCONSISTENT_ERROR, RFC3339_PATTERN
from schemas.topics import MAX_VALUE_BYTES


class Reason(enum.StrEnum):
    """Why a record is bad. Declared in the contract's order: earlier wins."""

    OVERSIZED = "oversized"
    NOT_UTF8 = "not_utf8"
    NOT_OBJECT = "not_object"
    UNKNOWN_VERSION = "unknown_version"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    OUT_OF_RANGE = "out_of_range"
    KEY_MISMATCH = "key_mismatch"
    INCONSISTENT = "inconsistent"
    FUTURE = "future"
    LATE = "late"


_RANK: Final[dict[Reason, int]] = {reason: rank for rank, reason in enumerate(Reason)}


@dataclass(frozen=True, slots=True)
class Rejection:
    """A bad record's verdict: one reason (counted) and a detail for humans (never a label)."""

    reason: Reason
    detail: str


# --- the failure paths that need no route ------------------------------------------


def unreadable(value: bytes | None) -> Rejection:
    if value is None:
        return Rejection(Reason.NOT_OBJECT, "record has no value (tombstone)")
    return Rejection(Reason.OVERSIZED, f"value is {len(value)} bytes, over the limit of {MAX_VALUE_BYTES}")


def unparseable(value: bytes, exc: orjson.JSONDecodeError) -> Rejection:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as bad:
        return Rejection(Reason.NOT_UTF8, f"value: invalid UTF-8 at byte {bad.start}: {bad.reason}")
    if not value.strip():
        return Rejection(Reason.NOT_OBJECT, "value is empty")
    return Rejection(Reason.NOT_OBJECT, f"value is not JSON: {clip(str(exc), 120)}")


_TYPE_NAMES: Final = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "an array",
    "dict_type": "an object",
}


def _reason_of(error: ErrorDetails) -> Reason:
    kind = error["type"]
    if kind == "missing":
        return Reason.MISSING_FIELD
    if kind == INCONSISTENT_ERROR:
        return Reason.INCONSISTENT
    if kind == "literal_error":
        # Every enum of the contract is a string enum (tests/unit/test_events.py pins
        # it): a string outside it is out of range, anything else is a type error.
        return Reason.OUT_OF_RANGE if isinstance(error["input"], str) else Reason.WRONG_TYPE
    if kind.endswith("_type"):
        return Reason.WRONG_TYPE
    return Reason.OUT_OF_RANGE


def _describe(reason: Reason, error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = show(error["input"])
    if reason is Reason.MISSING_FIELD:
        return "required field is missing"
    if reason is Reason.WRONG_TYPE:
        if kind == "literal_error":
            return f"expected one of {ctx.get('expected', '?')}, got {got}"
        return f"expected {_TYPE_NAMES.get(kind, kind)}, got {got}"
    match kind:
        case "greater_than_equal":
            return f"must be >= {_num(ctx['ge'])}, got {got}"
        case "less_than_equal":
            return f"must be <= {_num(ctx['le'])}, got {got}"
        case "greater_than":
            return f"must be > {_num(ctx['gt'])}, got {got}"
        case "less_than":
            return f"must be < {_num(ctx['lt'])}, got {got}"
        case "string_too_short":
            return f"must be at least {ctx['min_length']} characters, got {len(error['input'])}"
        case "string_too_long":
            return f"must be at most {ctx['max_length']} characters, got {len(error['input'])}"
        case "literal_error":
            return f"must be one of {ctx.get('expected', '?')}, got {got}"
        case "string_pattern_mismatch" if ctx.get("pattern") == RFC3339_PATTERN:
            return f"must be an RFC 3339 timestamp with an offset or Z, got {got}"
        case "datetime_parsing" | "datetime_from_date_parsing":
            return f"not a valid timestamp ({ctx.get('error', 'unparseable')}), got {got}"
        case _:
            return f"{error['msg']}, got {got}"


def _num(bound: Any) -> str:
    """A bound as the contract writes it: ``0``, not pydantic's ``0.0``."""
    if isinstance(bound, float) and bound.is_integer():
        return str(int(bound))
    return str(bound)


def _loc(error: ErrorDetails) -> str:
    text = ""
    for part in error["loc"]:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "value"


def json_kind(value: Any) -> str:
    match value:
        case bool():
            return "boolean"
        case int() | float():
            return "number"
        case str():
            return "string"
        case list():
            return "array"
        case None:
            return "null"
        case _:
            return "object"


def show(value: Any) -> str:
    """A JSON rendering of a bad value, clipped: details are logged and dead-lettered."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return clip(text, 60)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- event time ----------------------------------------------------------------------


def judge_time(
    occurred_at: datetime,
    *,
    now: datetime,
    newest_on_partition: datetime | None,
    grace: timedelta,
    future_tolerance: timedelta = timedelta(minutes=5),
) -> Rejection | None:
    """Decide *future* (before *late*, the contract's order) for an otherwise valid event.

    Pure, so the caller owns the wall clock and the per-partition newest
    ``occurred_at`` (of accepted events only). All datetimes must be aware.
    """
    ahead = occurred_at - now
    if ahead > future_tolerance:
        return Rejection(
            Reason.FUTURE,
            f"occurred_at: {occurred_at.isoformat()} is {ahead} ahead of now (tolerance {future_tolerance})",
        )
    if newest_on_partition is not None and newest_on_partition - occurred_at > grace:
        return Rejection(
            Reason.LATE,
            f"occurred_at: {occurred_at.isoformat()} is {newest_on_partition - occurred_at} "
            f"older than the partition's newest {newest_on_partition.isoformat()} (grace {grace})",
        )
    return None


def worst(errors: list[ErrorDetails]) -> tuple[Reason, ErrorDetails]:
    """The highest-ranked of pydantic's errors of a record, and its reason."""
    best = min(errors, key=lambda error: _RANK[_reason_of(error)])
    return _reason_of(best), best


def describe_invalid(reason: Reason, error: ErrorDetails) -> str:
    """`field: what is wrong with it`, the detail of a dead letter for an invalid field."""
    return f"{_loc(error)}: {_describe(reason, error)}"
