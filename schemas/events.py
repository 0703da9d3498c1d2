"""Pydantic v2 models of the wire contract (shared/contract/EVENTS.md), one per event type.

These models are the source of truth for what a valid event is. They validate in
strict mode (a number is never a string, a boolean is ``true``/``false``) because
the contract's JSON types are strict, and they ignore unknown extra fields because
sources add fields over time. Every model carries a ``type`` literal, so the
models form discriminated unions (per topic and overall).

Cross-field rule: an end may not precede its start (``occurred_at`` earlier than
``received_at`` / ``submitted_at``). The models enforce it with the pydantic error
type ``"inconsistent"`` so that anybody validating through them gets it, and
``schemas.decode`` maps it to the contract's reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    TypeAdapter,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from schemas.topics import SCHEMA_VERSION

# RFC 3339 date-time with a mandatory offset. ``[0-9]`` rather than ``\d``: the
# pattern runs on pydantic-core's Rust regex engine, where ``\d`` is any Unicode
# digit. The space separator is the one RFC 3339 (section 5.6, NOTE) permits.
RFC3339_PATTERN: Final = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)

INCONSISTENT_ERROR: Final = "inconsistent"
"""Pydantic error type raised by the models when an end precedes its start."""


class _Rfc3339:
    """Annotation marker: an RFC 3339 string with an offset, parsed to an aware datetime.

    Built as a pydantic-core chain (strict string + Rust regex, then datetime) so
    that the hot path never calls into Python. The regex is needed because
    pydantic's own datetime parser also accepts unix-epoch strings and dates.
    """

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.chain_schema(
            [
                core_schema.str_schema(strict=True, pattern=RFC3339_PATTERN),
                core_schema.datetime_schema(strict=False, tz_constraint="aware"),
            ],
            serialization=core_schema.plain_serializer_function_ser_schema(
                datetime.isoformat, when_used="json"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "format": "date-time"}


Timestamp: TypeAlias = Annotated[datetime, _Rfc3339()]
"""An RFC 3339 timestamp with offset or ``Z``; naive or non-string values are rejected."""

NonNegative: TypeAlias = Annotated[float, Field(ge=0)]
Percent: TypeAlias = Annotated[float, Field(ge=0, le=100)]

SiteLevel: TypeAlias = Literal["province", "department", "district", "commune"]
EndpointStatus: TypeAlias = Literal["online", "degraded", "offline"]
Direction: TypeAlias = Literal["incoming", "outgoing"]
Urgency: TypeAlias = Literal["normal", "urgent", "express"]
Channel: TypeAlias = Literal["online", "counter", "postal"]
Outcome: TypeAlias = Literal["approved", "rejected"]
PaymentMethod: TypeAlias = Literal["cashless", "cash"]


class Envelope(BaseModel):
    """Fields every event carries, whatever its topic."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", allow_inf_nan=False)

    event_id: Annotated[str, Field(min_length=1, max_length=64)]
    occurred_at: Timestamp
    source: str
    # An int range rather than ``Literal[1]``: pydantic's literal check lets
    # ``true`` and ``1.0`` through even in strict mode.
    schema_version: Annotated[int, Field(ge=SCHEMA_VERSION, le=SCHEMA_VERSION)]


def _inconsistent(end_field: str, start_field: str, end: datetime, start: datetime) -> None:
    if end < start:
        raise PydanticCustomError(
            INCONSISTENT_ERROR,
            "{end_field} {end} is earlier than {start_field} {start}",
            {
                "end_field": end_field,
                "start_field": start_field,
                "end": end.isoformat(),
                "start": start.isoformat(),
            },
        )


# --- ioc.vc.telemetry ------------------------------------------------------------


class _EndpointFields(Envelope):
    endpoint_id: str
    site_level: SiteLevel
    district: str


class VcHeartbeat(_EndpointFields):
    """Sent every 10 s by a reachable conference endpoint."""

    type: Literal["vc.heartbeat"]
    in_meeting: bool
    rtt_ms: NonNegative
    jitter_ms: NonNegative
    packet_loss_pct: Percent
    bitrate_kbps: NonNegative


