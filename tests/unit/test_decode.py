"""``schemas.decode``: every way a record can be bad, the contract's order, and hostile bytes."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from schemas.decode import Reason, Rejection, judge_time
from schemas.events import RFC3339_PATTERN
from schemas.topics import MAX_VALUE_BYTES
from schemas.wire import Envelope
from sources import SOURCE_TOPIC_NAMES, SOURCE_TOPICS, TOPIC_OF_TYPE, WIRE_BY_TYPE, decode, event_entity_id
from tests.factories import (
    ENUMS,
    ENVELOPE_KINDS,
    EVENT_TYPES,
    FIELD_KINDS,
    START_FIELDS,
    encode,
    key_field_of,
    key_of,
    topic_of,
    valid_event,
    valid_events,
)

# The reasons decode decides, in the contract's order (future and late need the clock).
CONTRACT_ORDER = [
    "oversized",
    "not_utf8",
    "not_object",
    "unknown_version",
    "unknown_type",
    "missing_field",
    "wrong_type",
    "out_of_range",
    "key_mismatch",
    "inconsistent",
]


def run(event: dict[str, Any], *, type_name: str | None = None, key: Any = ...) -> Any:
    """Decode ``event`` on the topic of ``type_name`` (default: its own type's topic)."""
    kind = type_name or event["type"]
    record_key = key_of(event, kind) if key is ... else key
    topic = topic_of(kind)
    return decode(topic, record_key, encode(event))


def rejected(result: object) -> Rejection:
    assert isinstance(result, Rejection), f"accepted: {result!r}"
    return result


def reason_of(result: object) -> Reason:
    return rejected(result).reason


def all_fields(type_name: str) -> dict[str, str]:
    return {**ENVELOPE_KINDS, **FIELD_KINDS[type_name]}


# --- the basics ---------------------------------------------------------------------


def test_reasons_are_the_contracts_list_in_its_order() -> None:
    assert [reason.value for reason in Reason] == [*CONTRACT_ORDER, "future", "late"]


@pytest.mark.parametrize("type_name", EVENT_TYPES)
def test_valid_example_of_every_type_is_accepted(type_name: str) -> None:
    data = valid_event(type_name)
    event = run(data)
    assert isinstance(event, WIRE_BY_TYPE[type_name])
    assert event.event_id == data["event_id"]
    assert event_entity_id(event) == data[key_field_of(type_name)]
    assert event.occurred_at == datetime.fromisoformat(data["occurred_at"])


def _instant(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.upper().replace(" ", "T"))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(valid_events())
def test_generated_valid_events_are_accepted_as_sent(data: dict[str, Any]) -> None:
    event = run(data)
    assert isinstance(event, WIRE_BY_TYPE[data["type"]]), event
    assert event_entity_id(event) == data[key_field_of(data["type"])]
    assert event.event_id == data["event_id"]
    assert event.occurred_at == _instant(data["occurred_at"])
    for name, kind in FIELD_KINDS[data["type"]].items():
        if kind == "timestamp":
            assert getattr(event, name) == _instant(data[name])
        elif name in data:
            assert getattr(event, name) == data[name]


def test_unknown_topic_is_a_wiring_bug() -> None:
    topic, key, value = "ioc.deadletter", b"k", encode(valid_event("vc.heartbeat"))
    with pytest.raises(ValueError, match="not a source topic"):
        decode(topic, key, value)


def test_topic_of_type_follows_the_topic_table() -> None:
    for topic in SOURCE_TOPICS:
        for type_name in topic.types:
            assert TOPIC_OF_TYPE[type_name] is topic


# --- each reason, by example --------------------------------------------------------


def _hb(**overrides: Any) -> bytes:
    return encode(valid_event("vc.heartbeat", endpoint_id="TQ-CX-042", **overrides))


TELEMETRY = topic_of("vc.heartbeat")
KEY = b"TQ-CX-042"


@pytest.mark.parametrize(
    ("key", "value", "reason", "detail"),
    [
        (KEY, _hb(padding="x" * MAX_VALUE_BYTES), Reason.OVERSIZED, "over the limit of 65536"),
        (KEY, b'{"event_id":"\xff"}', Reason.NOT_UTF8, "invalid UTF-8 at byte 13"),
        (KEY, b'{"a":"\xed\xa0\x80"}', Reason.NOT_UTF8, "invalid UTF-8"),  # UTF-8 of a surrogate
        (KEY, b"", Reason.NOT_OBJECT, "empty"),
        (KEY, b"  \n", Reason.NOT_OBJECT, "empty"),
        (KEY, b"[]", Reason.NOT_OBJECT, "JSON array"),
        (KEY, b'"x"', Reason.NOT_OBJECT, "JSON string"),
        (KEY, b"null", Reason.NOT_OBJECT, "JSON null"),
        (KEY, b"{} {}", Reason.NOT_OBJECT, "not JSON"),
        (KEY, b'{"a":NaN}', Reason.NOT_OBJECT, "not JSON"),
        (KEY, b'{"a":"\\ud800"}', Reason.NOT_OBJECT, "not JSON"),
        (KEY, b'\xef\xbb\xbf{"a":1}', Reason.NOT_OBJECT, "not JSON"),
        (KEY, None, Reason.NOT_OBJECT, "tombstone"),
        (KEY, _hb(schema_version=2), Reason.UNKNOWN_VERSION, "schema_version: 2"),
        (KEY, _hb(schema_version=0, type=7), Reason.UNKNOWN_VERSION, "schema_version: 0"),
        (KEY, _hb(type="vc.meeting.ended"), Reason.UNKNOWN_TYPE, '"vc.meeting.ended"'),
        (KEY, _hb(type="VC.HEARTBEAT"), Reason.UNKNOWN_TYPE, "vc.heartbeat, vc.status"),
        (KEY, _hb(type=None), Reason.WRONG_TYPE, "type: expected a string, got null"),
        (
            KEY,
            _hb(schema_version="1"),
            Reason.WRONG_TYPE,
            'schema_version: expected an integer, got "1"',
        ),
        (KEY, _hb(schema_version=True), Reason.WRONG_TYPE, "schema_version"),
        (KEY, _hb(schema_version=1.0), Reason.WRONG_TYPE, "schema_version"),
        (KEY, _hb(rtt_ms="12"), Reason.WRONG_TYPE, 'rtt_ms: expected a number, got "12"'),
        (KEY, _hb(in_meeting=1), Reason.WRONG_TYPE, "in_meeting: expected true or false, got 1"),
        (KEY, _hb(site_level=3), Reason.WRONG_TYPE, "site_level: expected one of"),
        (KEY, _hb(occurred_at=1740969000), Reason.WRONG_TYPE, "occurred_at: expected a string"),
        (KEY, _hb(rtt_ms=-3), Reason.OUT_OF_RANGE, "rtt_ms: must be >= 0, got -3"),
        (KEY, _hb(packet_loss_pct=100.5), Reason.OUT_OF_RANGE, "packet_loss_pct: must be <= 100"),
        (KEY, _hb(site_level="city"), Reason.OUT_OF_RANGE, "site_level: must be one of"),
        (KEY, _hb(event_id=""), Reason.OUT_OF_RANGE, "event_id: must be at least 1 characters"),
        (KEY, _hb(event_id="e" * 65), Reason.OUT_OF_RANGE, "event_id: must be at most 64"),
        (
            KEY,
            _hb(occurred_at="2025-03-03T09:30:00"),
            Reason.OUT_OF_RANGE,
            "occurred_at: must be an RFC 3339",
        ),
        (
            KEY,
            _hb(occurred_at="2025-13-03T09:30:00Z"),
            Reason.OUT_OF_RANGE,
            "occurred_at: not a valid timestamp",
        ),
        (
            b"TQ-CX-043",
            _hb(),
            Reason.KEY_MISMATCH,
            'key: "TQ-CX-043" differs from endpoint_id "TQ-CX-042"',
        ),
        (b"", _hb(), Reason.KEY_MISMATCH, "key"),
        (b"TQ-CX-042 ", _hb(), Reason.KEY_MISMATCH, "key"),
        (None, _hb(), Reason.KEY_MISMATCH, "record has no key"),
        (b"\xffTQ", _hb(), Reason.KEY_MISMATCH, "not UTF-8"),
    ],
)
def test_each_reason_by_example(key: bytes | None, value: bytes | None, reason: Reason, detail: str) -> None:
    result = rejected(decode(TELEMETRY, key, value))
    assert result.reason is reason
    assert detail in result.detail


def _on_its_topic(type_name: str, key: Any = ..., drop: str | None = None, **overrides: Any) -> Any:
    """Decode a valid ``type_name`` event changed by ``overrides`` (and without ``drop``)."""
    event = valid_event(type_name, **overrides)
    if drop is not None:
        del event[drop]
    return run(event, type_name=type_name, key=key_of(event, type_name) if key is ... else key)


MARKET = "merchant.onboarded", "merchant.offboarded", "payment.completed"
COMMUNITY = "team.registered", "team.members_changed", "activity.reported"


@pytest.mark.parametrize(
    ("type_name", "change", "reason", "detail"),
    [
        # ioc.market.payments
        ("payment.completed", {"schema_version": 2}, Reason.UNKNOWN_VERSION, "schema_version: 2"),
        ("payment.completed", {"type": "team.registered"}, Reason.UNKNOWN_TYPE, '"team.registered"'),
        ("merchant.onboarded", {"type": "merchant.suspended"}, Reason.UNKNOWN_TYPE, "merchant.onboarded"),
        (
            "merchant.onboarded",
            {"drop": "provider"},
            Reason.MISSING_FIELD,
            "provider: required field is missing",
        ),
        (
            "merchant.offboarded",
            {"drop": "market"},
            Reason.MISSING_FIELD,
            "market: required field is missing",
        ),
        ("payment.completed", {"drop": "amount_vnd"}, Reason.MISSING_FIELD, "amount_vnd: required field"),
        (
            "payment.completed",
            {"amount_vnd": "85000"},
            Reason.WRONG_TYPE,
            'amount_vnd: expected an integer, got "85000"',
        ),
        ("payment.completed", {"amount_vnd": 85000.5}, Reason.WRONG_TYPE, "amount_vnd: expected an integer"),
        ("merchant.onboarded", {"merchant_id": 173}, Reason.WRONG_TYPE, "merchant_id: expected a string"),
        ("merchant.offboarded", {"provider": True}, Reason.WRONG_TYPE, "provider: expected one of"),
        ("merchant.onboarded", {"provider": "cash"}, Reason.OUT_OF_RANGE, "provider: must be one of"),
        ("payment.completed", {"amount_vnd": -1}, Reason.OUT_OF_RANGE, "amount_vnd: must be >= 0, got -1"),
        (
            "payment.completed",
            {"key": b"MK-HY-9999"},
            Reason.KEY_MISMATCH,
            'differs from merchant_id "MK-YS-',
        ),
        ("merchant.offboarded", {"key": None}, Reason.KEY_MISMATCH, "record has no key"),
        # ioc.community.activities
        ("team.registered", {"schema_version": 0}, Reason.UNKNOWN_VERSION, "schema_version: 0"),
        ("activity.reported", {"type": "payment.completed"}, Reason.UNKNOWN_TYPE, "activity.reported"),
        ("team.registered", {"drop": "members"}, Reason.MISSING_FIELD, "members: required field is missing"),
        ("team.members_changed", {"drop": "commune"}, Reason.MISSING_FIELD, "commune: required field"),
        ("activity.reported", {"drop": "kind"}, Reason.MISSING_FIELD, "kind: required field is missing"),
        ("team.registered", {"members": "3"}, Reason.WRONG_TYPE, 'members: expected an integer, got "3"'),
        ("team.members_changed", {"members": 3.0}, Reason.WRONG_TYPE, "members: expected an integer"),
        ("activity.reported", {"hours": "1.5"}, Reason.WRONG_TYPE, 'hours: expected a number, got "1.5"'),
        (
            "activity.reported",
            {"citizens_helped": True},
            Reason.WRONG_TYPE,
            "citizens_helped: expected an integer",
        ),
        ("team.registered", {"level": 2}, Reason.WRONG_TYPE, "level: expected one of"),
        ("team.registered", {"members": 0}, Reason.OUT_OF_RANGE, "members: must be >= 1, got 0"),
        ("team.members_changed", {"members": -4}, Reason.OUT_OF_RANGE, "members: must be >= 1"),
        ("team.registered", {"level": "province"}, Reason.OUT_OF_RANGE, "level: must be one of"),
        ("activity.reported", {"kind": "party"}, Reason.OUT_OF_RANGE, "kind: must be one of"),
        ("activity.reported", {"hours": -0.5}, Reason.OUT_OF_RANGE, "hours: must be >= 0"),
        ("activity.reported", {"citizens_helped": -1}, Reason.OUT_OF_RANGE, "citizens_helped: must be >= 0"),
        ("team.members_changed", {"key": b"CT-YS-0000"}, Reason.KEY_MISMATCH, 'differs from team_id "CT-YS-'),
        ("activity.reported", {"key": b""}, Reason.KEY_MISMATCH, "key"),
    ],
)
def test_each_reason_on_the_market_and_community_topics(
    type_name: str, change: dict[str, Any], reason: Reason, detail: str
) -> None:
    result = rejected(_on_its_topic(type_name, **change))
    assert result.reason is reason, result
    assert detail in result.detail


@pytest.mark.parametrize("type_name", [*MARKET, *COMMUNITY])
def test_bytes_that_are_no_event_on_the_market_and_community_topics(type_name: str) -> None:
    topic, event = topic_of(type_name), valid_event(type_name)

    def reason(value: bytes | None) -> Reason:
        return reason_of(decode(topic, key_of(event), value))

    value = encode(event)
    assert reason(encode({**event, "padding": "x" * MAX_VALUE_BYTES})) is Reason.OVERSIZED
    assert reason(value.replace(b'"source":"', b'"source":"\xff')) is Reason.NOT_UTF8
    assert reason(b"[" + value + b"]") is Reason.NOT_OBJECT
    assert reason(None) is Reason.NOT_OBJECT


def test_market_and_community_examples_from_the_contract_are_accepted() -> None:
    merchant = _on_its_topic(
        "merchant.onboarded", merchant_id="MK-HY-0173", market="CHO_TAN_YEN", provider="other"
    )
    assert (
        isinstance(merchant, WIRE_BY_TYPE["merchant.onboarded"]) and event_entity_id(merchant) == "MK-HY-0173"
    )
    team = _on_its_topic("team.registered", team_id="CT-YS-0412", level="commune", members=1)
    assert isinstance(team, WIRE_BY_TYPE["team.registered"]) and team.members == 1  # type: ignore[attr-defined]
    help_ = _on_its_topic("activity.reported", citizens_helped=0, hours=0, kind="cashless_help")
    assert isinstance(help_, WIRE_BY_TYPE["activity.reported"]) and help_.hours == 0.0  # type: ignore[attr-defined]
    free = _on_its_topic("payment.completed", amount_vnd=0)
    assert isinstance(free, WIRE_BY_TYPE["payment.completed"])


def test_missing_field_example() -> None:
    data = valid_event("vc.heartbeat")
    del data["rtt_ms"]
    result = run(data)
    assert reason_of(result) is Reason.MISSING_FIELD
    assert result.detail == "rtt_ms: required field is missing"


def test_missing_type_and_version_are_missing_fields() -> None:
    for field in ("type", "schema_version", "event_id"):
        data = valid_event("vc.heartbeat")
        del data[field]
        result = run(data, type_name="vc.heartbeat")
        assert reason_of(result) is Reason.MISSING_FIELD
        assert result.detail.startswith(f"{field}:")


def test_non_string_type_ranks_below_a_missing_envelope_field() -> None:
    data = valid_event("vc.heartbeat", type=["vc.heartbeat"])
    del data["source"]
    assert reason_of(run(data, type_name="vc.heartbeat")) is Reason.MISSING_FIELD


def test_inconsistent_example() -> None:
    data = valid_event(
        "application.resolved",
        occurred_at="2025-03-03T09:30:00+07:00",
        submitted_at="2025-03-03T02:30:01Z",
    )
    result = run(data)
    assert reason_of(result) is Reason.INCONSISTENT
    assert "occurred_at" in result.detail and "submitted_at" in result.detail


def test_same_instant_start_and_end_is_consistent() -> None:
    data = valid_event(
        "document.processed",
        occurred_at="2025-03-03T09:30:00+07:00",
        received_at="2025-03-03T02:30:00Z",
    )
    assert isinstance(run(data), Envelope)


def test_value_of_exactly_the_limit_is_accepted() -> None:
    data = valid_event("vc.heartbeat", padding="")
    data["padding"] = "x" * (MAX_VALUE_BYTES - len(encode(data)))
    assert len(encode(data)) == MAX_VALUE_BYTES
    assert isinstance(run(data), Envelope)
    data["padding"] += "x"
    assert reason_of(run(data)) is Reason.OVERSIZED


def test_duplicate_json_keys_last_wins() -> None:
    value = encode(valid_event("vc.heartbeat", endpoint_id="A"))[:-1] + b',"rtt_ms":-1}'
    assert reason_of(decode(TELEMETRY, b"A", value)) is Reason.OUT_OF_RANGE


def test_integer_beyond_64_bits_is_not_an_integer() -> None:
    data = valid_event("application.paid", amount_vnd=0)
    value = encode(data).replace(b'"amount_vnd":0', b'"amount_vnd":18446744073709551616')
    result = rejected(decode(topic_of("application.paid"), key_of(data), value))
    assert result.reason is Reason.WRONG_TYPE
    assert result.detail.startswith("amount_vnd:")


# --- each reason, by property ---------------------------------------------------------

_wrong_kind_values: dict[str, list[Any]] = {
    "string": [12, 1.5, True, None, [], {}],
    "optional string": [12, False, ["x"], {"x": 1}],
    "integer": ["1", 1.5, 2.0, True, None, [], {}],
    "number": ["1", "1.5", True, False, None, [1], {}],
    "boolean": [1, 0, "true", None, [], {}],
    "enum": [1, True, None, ["online"], {}],
    "timestamp": [1_740_969_000, 1.5, True, None, [], {}],
    "string array": ["TQ-1", 1, None, {}, [1], [None], ["a", True]],
}


@settings(max_examples=300)
@given(st.data())
def test_dropping_a_required_field_is_missing_field(data: st.DataObject) -> None:
    type_name = data.draw(st.sampled_from(EVENT_TYPES))
    event = data.draw(valid_events(type_name))
    required = [n for n, kind in all_fields(type_name).items() if not kind.startswith("optional")]
    dropped = data.draw(st.sampled_from(required))
    del event[dropped]
    result = run(event, type_name=type_name, key=b"any key: the field checks come first")
    assert reason_of(result) is Reason.MISSING_FIELD
    assert result.detail == f"{dropped}: required field is missing"


@settings(max_examples=300)
@given(st.data())
def test_a_value_of_the_wrong_json_type_is_wrong_type(data: st.DataObject) -> None:
    type_name = data.draw(st.sampled_from(EVENT_TYPES))
    event = data.draw(valid_events(type_name))
    field, kind = data.draw(st.sampled_from(sorted(all_fields(type_name).items())))
    event[field] = data.draw(st.sampled_from(_wrong_kind_values[kind]))
    result = run(event, type_name=type_name, key=b"wrong key too: type checks come first")
    assert reason_of(result) is Reason.WRONG_TYPE
    assert result.detail.startswith(field)


def test_a_number_as_a_string_is_wrong_type_for_every_numeric_field() -> None:
    for type_name in EVENT_TYPES:
        for field, kind in all_fields(type_name).items():
            if kind in ("number", "integer"):
                event = valid_event(type_name)
                event[field] = str(event[field])
                assert reason_of(run(event)) is Reason.WRONG_TYPE, (type_name, field)


_not_timestamps = st.one_of(
    st.sampled_from(
        [
            "2025-03-03T09:30:00",
            "2025-03-03",
            "09:30:00+07:00",
            "1740969000",
            "2025-03-03T09:30:00+07",
            "2025-03-03T24:30:00+07:00",
            "2025-02-29T09:30:00+07:00",
            "2025-03-03T09:30:00+07:00[Asia/Ho_Chi_Minh]",
            "2025-W10-1T09:30:00Z",
        ]
    ),
    st.text(max_size=30).filter(lambda s: re.fullmatch(RFC3339_PATTERN[1:-1], s) is None),
)

_out_of_range: dict[str, st.SearchStrategy[Any]] = {
    "rtt_ms": st.floats(max_value=-1e-9, allow_infinity=False)
    | st.integers(min_value=-(2**63), max_value=-1),
    "jitter_ms": st.floats(max_value=-1e-9, allow_infinity=False),
    "bitrate_kbps": st.integers(min_value=-(2**63), max_value=-1),
    "packet_loss_pct": st.floats(min_value=100.000001, allow_infinity=False)
    | st.floats(max_value=-1e-9, allow_infinity=False),
    "service_level": st.integers(min_value=-(2**63), max_value=2**63 - 1).filter(
        lambda n: n not in (2, 3, 4)
    ),
    "amount_vnd": st.integers(min_value=-(2**63), max_value=-1),
    "members": st.integers(min_value=-(2**63), max_value=0),
    "citizens_helped": st.integers(min_value=-(2**63), max_value=-1),
    "hours": st.floats(max_value=-1e-9, allow_infinity=False) | st.integers(min_value=-(2**63), max_value=-1),
    "score": st.integers(min_value=-(2**63), max_value=2**63 - 1).filter(lambda n: not 1 <= n <= 5),
    "event_id": st.just("") | st.text(min_size=65, max_size=100),
}


def _out_of_range_value(data: st.DataObject, field: str, kind: str) -> Any:
    if field in _out_of_range:
        return data.draw(_out_of_range[field])
    if kind == "enum":
        return data.draw(st.text(max_size=12).filter(lambda s: s not in ENUMS[field]))
    assert kind == "timestamp", field
    return data.draw(_not_timestamps)


@settings(max_examples=400)
@given(st.data())
def test_a_value_out_of_its_range_is_out_of_range(data: st.DataObject) -> None:
    type_name = data.draw(st.sampled_from(EVENT_TYPES))
    candidates = sorted(
        (field, kind)
        for field, kind in all_fields(type_name).items()
        if field in _out_of_range or kind in ("enum", "timestamp")
    )
    field, kind = data.draw(st.sampled_from(candidates))
    event = data.draw(valid_events(type_name))
    event[field] = _out_of_range_value(data, field, kind)
    result = run(event, type_name=type_name, key=None)
    assert reason_of(result) is Reason.OUT_OF_RANGE
    assert result.detail.startswith(field)


@settings(max_examples=200)
@given(valid_events(), st.none() | st.binary(max_size=30))
def test_a_key_other_than_the_entity_id_is_key_mismatch(event: dict[str, Any], key: bytes | None) -> None:
    assume(key != key_of(event))
    assert reason_of(run(event, key=key)) is Reason.KEY_MISMATCH


@settings(max_examples=200)
@given(valid_events(), st.integers(min_value=-(2**63), max_value=2**64 - 1).filter(lambda v: v != 1))
def test_an_integer_version_other_than_1_is_unknown_version(event: dict[str, Any], version: int) -> None:
    event["schema_version"] = version
    event["type"] = "anything at all"  # the version decides first
    assert reason_of(run(event, type_name=EVENT_TYPES[0], key=None)) is Reason.UNKNOWN_VERSION


@settings(max_examples=200)
@given(st.data())
def test_a_type_not_of_the_topic_is_unknown_type(data: st.DataObject) -> None:
    topic = data.draw(st.sampled_from(SOURCE_TOPICS))
    event = data.draw(valid_events())
    event["type"] = data.draw(st.text(max_size=30) | st.sampled_from(EVENT_TYPES))
    assume(event["type"] not in topic.types)
    result = decode(topic.name, None, encode(event))
    assert reason_of(result) is Reason.UNKNOWN_TYPE


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(valid_events(), st.integers(min_value=1, max_value=4096))
def test_a_value_over_64_kib_is_oversized(event: dict[str, Any], excess: int) -> None:
    event["padding"] = ""
    event["padding"] = "x" * (MAX_VALUE_BYTES - len(encode(event)) + excess)
    assert reason_of(run(event)) is Reason.OVERSIZED


_invalid_utf8 = st.sampled_from(
    [b"\xff", b"\xc3", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf"]
)


@settings(max_examples=200)
@given(valid_events(), _invalid_utf8, st.data())
def test_invalid_utf8_anywhere_is_not_utf8(event: dict[str, Any], bad: bytes, data: st.DataObject) -> None:
    value = encode(event)
    at = data.draw(st.integers(min_value=0, max_value=len(value)))
    result = decode(topic_of(event["type"]), key_of(event), value[:at] + bad + value[at:])
    assert reason_of(result) is Reason.NOT_UTF8


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=200)
@given(st.sampled_from(SOURCE_TOPIC_NAMES), _json_values.filter(lambda v: not isinstance(v, dict)))
def test_json_that_is_not_an_object_is_not_object(topic: str, value: Any) -> None:
    assert reason_of(decode(topic, b"k", orjson.dumps(value))) is Reason.NOT_OBJECT


# --- the contract's order -------------------------------------------------------------


def _with_faults(type_name: str, faults: frozenset[Reason]) -> tuple[str, bytes | None, bytes]:
    """A record of ``type_name`` with one fault per reason in ``faults``, on distinct fields."""
    event = valid_event(type_name, occurred_at="2025-03-03T09:30:00+07:00")
    key: bytes | None = key_of(event)
    if Reason.OVERSIZED in faults:
        event["padding"] = "x" * MAX_VALUE_BYTES
    if Reason.UNKNOWN_VERSION in faults:
        event["schema_version"] = 2
    if Reason.UNKNOWN_TYPE in faults:
        event["type"] = "vc.heartbeat"
    if Reason.MISSING_FIELD in faults:
        del event["agency"]
    if Reason.WRONG_TYPE in faults:
        event["due_at"] = 1_741_000_000
    if Reason.OUT_OF_RANGE in faults:
        event["event_id"] = "e" * 65
    if Reason.KEY_MISMATCH in faults:
        key = b"somebody else"
    if Reason.INCONSISTENT in faults:
        event[START_FIELDS[type_name]] = "2025-03-03T10:30:00+07:00"
    value = encode(event)
    if Reason.NOT_OBJECT in faults:
        value = b"[" + value + b"]"
    if Reason.NOT_UTF8 in faults:
        value = value.replace(b'"source":"', b'"source":"\xff', 1)
    return topic_of(type_name), key, value


_decided = [Reason(name) for name in CONTRACT_ORDER]


@pytest.mark.parametrize("type_name", sorted(START_FIELDS))
@pytest.mark.parametrize("single", _decided)
def test_each_fault_alone_gives_its_reason(type_name: str, single: Reason) -> None:
    assert reason_of(decode(*_with_faults(type_name, frozenset({single})))) is single


@pytest.mark.parametrize("type_name", sorted(START_FIELDS))
@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(_decided, 2)))
def test_of_two_faults_the_earlier_reason_wins(type_name: str, first: Reason, second: Reason) -> None:
    assert reason_of(decode(*_with_faults(type_name, frozenset({first, second})))) is first


