"""The events as the pipeline carries them: msgspec Structs, decoded straight from JSON bytes.

schemas/events.py (pydantic) stays the contract's source of truth and its only judge of bad
input. It costs ~2.5 µs an event, against ~0.6 µs for msgspec, at a volume where every
microsecond is a tenth of the pipeline's budget (shared/ENVIRONMENT.md). So ``schemas.decode``
tries these Structs first, and a record they accept is an event the pydantic models accept
with the same values; a record they refuse goes to the pydantic path, which either accepts it
(then converted to a Struct here) or names the contract's reason. tests/unit/test_wire.py
holds the two to that: the same fields and bounds per type, and the same verdicts and values
over generated and mutated records.

Where msgspec on its own is more lenient than the contract, this module narrows it:

- Timestamps are carried in UTC (see ``timestamp``: the same instants, cheaper to compare).
- Timestamps are decoded as strings and parsed by ``timestamp``, which takes only RFC 3339
  with a ``±HH:MM`` or ``Z`` offset and at most six fraction digits. msgspec's own datetime
  parser also takes ``+0700`` and rounds a seventh digit, where pydantic refuses the one and
  truncates the other.
- Integers are bounded to int64 (pydantic's path reads integers beyond 64 bits as floats, a
  *wrong_type*, and takes those between int64 and uint64 itself).
- ``schemas.decode`` sends records with ``\\u`` escapes (lone surrogates, NUL) and non-UTF-8
  bytes anywhere (msgspec skips unknown fields without checking them) to the pydantic path.

The ``type`` of an event is its Struct's tag, readable as ``event.type``.
"""

from __future__ import annotations

import re
import types
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, TypeAlias

import msgspec

from schemas.topics import SCHEMA_VERSION

if TYPE_CHECKING:
    Timestamp: TypeAlias = datetime
else:
    # Decoded as text and parsed in ``__post_init__`` (see the module docstring); the type
    # checker sees the datetime every event carries after decoding.
    Timestamp = str

_RFC3339: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_match = _RFC3339.fullmatch
_fromisoformat = datetime.fromisoformat


def timestamp(value: Any) -> datetime:
    """Parse a timestamp field to UTC; an already parsed datetime (the pydantic path's) too.

    One time zone object for every instant makes comparing them 30× cheaper (Python compares
    aware datetimes with different tzinfo objects through ``utcoffset`` calls), and the
    hot path compares and buckets every event's times. An event's offset is not part of any
    KPI; the database keeps instants.
    """
    if value.__class__ is str:
        if _match(value) is None:
            raise ValueError("not a canonical RFC 3339 timestamp")
        parsed = _fromisoformat(value)  # ValueError for a date that does not exist
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise TypeError("expected a timestamp")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        # Beyond the years 1-9999 in UTC. The fast path leaves such a record to pydantic; the
        # pydantic path's event keeps its offset, and the ingest rejects it as unstorable.
        if value.__class__ is str:
            raise ValueError("outside the years 1-9999 in UTC") from None
        return parsed


def ordered(end: datetime, start: datetime) -> None:
    if end < start:
        raise ValueError("inconsistent: an end precedes its start")


NonEmptyId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
Version = Annotated[int, msgspec.Meta(ge=SCHEMA_VERSION, le=SCHEMA_VERSION)]
# orjson reads integers of up to 64 bits as integers and larger ones as floats, which the
# pydantic path refuses; msgspec's bounds stop at int64, and the pydantic path takes the rest.
Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class Envelope(msgspec.Struct, tag_field="type", kw_only=True, gc=False, forbid_unknown_fields=True):
    """Fields every event carries. Untracked by the garbage collector: events hold no cycles.

    Unknown fields are refused here and taken by its `lenient_twin` (see its docstring).
    """

    type: ClassVar[str]
    event_id: NonEmptyId
    occurred_at: Timestamp
    source: str
    schema_version: Version

    def __post_init__(self) -> None:
        self.occurred_at = timestamp(self.occurred_at)


# --- any event ---------------------------------------------------------------------

Event: TypeAlias = Envelope
"""Any event of any source topic, as the pipeline carries it (each source's Structs derive
from the envelope: sources/*/wire.py)."""


def lenient_twin(cls: type[Event]) -> type[Event]:
    """`cls` again, taking unknown fields (the contract allows them: sources add fields).

    msgspec skips an unknown field's value without converting it, so a number that overflows a
    double there passes, where the contract's grammar (orjson's) refuses the record. The strict
    Structs therefore decode the records that carry no unknown field, which is nearly all; the
    rest are decoded by these twins after a check for such numbers (`schemas.decode`), and
    copied into the strict Struct (`as_struct`), so the pipeline sees one type per event type.
    """
    twin: type[Event] = types.new_class(
        f"Lenient{cls.__name__}",
        (cls,),
        {"tag": cls.type, "kw_only": True, "gc": False, "forbid_unknown_fields": False},
    )
    return twin


def field_names(event_type: type[Event]) -> tuple[str, ...]:
    """The fields of an event Struct (``type`` excluded: it is the tag)."""
    return event_type.__struct_fields__


def as_struct(event: Any, cls: type[Event]) -> Event:
    """The strict Struct `cls` of an event: from the pydantic model that accepted it (the slow
    path) or from its lenient twin."""
    return cls(**{name: getattr(event, name) for name in cls.__struct_fields__})