class VcStatus(_EndpointFields):
    """A conference endpoint's state change."""

    type: Literal["vc.status"]
    status: EndpointStatus
    # Optional in the contract; an explicit ``null`` is read as absent.
    reason: str | None = None


# --- ioc.vc.meetings -------------------------------------------------------------


class VcMeetingStarted(Envelope):
    """A video conference began."""

    type: Literal["vc.meeting.started"]
    meeting_id: str
    title: str
    organiser: str
    planned_endpoints: list[str]


class VcMeetingEnded(Envelope):
    """A video conference ended."""

    type: Literal["vc.meeting.ended"]
    meeting_id: str


# --- ioc.eoffice.documents -------------------------------------------------------


class DocumentReceived(Envelope):
    """An official document registered by an agency."""

    type: Literal["document.received"]
    document_id: str
    agency: str
    direction: Direction
    urgency: Urgency
    due_at: Timestamp


class DocumentProcessed(Envelope):
    """An agency finished handling a document."""

    type: Literal["document.processed"]
    document_id: str
    agency: str
    received_at: Timestamp
    due_at: Timestamp
    digitally_signed: bool

    @model_validator(mode="after")
    def _ends_after_start(self) -> DocumentProcessed:
        _inconsistent("occurred_at", "received_at", self.occurred_at, self.received_at)
        return self


# --- ioc.portal.applications -----------------------------------------------------


class ApplicationSubmitted(Envelope):
    """A citizen's or business's application for an administrative service."""

    type: Literal["application.submitted"]
    application_id: str
    service_code: str
    service_level: Annotated[int, Field(ge=2, le=4)]
    agency: str
    district: str
    channel: Channel
    due_at: Timestamp


class ApplicationResolved(Envelope):
    """An application got its result."""

    type: Literal["application.resolved"]
    application_id: str
    service_code: str
    agency: str
    district: str
    submitted_at: Timestamp
    due_at: Timestamp
    outcome: Outcome

    @model_validator(mode="after")
    def _ends_after_start(self) -> ApplicationResolved:
        _inconsistent("occurred_at", "submitted_at", self.occurred_at, self.submitted_at)
        return self


class ApplicationPaid(Envelope):
    """A fee was paid for an application."""

    type: Literal["application.paid"]
    application_id: str
    amount_vnd: Annotated[int, Field(ge=0)]
    method: PaymentMethod


class ApplicationRated(Envelope):
    """The applicant rated the service."""

    type: Literal["application.rated"]
    application_id: str
    score: Annotated[int, Field(ge=1, le=5)]


# --- unions ----------------------------------------------------------------------

VcTelemetryEvent: TypeAlias = VcHeartbeat | VcStatus
VcMeetingEvent: TypeAlias = VcMeetingStarted | VcMeetingEnded
DocumentEvent: TypeAlias = DocumentReceived | DocumentProcessed
ApplicationEvent: TypeAlias = ApplicationSubmitted | ApplicationResolved | ApplicationPaid | ApplicationRated
Event: TypeAlias = VcTelemetryEvent | VcMeetingEvent | DocumentEvent | ApplicationEvent
"""Any event of any source topic."""

TaggedEvent: TypeAlias = Annotated[Event, Field(discriminator="type")]
"""``Event`` discriminated by ``type``, for use as a pydantic field or ``TypeAdapter``."""

EVENT_MODELS: Final[tuple[type[Event], ...]] = (
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


def _type_name(model: type[Event]) -> str:
    literal: Any = model.model_fields["type"].annotation
    (name,) = literal.__args__
    return str(name)


MODEL_BY_TYPE: Final[dict[str, type[Event]]] = {_type_name(m): m for m in EVENT_MODELS}
"""Event type name (the ``type`` field) to its model."""

EVENT_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(TaggedEvent)
"""Validates any event (dict or JSON) by its ``type``; ``decode`` adds the contract's checks."""
