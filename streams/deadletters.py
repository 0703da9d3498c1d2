"""Dead letters: the record the contract sends to `ioc.deadletter`, and the values the
contract's types allow but the database cannot hold (refused as `out_of_range`)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson

from schemas.decode import Reason, Rejection
from schemas.records import RawRecord
from schemas.wire import Event, field_names


def deadletter_value(record: RawRecord, rejection: Rejection, rejected_at: datetime) -> bytes:
    """The dead-letter record of the contract: enough to find and replay the original."""
    key = record.key.decode("utf-8", "replace") if record.key is not None else None
    return orjson.dumps(
        {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": key,
            "value_b64": base64.b64encode(record.value or b"").decode("ascii"),
            "reason": str(rejection.reason),
            "detail": rejection.detail,
            "rejected_at": rejected_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
    )


def unstorable(event: Event) -> Rejection | None:
    """Values the contract's types allow but PostgreSQL cannot hold, as `out_of_range`: a NUL
    character in a string, and an instant whose UTC form falls outside the years 1-9999.
    Stored, they would fail their batch's transaction on every retry and stall the partition.
    """
    for name in field_names(type(event)):
        value = getattr(event, name)
        if isinstance(value, datetime):
            try:
                value.astimezone(UTC)
            except OverflowError:
                return Rejection(
                    Reason.OUT_OF_RANGE, f"{name}: {value.isoformat()} is outside years 1-9999 in UTC"
                )
        elif (isinstance(value, str) and "\x00" in value) or (
            isinstance(value, list) and any("\x00" in v for v in value)
        ):
            return Rejection(Reason.OUT_OF_RANGE, f"{name}: contains a NUL character (U+0000)")
    return None
