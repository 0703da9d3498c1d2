"""The fast decoder (schemas/wire.py) accepts only what the contract's models accept, with equal values.

``schemas.decode`` trusts a record msgspec accepts without asking pydantic, so these tests hold
the two representations together: the same fields and bounds per type, and over generated,
mutated and hand-picked records, every fast acceptance is a pydantic acceptance with the same
values. (The reverse need not hold: what the fast path refuses, pydantic judges.)
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from schemas import decode as decode_module
from schemas.decode import Rejection
from schemas.events import Timestamp
from schemas.wire import Event, field_names
from schemas.wire import timestamp as _timestamp
from sources import DECODER, MODEL_BY_TYPE, SOURCE_TOPICS, WIRE_BY_TYPE, decode
from tests.factories import EVENT_TYPES, encode, key_of, topic_of, valid_event, valid_events

_ROUTES = DECODER.routes  # the fast decoder per topic, compared here with the slow path


def _fast(topic: str, value: bytes, key: bytes | None = None) -> Event | None:
    """The fast path as decode() runs it; without a key, whatever key the event names."""
    route = _ROUTES[topic]
    if key is None:
        try:
            key = getattr(route.lenient(value), route.key_field).encode()
        except (msgspec.MsgspecError, ValueError, TypeError, RecursionError):
            return None
    return decode_module._decode_fast(route, key, value)


def _values(event: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(event, name) for name in names}


def _assert_same(fast: Event, slow: Event) -> None:
    assert type(fast) is type(slow)
    names = field_names(type(fast))
    assert _values(fast, names) == _values(slow, names)
    for name in names:
        value = getattr(fast, name)
        if isinstance(value, datetime):
            assert value.tzinfo is UTC and getattr(slow, name).tzinfo is UTC, name
        else:
            assert type(value) is type(getattr(slow, name)), name


def _check(topic: str, key: bytes | None, value: bytes) -> None:
    """If the fast path takes the record, the pydantic path takes it too, with the same values."""
    fast = decode_module._decode_fast(_ROUTES[topic], key, value)
    slow = decode_module._decode_slowly(_ROUTES[topic], key, value)
    if fast is not None:
        assert not isinstance(slow, Rejection), (value, slow)
        _assert_same(fast, slow)
    # decode() as a whole always agrees with the pydantic path's verdict.
    result = decode(topic, key, value)
    if isinstance(slow, Rejection):
        assert result == slow
    else:
        assert not isinstance(result, Rejection)
        _assert_same(result, slow)


# --- the same shape --------------------------------------------------------------------


@pytest.mark.parametrize("type_name", EVENT_TYPES)
def test_every_type_has_a_struct_with_the_models_fields(type_name: str) -> None:
    model = MODEL_BY_TYPE[type_name]
    struct = WIRE_BY_TYPE[type_name]
    assert struct.type == type_name
    assert set(field_names(struct)) == set(model.model_fields) - {"type"}
    required = {n for n, f in model.model_fields.items() if f.is_required()} - {"type"}
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    assert {f.name for f in info.fields if f.required} == required


def test_every_topic_decodes_exactly_its_types() -> None:
    for topic in SOURCE_TOPICS:
        for type_name in EVENT_TYPES:
            value = encode(valid_event(type_name))
            fast = _fast(topic.name, value)
            assert (fast is not None) == (type_name in topic.types), (topic.name, type_name)


# --- the same verdicts and values ------------------------------------------------------


@pytest.mark.parametrize("type_name", EVENT_TYPES)
def test_valid_examples_take_the_fast_path(type_name: str) -> None:
    data = valid_event(type_name)
    fast = _fast(topic_of(type_name), encode(data))
    assert fast is not None, "a plain valid event must not need the slow path"
    _check(topic_of(type_name), key_of(data), encode(data))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(valid_events())
def test_generated_valid_events_agree(data: dict[str, Any]) -> None:
    _check(topic_of(data["type"]), key_of(data), encode(data))


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["", "x" * 65, "2025-03-03T09:30:00+0700", "2025-03-03T09:30:00.1234567Z", "online"])
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(valid_events(), st.data())
def test_mutated_events_agree(data: dict[str, Any], draw: st.DataObject) -> None:
    """Replace, drop or add fields with arbitrary JSON; the verdicts and values still agree."""
    names = sorted(data)
    for _ in range(draw.draw(st.integers(min_value=1, max_value=3))):
        action = draw.draw(st.sampled_from(["replace", "drop", "add"]))
        name = draw.draw(st.sampled_from(names))
        if action == "replace":
            data[name] = draw.draw(_json_values)
        elif action == "drop":
            data.pop(name, None)
        else:
            data[draw.draw(st.text(max_size=8))] = draw.draw(_json_values)
    type_name = str(data["type"]) if data.get("type") in EVENT_TYPES else "vc.heartbeat"
    topic = topic_of(type_name)
    entity = data.get(_ROUTES[topic].key_field)
    key = entity.encode() if isinstance(entity, str) else b"k"
    ascii_only = draw.draw(st.booleans())  # escapes for non-ASCII text, or raw UTF-8
    _check(topic, key, json.dumps(data, ensure_ascii=ascii_only).encode())


@pytest.mark.parametrize(
    "tail",
    [
        b',"event_id":"other"}',  # duplicate key: the last wins on both paths
        b',"rtt_ms":1e400}',  # a number no double holds
        b',"x":1e400}',  # ... in an unknown field, which msgspec skips unread
        b',"x":-1.5E+0400}',
        b',"x":' + b"1" * 310 + b"}",
        b',"x":' + b"1" * 250 + b"e99}",
        b',"x":' + b"1" * 150 + b"e99}",  # 1e249: a double holds it
        b',"x":1e99,"y":[1e-400]}',
        b',"rtt_ms":18446744073709551616}',  # beyond 64 bits
        b',"extra":"\xff"}',  # not UTF-8, in a field msgspec would skip
        b',"extra":"\\ud800"}',  # a lone surrogate escape
        b',"endpoint_id":"E\\u0000"}',  # a NUL
        b',"type":"vc.status"}',  # the tag given twice
        b',"extra":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}',
    ],
)
def test_awkward_json_agrees(tail: bytes) -> None:
    data = valid_event("vc.heartbeat", endpoint_id="E")
    _check(topic_of("vc.heartbeat"), b"E", encode(data)[:-1] + tail)


@pytest.mark.parametrize(
    ("type_name", "field"),
    [
        ("application.paid", "amount_vnd"),
        ("payment.completed", "amount_vnd"),
        ("activity.reported", "citizens_helped"),
    ],
)
def test_integers_between_int64_and_uint64_are_accepted_via_the_slow_path(type_name: str, field: str) -> None:
    data = valid_event(type_name)
    value = encode({**data, field: 2**63})
    assert _fast(topic_of(type_name), value) is None
    event = decode(topic_of(type_name), key_of(data), value)
    assert not isinstance(event, Rejection) and getattr(event, field) == 2**63


@pytest.mark.parametrize("type_name", ["team.registered", "team.members_changed"])
def test_a_member_count_beyond_what_the_table_holds_is_out_of_range(type_name: str) -> None:
    data = valid_event(type_name)
    event = decode(topic_of(type_name), key_of(data), encode({**data, "members": 2**63}))
    assert isinstance(event, Rejection) and event.reason == "out_of_range"


# --- timestamps: every variant of the grammar ------------------------------------------

_PYDANTIC_TIMESTAMP = TypeAdapter(Timestamp)

_VARIANTS = list(
    itertools.product(
        ["2026", "0001", "9999", "0000"],
        ["-01-01", "-02-29", "-02-28", "-12-31", "-13-01", "-04-31", "-00-10", "-1-01"],
        ["T", "t", " ", "_", ""],
        ["00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60", "12:30", "1:30:45"],
        ["", ".1", ".123456", ".1234567", ".9999999", "."],
        ["Z", "z", "+07:00", "-07:00", "+0700", "+07", "+23:59", "+24:00", "-00:00", "+00:60", ""],
    )
)


def test_a_timestamp_the_fast_path_parses_is_one_the_contract_accepts_as_the_same_instant() -> None:
    accepted = 0
    for parts in _VARIANTS:
        text = "".join(parts)
        try:
            fast = _timestamp(text)
        except ValueError:
            continue
        accepted += 1
        slow = _PYDANTIC_TIMESTAMP.validate_python(text)  # raises if the contract refuses it
        assert fast == slow and fast.microsecond == slow.microsecond and fast.tzinfo is UTC
    assert accepted > 500
    for common in (
        "2026-11-25T10:00:00Z",
        "2026-11-25T10:00:00.123+07:00",
        "2026-11-25 10:00:00.123456-05:30",
    ):
        assert _timestamp(common) == datetime.fromisoformat(common)  # these take the fast path


def test_an_event_with_unknown_fields_takes_the_fast_path_as_its_own_type() -> None:
    data = {**valid_event("vc.heartbeat"), "firmware": "2.1", "peer_count": 3.5e12}
    fast = _fast(topic_of("vc.heartbeat"), encode(data))
    assert type(fast) is WIRE_BY_TYPE["vc.heartbeat"]
    _check(topic_of("vc.heartbeat"), key_of(data), encode(data))