@settings(max_examples=300)
@given(st.sampled_from(sorted(START_FIELDS)), st.sets(st.sampled_from(_decided), min_size=1))
def test_of_any_faults_the_earliest_reason_wins(type_name: str, faults: set[Reason]) -> None:
    expected = min(faults, key=_decided.index)
    assert reason_of(decode(*_with_faults(type_name, frozenset(faults)))) is expected


def test_order_is_across_all_fields_not_field_by_field() -> None:
    # The wrong-typed field comes before the missing one in the event and the model.
    data = valid_event("document.processed", event_id=5)
    del data["digitally_signed"]
    assert reason_of(run(data)) is Reason.MISSING_FIELD
    data = valid_event("document.processed", event_id="e" * 65, digitally_signed="yes")
    assert reason_of(run(data)) is Reason.WRONG_TYPE


def test_key_mismatch_comes_before_inconsistent_and_after_field_checks() -> None:
    data = valid_event(
        "document.processed",
        occurred_at="2025-03-03T09:30:00+07:00",
        received_at="2025-03-03T10:30:00+07:00",
    )
    assert reason_of(run(data, key=b"other")) is Reason.KEY_MISMATCH
    assert reason_of(run(data)) is Reason.INCONSISTENT
    data["urgency"] = "whenever"  # not a field of document.processed: ignored
    data["agency"] = 7
    assert reason_of(run(data, key=b"other")) is Reason.WRONG_TYPE


