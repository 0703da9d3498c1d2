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

- Timestamps are carried in UTC (see ``_timestamp``: the same instants, cheaper to compare).
- Timestamps are decoded as strings and parsed by ``_timestamp``, which takes only RFC 3339
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
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, Literal, TypeAlias

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


def _timestamp(value: Any) -> datetime:
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


def _ordered(end: datetime, start: datetime) -> None:
    if end < start:
        raise ValueError("inconsistent: an end precedes its start")


NonEmptyId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
Version = Annotated[int, msgspec.Meta(ge=SCHEMA_VERSION, le=SCHEMA_VERSION)]
# orjson reads integers of up to 64 bits as integers and larger ones as floats, which the
# pydantic path refuses; msgspec's bounds stop at int64, and the pydantic path takes the rest.
Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]

SiteLevel: TypeAlias = Literal["province", "department", "district", "commune"]
EndpointStatus: TypeAlias = Literal["online", "degraded", "offline"]
Direction: TypeAlias = Literal["incoming", "outgoing"]
Urgency: TypeAlias = Literal["normal", "urgent", "express"]
Channel: TypeAlias = Literal["online", "counter", "postal"]
Outcome: TypeAlias = Literal["approved", "rejected"]
PaymentMethod: TypeAlias = Literal["cashless", "cash"]


class Envelope(msgspec.Struct, tag_field="type", kw_only=True, gc=False, forbid_unknown_fields=True):
    """Fields every event carries. Untracked by the garbage collector: events hold no cycles.

    Unknown fields are refused here and taken by `LENIENT_BY_TYPE` (see its docstring).
    """

    type: ClassVar[str]
    event_id: NonEmptyId
    occurred_at: Timestamp
    source: str
    schema_version: Version

    def __post_init__(self) -> None:
        self.occurred_at = _timestamp(self.occurred_at)


# --- ioc.vc.telemetry ------------------------------------------------------------


class VcHeartbeat(Envelope, tag="vc.heartbeat", kw_only=True, gc=False):
    type: ClassVar[str] = "vc.heartbeat"
    endpoint_id: str
    site_level: SiteLevel
    district: str
    in_meeting: bool
    rtt_ms: NonNegative
    jitter_ms: NonNegative
    packet_loss_pct: Percent
    bitrate_kbps: NonNegative


class VcStatus(Envelope, tag="vc.status", kw_only=True, gc=False):
    type: ClassVar[str] = "vc.status"
    endpoint_id: str
    site_level: SiteLevel
    district: str
    status: EndpointStatus
    reason: str | None = None


# --- ioc.vc.meetings -------------------------------------------------------------


class VcMeetingStarted(Envelope, tag="vc.meeting.started", kw_only=True, gc=False):
    type: ClassVar[str] = "vc.meeting.started"
    meeting_id: str
    title: str
    organiser: str
    planned_endpoints: list[str]


class VcMeetingEnded(Envelope, tag="vc.meeting.ended", kw_only=True, gc=False):
    type: ClassVar[str] = "vc.meeting.ended"
    meeting_id: str


# --- ioc.eoffice.documents -------------------------------------------------------


class DocumentReceived(Envelope, tag="document.received", kw_only=True, gc=False):
    type: ClassVar[str] = "document.received"
    document_id: str
    agency: str
    direction: Direction
    urgency: Urgency
    due_at: Timestamp

    def __post_init__(self) -> None:
        self.occurred_at = _timestamp(self.occurred_at)
        self.due_at = _timestamp(self.due_at)


class DocumentProcessed(Envelope, tag="document.processed", kw_only=True, gc=False):
    type: ClassVar[str] = "document.processed"
    document_id: str
    agency: str
    received_at: Timestamp
    due_at: Timestamp
    digitally_signed: bool

    def __post_init__(self) -> None:
        self.occurred_at = _timestamp(self.occurred_at)
        self.received_at = _timestamp(self.received_at)
        self.due_at = _timestamp(self.due_at)
        _ordered(self.occurred_at, self.received_at)


