"""The base of the wire contract's pydantic models (shared/contract/EVENTS.md): the envelope.

Each source declares its event models on this base (sources/*/events.py). These models are
the source of truth for what a valid event is. They validate in
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
from typing import Annotated, Any, Final, TypeAlias, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    TypeAdapter,
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


class Envelope(BaseModel):
    """Fields every event carries, whatever its topic."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", allow_inf_nan=False)

    event_id: Annotated[str, Field(min_length=1, max_length=64)]
    occurred_at: Timestamp
    source: str
    # An int range rather than ``Literal[1]``: pydantic's literal check lets
    # ``true`` and ``1.0`` through even in strict mode.
    schema_version: Annotated[int, Field(ge=SCHEMA_VERSION, le=SCHEMA_VERSION)]


def inconsistent(end_field: str, start_field: str, end: datetime, start: datetime) -> None:
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


# --- any event ---------------------------------------------------------------------


def type_name(model: type[Envelope]) -> str:
    """The event type a model validates (its ``type`` literal)."""
    literal: Any = model.model_fields["type"].annotation
    (name,) = literal.__args__
    return str(name)


def event_adapter(models: tuple[type[Envelope], ...]) -> TypeAdapter[Any]:
    """Validates any event of `models` (dict or JSON) by its ``type``; ``decode`` adds the
    contract's checks (each source's models live in its package: sources/*/events.py)."""
    union: Any = Union[models]  # noqa: UP007 - a union built from a tuple
    return TypeAdapter(Annotated[union, Field(discriminator="type")])