# --- hostile input ----------------------------------------------------------------------


def _check_total(topic: str, key: bytes | None, value: bytes) -> None:
    """Decode must answer, never raise, and its answer must be coherent."""
    result = decode(topic, key, value)
    if isinstance(result, Rejection):
        assert result.reason.value in CONTRACT_ORDER
        assert isinstance(result.detail, str)
        assert result.detail
    else:
        assert isinstance(result, Envelope)
        assert TOPIC_OF_TYPE[result.type].name == topic
        assert key == event_entity_id(result).encode()
    if len(value) <= MAX_VALUE_BYTES:
        said_not_utf8 = isinstance(result, Rejection) and result.reason is Reason.NOT_UTF8
        assert said_not_utf8 == (not _is_utf8(value))


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@settings(max_examples=1000)
@given(st.sampled_from(SOURCE_TOPIC_NAMES), st.none() | st.binary(max_size=16), st.binary(max_size=512))
def test_arbitrary_bytes_never_raise(topic: str, key: bytes | None, value: bytes) -> None:
    _check_total(topic, key, value)


_contract_keys = sorted({name for fields in FIELD_KINDS.values() for name in fields} | set(ENVELOPE_KINDS))


@settings(max_examples=400)
@given(
    st.sampled_from(SOURCE_TOPIC_NAMES),
    st.dictionaries(st.sampled_from(_contract_keys) | st.text(max_size=6), _json_values, max_size=14),
    st.sampled_from(EVENT_TYPES),
    st.booleans(),
)
def test_arbitrary_json_objects_never_raise(
    topic: str, obj: dict[str, Any], type_name: str, plausible: bool
) -> None:
    if plausible:
        obj = {**valid_event(type_name), **obj}
    key = str(obj.get(key_field_of(type_name), "")).encode("utf-8", "surrogatepass")
    _check_total(topic, key, orjson.dumps(obj))