# --- ioc.portal.applications -----------------------------------------------------


class ApplicationSubmitted(Envelope, tag="application.submitted", kw_only=True, gc=False):
    type: ClassVar[str] = "application.submitted"
    application_id: str
    service_code: str
    service_level: Annotated[int, msgspec.Meta(ge=2, le=4)]
    agency: str
    district: str
    channel: Channel
    due_at: Timestamp

    def __post_init__(self) -> None:
        self.occurred_at = _timestamp(self.occurred_at)
        self.due_at = _timestamp(self.due_at)


class ApplicationResolved(Envelope, tag="application.resolved", kw_only=True, gc=False):
    type: ClassVar[str] = "application.resolved"
    application_id: str
    service_code: str
    agency: str
    district: str
    submitted_at: Timestamp
    due_at: Timestamp
    outcome: Outcome

    def __post_init__(self) -> None:
        self.occurred_at = _timestamp(self.occurred_at)
        self.submitted_at = _timestamp(self.submitted_at)
        self.due_at = _timestamp(self.due_at)
        _ordered(self.occurred_at, self.submitted_at)


class ApplicationPaid(Envelope, tag="application.paid", kw_only=True, gc=False):
    type: ClassVar[str] = "application.paid"
    application_id: str
    amount_vnd: Count
    method: PaymentMethod


class ApplicationRated(Envelope, tag="application.rated", kw_only=True, gc=False):
    type: ClassVar[str] = "application.rated"
    application_id: str
    score: Annotated[int, msgspec.Meta(ge=1, le=5)]


# --- unions ----------------------------------------------------------------------

Event: TypeAlias = (
    VcHeartbeat
    | VcStatus
    | VcMeetingStarted
    | VcMeetingEnded
    | DocumentReceived
    | DocumentProcessed
    | ApplicationSubmitted
    | ApplicationResolved
    | ApplicationPaid
    | ApplicationRated
)
"""Any event of any source topic, as the pipeline carries it."""

WIRE_MODELS: Final[tuple[type[Event], ...]] = (
    VcHeartbeat,
    VcStatus,
    VcMeetingStarted,
    VcMeetingEnded,
    DocumentReceived,
    DocumentProcessed,
    ApplicationSubmitted,
    ApplicationResolved,
    ApplicationPaid,
    ApplicationRated,
)

WIRE_BY_TYPE: Final[dict[str, type[Event]]] = {m.type: m for m in WIRE_MODELS}
"""Event type name (the ``type`` field) to its Struct."""


def _lenient_twin(cls: type[Event]) -> type[Event]:
    twin: type[Event] = types.new_class(
        f"Lenient{cls.__name__}",
        (cls,),
        {"tag": cls.type, "kw_only": True, "gc": False, "forbid_unknown_fields": False},
    )
    return twin


LENIENT_BY_TYPE: Final[dict[str, type[Event]]] = {m.type: _lenient_twin(m) for m in WIRE_MODELS}
"""Each Struct again, taking unknown fields (the contract allows them: sources add fields).

msgspec skips an unknown field's value without converting it, so a number that overflows a
double there passes, where the contract's grammar (orjson's) refuses the record. The strict
Structs therefore decode the records that carry no unknown field, which is nearly all; the
rest are decoded by these twins after a check for such numbers (`schemas.decode`), and
copied into the strict Struct (`as_struct`), so the pipeline sees one type per event type.
"""


def field_names(event_type: type[Event]) -> tuple[str, ...]:
    """The fields of an event Struct (``type`` excluded: it is the tag)."""
    return event_type.__struct_fields__


def as_struct(event: Any) -> Event:
    """The strict Struct of an event: from the pydantic model that accepted it (the slow path)
    or from its lenient twin."""
    cls = WIRE_BY_TYPE[event.type]
    return cls(**{name: getattr(event, name) for name in cls.__struct_fields__})
