"""One decoder for every source topic: bytes in, a validated event or a reasoned rejection out.

The contract (shared/contract/EVENTS.md, "Bad input") orders the reasons a record
can be bad; the first that applies wins. This module is the hot path's guard
against hostile input, so ``decode`` never raises for any record bytes, and it is
built for speed: a record is first decoded by msgspec into the pipeline's Structs
(schemas/wire.py), which accept only what the pydantic models accept, with the
same values. Whatever they refuse is parsed with orjson and judged by the pydantic
models (schemas/events.py), which decide the contract's reason; an event accepted
there is converted to its Struct, so callers always get one representation.

Where the contract is silent, this module decides (and the tests pin it):

- ``schema_version``: *unknown_version* only when it is an integer other than 1.
  Missing is *missing_field*; a non-integer (``"1"``, ``1.0``, ``true``) is
  *wrong_type*, ranked with every other field.
- ``type``: a string not listed for the topic is *unknown_type*; missing is
  *missing_field* (naming ``type``); a non-string is *wrong_type*, unless an
  envelope field is missing, which ranks higher.
- A value that is not valid JSON, empty, JSON with a byte-order mark, or an
  absent value (a tombstone, ``None``) is *not_object*. The JSON grammar is
  orjson's: RFC 8259, no ``NaN``/``Infinity``, no number that overflows a
  double, no lone surrogate escape (such a string could not be stored or
  re-encoded downstream); integers beyond 64 bits are read as floats (so they
  fail as *wrong_type* where an integer is expected); of duplicate keys the
  last wins.
- A record key that is not UTF-8 is a *key_mismatch*, like a missing key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Union

import msgspec
import orjson
from pydantic import BaseModel, ValidationError

from schemas.events import Envelope, type_name
from schemas.reasons import (
    Reason,
    Rejection,
    clip,
    describe_invalid,
    json_kind,
    judge_time,
    show,
    unparseable,
    unreadable,
    worst,
)
from schemas.topics import MAX_VALUE_BYTES, SCHEMA_VERSION, SourceTopic
from schemas.wire import Event, as_struct, lenient_twin

__all__ = [
    "Decoder",
    "Event",
    "Reason",
    "Rejection",
    "judge_time",
]


# --- the routing table, derived once from schemas.topics ---------------------------

_Validate = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Route:
    topic: SourceTopic
    key_field: str
    validators: Mapping[str, _Validate]
    fast: Callable[[bytes], Event]  # msgspec: the topic's Structs, tagged by ``type``
    lenient: Callable[[bytes], Event]  # the same, taking unknown fields
    structs: Mapping[str, type[Event]]  # type name -> its strict Struct

    def strict(self, event: Any) -> Event:
        """The strict Struct of an event accepted by a lenient twin or a pydantic model."""
        return as_struct(event, self.structs[event.type])


def _route(
    topic: SourceTopic, models: Mapping[str, type[BaseModel]], structs: Mapping[str, type[Event]]
) -> _Route:
    validators: dict[str, _Validate] = {}
    for name in topic.types:
        model = models.get(name)
        if model is None or topic.key_field not in model.model_fields:
            raise ValueError(f"no model of {name!r} keyed by {topic.key_field!r} for {topic.name}")
        if name not in structs:
            raise ValueError(f"no Struct of {name!r} for {topic.name}")
        validators[name] = model.__pydantic_validator__.validate_python
    strict = tuple(structs[name] for name in topic.types)
    twins = tuple(lenient_twin(cls) for cls in strict)
    fast = msgspec.json.Decoder(Union[strict]).decode  # noqa: UP007
    lenient = msgspec.json.Decoder(Union[twins]).decode  # noqa: UP007
    return _Route(topic, topic.key_field, validators, fast, lenient, {n: structs[n] for n in topic.types})


_ENVELOPE_REQUIRED: Final = tuple(
    name for name, field in Envelope.model_fields.items() if field.is_required()
)


class Decoder:
    """The decoder of a set of source topics, built from their models and Structs (the
    sources' registry builds the one the pipeline uses: `sources.SOURCES`)."""

    def __init__(
        self,
        topics: tuple[SourceTopic, ...],
        models: tuple[type[BaseModel], ...],
        structs: tuple[type[Event], ...],
    ) -> None:
        by_type = {type_name(m): m for m in models}  # type: ignore[arg-type]
        struct_by_type = {cls.type: cls for cls in structs}
        self.routes: dict[str, _Route] = {t.name: _route(t, by_type, struct_by_type) for t in topics}
        self.topic_of_type: Mapping[str, SourceTopic] = MappingProxyType(
            {name: t for t in topics for name in t.types}
        )
        """Event type name to the source topic that carries it."""
        self.model_of_type: Mapping[str, type[BaseModel]] = MappingProxyType(by_type)
        self.struct_of_type: Mapping[str, type[Event]] = MappingProxyType(struct_by_type)

    def event_entity_id(self, event: Event) -> str:
        """The entity id of an event: the field its topic uses as record key (e.g. ``endpoint_id``)."""
        entity_id: str = getattr(event, self.topic_of_type[event.type].key_field)
        return entity_id

    def decode(self, topic: str, key: bytes | None, value: bytes | None) -> Event | Rejection:
        """Validate one record of a source topic against the contract.

        Returns the event, or a ``Rejection`` with the first reason that applies in
        the contract's order (``future`` and ``late`` excepted: see ``judge_time``).
        Never raises for any ``key``/``value``; raises ``ValueError`` only when
        ``topic`` is not a source topic, which is a wiring bug, not bad input.
        ``value`` may be ``None`` (a tombstone), which is *not_object*.
        """
        route = self.routes.get(topic)
        if route is None:
            raise ValueError(f"{topic!r} is not a source topic")
        return _decode_fast(route, key, value) or _decode_slowly(route, key, value)


def _decode_fast(route: _Route, key: bytes | None, value: bytes | None) -> Event | None:
    """msgspec (schemas/wire.py), for a record it fully accepts; None sends it to pydantic.

    Non-UTF-8 bytes in a field msgspec skips would pass it unchecked, hence the UTF-8 test;
    ``\\u`` escapes (NUL, lone surrogates) are left to the slow path's precise rules.
    """
    if value is None or len(value) > MAX_VALUE_BYTES or b"\\u" in value:
        return None
    if not (value.isascii() or _is_utf8(value)):
        return None
    try:
        event = route.fast(value)
    except msgspec.ValidationError as exc:
        # Unknown fields: msgspec would skip their values unread, so a number there that no
        # double holds (the JSON grammar's rule here) is looked for first.
        if _UNKNOWN_FIELD not in str(exc) or _OVERFLOWING_NUMBER.search(value) is not None:
            return None
        try:
            event = route.strict(route.lenient(value))
        except _FAST_REFUSALS:
            return None
    except _FAST_REFUSALS:
        return None
    return event if key == getattr(event, route.key_field).encode() else None


_FAST_REFUSALS: Final = (msgspec.MsgspecError, ValueError, TypeError, RecursionError)
_UNKNOWN_FIELD: Final = "unknown field"
# Every number beyond a double's range (~1.8e308) has 100 digits in a row or an exponent of 100
# or more (a number with neither is below 1e199); the exponent's number starts after `:`, `,`,
# `[` or a space (not inside a hex id like 4e312…). Matching more than that only costs speed.
_OVERFLOWING_NUMBER: Final = re.compile(rb"[0-9]{100}|[:,\[\s]-?[0-9]+(?:\.[0-9]+)?[eE]\+?0*[1-9][0-9]{2}")


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_slowly(route: _Route, key: bytes | None, value: bytes | None) -> Event | Rejection:
    """The pydantic path: the contract's judge, and the one that words every rejection."""
    if value is None or len(value) > MAX_VALUE_BYTES:
        return unreadable(value)
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return unparseable(value, exc)
    if obj.__class__ is not dict:
        return Rejection(Reason.NOT_OBJECT, f"value is a JSON {json_kind(obj)}, not an object")

    version = obj.get("schema_version")
    type_name = obj.get("type")
    if version.__class__ is not int or version != SCHEMA_VERSION or type_name.__class__ is not str:
        return _envelope_problem(route, key, obj, version, type_name)
    validate = route.validators.get(type_name)
    if validate is None:
        return _unknown_type(route, type_name)
    return _validated(route, key, obj, validate)


def _validated(
    route: _Route, key: bytes | None, obj: dict[str, Any], validate: _Validate
) -> Event | Rejection:
    """Run the model's compiled validator, then the key check (after the field checks)."""
    try:
        model = validate(obj)
    except ValidationError as exc:
        return _invalid(route, key, obj, exc)
    entity_id: str = getattr(model, route.key_field)
    if key != entity_id.encode():
        return _key_mismatch(route, key, entity_id)
    return route.strict(model)


# --- the failure paths: slower, precise --------------------------------------------


def _envelope_problem(
    route: _Route, key: bytes | None, obj: dict[str, Any], version: Any, type_name: Any
) -> Event | Rejection:
    """Rank ``schema_version`` and ``type`` problems per the module's documented decisions."""
    if version.__class__ is int and version != SCHEMA_VERSION:
        return Rejection(
            Reason.UNKNOWN_VERSION,
            f"schema_version: {clip(str(version), 40)} is not a known version ({SCHEMA_VERSION})",
        )
    if type_name.__class__ is str:
        validate = route.validators.get(type_name)
        if validate is None:
            return _unknown_type(route, type_name)
        # A non-integer schema_version: the model ranks it with the other fields.
        return _validated(route, key, obj, validate)
    if "type" not in obj:
        return Rejection(Reason.MISSING_FIELD, "type: required field is missing")
    missing = [name for name in _ENVELOPE_REQUIRED if name not in obj]
    if missing:
        return Rejection(Reason.MISSING_FIELD, f"{missing[0]}: required field is missing")
    return Rejection(Reason.WRONG_TYPE, f"type: expected a string, got {show(type_name)}")


def _unknown_type(route: _Route, type_name: str) -> Rejection:
    return Rejection(
        Reason.UNKNOWN_TYPE,
        f"type: {show(type_name)} is not a type of {route.topic.name} ({', '.join(route.topic.types)})",
    )


def _key_mismatch(route: _Route, key: bytes | None, entity_id: str) -> Rejection:
    field = route.topic.key_field
    if key is None:
        return Rejection(
            Reason.KEY_MISMATCH,
            f"key: record has no key, {field} is {show(entity_id)}",
        )
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return Rejection(Reason.KEY_MISMATCH, f"key: not UTF-8, {field} is {show(entity_id)}")
    return Rejection(
        Reason.KEY_MISMATCH,
        f"key: {show(text)} differs from {field} {show(entity_id)}",
    )


def _invalid(route: _Route, key: bytes | None, obj: dict[str, Any], exc: ValidationError) -> Rejection:
    """Pick the highest-ranked of pydantic's errors; put the key check before *inconsistent*."""
    reason, best = worst(exc.errors(include_url=False))
    if reason is Reason.INCONSISTENT:
        # The model validator ran, so every field (the entity id too) is valid.
        entity_id: str = obj[route.topic.key_field]
        if key != entity_id.encode():
            return _key_mismatch(route, key, entity_id)
        return Rejection(reason, best["msg"])
    return Rejection(reason, describe_invalid(reason, best))