@settings(max_examples=500)
@given(valid_events(), st.data())
def test_corrupted_valid_records_never_raise(event: dict[str, Any], data: st.DataObject) -> None:
    value = bytearray(encode(event))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(value) - 1))
        value[at] = data.draw(st.integers(0, 255))
    _check_total(topic_of(event["type"]), key_of(event), bytes(value))


# --- judge_time -------------------------------------------------------------------------

ICT = timezone(timedelta(hours=7))
NOW = datetime(2025, 3, 3, 9, 30, tzinfo=ICT)
GRACE = timedelta(hours=2)


@pytest.mark.parametrize(
    ("occurred_at", "newest", "expected"),
    [
        (NOW, None, None),
        (NOW + timedelta(minutes=5), None, None),
        (NOW + timedelta(minutes=5, microseconds=1), None, Reason.FUTURE),
        (datetime(2025, 3, 3, 2, 36, tzinfo=UTC), None, Reason.FUTURE),
        (NOW - timedelta(days=365), None, None),  # no newest yet: nothing is late
        (NOW - GRACE, NOW, None),
        (NOW - GRACE - timedelta(microseconds=1), NOW, Reason.LATE),
        (NOW - timedelta(hours=3), NOW - timedelta(hours=1), None),
        (NOW + timedelta(hours=1), NOW - timedelta(hours=1), Reason.FUTURE),
        (NOW + timedelta(minutes=6), NOW + timedelta(hours=9), Reason.FUTURE),  # both: future first
    ],
)
def test_judge_time(occurred_at: datetime, newest: datetime | None, expected: Reason | None) -> None:
    verdict = judge_time(occurred_at, now=NOW, newest_on_partition=newest, grace=GRACE)
    assert (verdict.reason if verdict else None) is expected
    if verdict is not None:
        assert verdict.detail.startswith("occurred_at:")


def test_judge_time_tolerance_and_grace_are_settings() -> None:
    ahead = NOW + timedelta(minutes=10)
    assert judge_time(ahead, now=NOW, newest_on_partition=None, grace=GRACE) is not None
    assert (
        judge_time(
            ahead,
            now=NOW,
            newest_on_partition=None,
            grace=GRACE,
            future_tolerance=timedelta(minutes=15),
        )
        is None
    )
    old = NOW - timedelta(hours=3)
    assert judge_time(old, now=NOW, newest_on_partition=NOW, grace=timedelta(hours=4)) is None
