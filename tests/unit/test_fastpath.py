"""The native heartbeat fast path (sources/vc/fastpath.pyx) agrees with the Python path.

The fast path may leave any record to `schemas.decode`, but a record it takes must be one the
contract accepts, with the same values; and a batch judged with it must come out exactly as
the same batch judged by the Python path alone: the same outcomes, dead letters, positions,
duplicate memory and sums.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.decode_bench import build_records
from ioc.clock import micros
from sources import decode
from sources.vc.fastpath import fingerprint as native_fingerprint
from sources.vc.fastpath import parse_heartbeat
from sources.vc.wire import VcHeartbeat
from streams.admit import BatchResult, PartitionState, admit
from streams.dedupe import fingerprint
from streams.effects import batch_effects
from tests.factories import BASE_TIME, Rec, encode, valid_event, valid_events

TOPIC = "ioc.vc.telemetry"


def _agrees(key: bytes, value: bytes) -> bool:
    """Whether the fast path took the record; if it did, decode() gives the same heartbeat."""
    fast = parse_heartbeat(key, value)
    if fast is None:
        return False
    slow = decode(TOPIC, key, value)
    assert isinstance(slow, VcHeartbeat), (value, slow)
    assert fast == (
        slow.event_id,
        micros(slow.occurred_at),
        slow.endpoint_id,
        slow.site_level,
        slow.district,
        slow.rtt_ms,
        slow.jitter_ms,
        slow.packet_loss_pct,
    ), value
    return True


# --- fingerprints -------------------------------------------------------------------------


@given(st.binary(max_size=128))
def test_the_native_fingerprint_is_blake2b_64(data: bytes) -> None:
    expected = int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)
    assert native_fingerprint(data) == expected


def test_the_native_fingerprint_matches_the_stored_one_at_every_length() -> None:
    for n in range(1, 65):
        event_id = "".join(random.choice("0123456789abcdef-") for _ in range(n))
        assert native_fingerprint(event_id.encode()) == fingerprint(event_id)


# --- the scan -----------------------------------------------------------------------------


def test_every_simulated_heartbeat_takes_the_fast_path_with_its_values() -> None:
    heartbeats = [(k, v) for t, k, v in build_records(5000) if b'"vc.heartbeat"' in v]
    assert len(heartbeats) > 3000
    assert all(_agrees(k, v) for k, v in heartbeats)


_ascii_ids = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=70)
_numbers = st.one_of(
    st.floats(min_value=-1, max_value=1e15, allow_nan=False, allow_infinity=False),
    st.integers(min_value=-5, max_value=2**64),
    st.sampled_from([0, -0.0, 100, 100.0000001, 1e-320, 5e-324, 1e308, 0.1, 99.99999999999999]),
)
_moments = st.datetimes(
    min_value=datetime(1000, 1, 2), max_value=datetime(8999, 12, 30), timezones=st.just(UTC)
)


@st.composite
def _stamps(draw: st.DrawFn) -> str:
    """Timestamps the fast path takes, and near misses: other separators, offsets, digits."""
    moment = draw(_moments).astimezone(timezone(timedelta(minutes=draw(st.integers(-1439, 1439)))))
    text = moment.strftime("%Y-%m-%d") + draw(st.sampled_from("TTTt ")) + moment.strftime("%H:%M:%S")
    digits = draw(st.integers(0, 8))
    if digits:
        text += "." + f"{moment.microsecond:06d}{draw(st.integers(0, 99)):02d}"[:digits]
    z = moment.strftime("%z")
    zone = draw(st.sampled_from(["Z", "z", z[:3] + ":" + z[3:], z, "+24:00", "-00:00", ""]))
    if zone == "Z" and moment.utcoffset() != timedelta(0):
        zone = z[:3] + ":" + z[3:]
    return text + zone


@st.composite
def _heartbeats(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """Heartbeats of ASCII text in any field order and spacing, with values at and past bounds."""
    endpoint = draw(_ascii_ids)
    event: dict[str, Any] = {
        "event_id": draw(_ascii_ids),
        "type": "vc.heartbeat",
        "occurred_at": draw(_stamps()),
        "source": draw(st.text(alphabet=st.characters(max_codepoint=126), max_size=8)),
        "schema_version": draw(st.sampled_from([1, 1, 1, 1.0, 2, "1"])),
        "endpoint_id": endpoint,
        "site_level": draw(st.sampled_from(["province", "department", "district", "commune", "Commune"])),
        "district": draw(_ascii_ids),
        "in_meeting": draw(st.sampled_from([True, False, 0, None])),
        "rtt_ms": draw(_numbers),
        "jitter_ms": draw(_numbers),
        "packet_loss_pct": draw(_numbers),
        "bitrate_kbps": draw(_numbers),
    }
    names = draw(st.permutations(list(event)))
    if draw(st.integers(0, 9)) == 0:
        names = names[: draw(st.integers(0, len(names)))]  # fields missing
    spacing = draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\t")]))
    value = json.dumps({name: event[name] for name in names}, separators=spacing).encode()
    if draw(st.booleans()):
        value = b" \n" + value + b"\r\n "
    key = endpoint.encode() if draw(st.integers(0, 9)) else draw(st.sampled_from([b"other", b""]))
    return key, value


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(_heartbeats())
def test_what_the_fast_path_takes_the_contract_accepts_with_the_same_values(
    record: tuple[bytes, bytes],
) -> None:
    _agrees(*record)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(valid_events("vc.heartbeat"))
def test_generated_valid_heartbeats_agree(event: dict[str, Any]) -> None:
    _agrees(str(event["endpoint_id"]).encode(), encode(event))


def test_the_fast_path_takes_plain_heartbeats_of_every_shape_of_value() -> None:
    """It must not pass the tests above by leaving everything to the Python path."""
    taken = sum(_agrees(*_sample(seed)) for seed in range(300))
    assert taken == 300


def _sample(seed: int) -> tuple[bytes, bytes]:
    rnd = random.Random(seed)
    event = valid_event("vc.heartbeat", endpoint_id=f"TQ-{seed:04d}")
    event["rtt_ms"] = rnd.choice([0, 12, 250.5, 1e-9, 3e5])
    event["packet_loss_pct"] = rnd.choice([0, 0.5, 100, 99.9])
    event["occurred_at"] = (BASE_TIME + timedelta(microseconds=rnd.randrange(10**12))).isoformat()
    return event["endpoint_id"].encode(), encode(event)


def _with_rtt(token: bytes) -> bytes:
    """A plain heartbeat whose `rtt_ms` is written as `token`, byte for byte."""
    event = valid_event("vc.heartbeat", endpoint_id="E")
    event["rtt_ms"] = 999.0
    value = encode(event)
    assert value.count(b'"rtt_ms":999.0') == 1
    return value.replace(b'"rtt_ms":999.0', b'"rtt_ms":' + token)


@settings(max_examples=3000)
@given(
    st.integers(0, 10**17),
    st.text("0123456789", max_size=18),
    st.sampled_from([b"", b"e0", b"E-3", b"e+2"]),
)
def test_a_number_is_read_as_the_very_double_python_reads(whole: int, fraction: str, exponent: bytes) -> None:
    """Short decimals (most of the wire) are read natively, longer ones and exponents by
    Python's parser: either way the double is float()'s, to the last bit."""
    token = str(whole).encode() + (b"." + fraction.encode() if fraction else b"") + exponent
    fast = parse_heartbeat(b"E", _with_rtt(token))
    assert fast is not None, token
    assert fast[5].hex() == float(token).hex(), token


@pytest.mark.parametrize(
    "token",
    [
        b"0.1", b"0.3", b"130.6", b"2.675", b"999999999999999", b"0.000000000000001",
        b"9007199254740993", b"123456789012345.6", b"1.7976931348623157",
        b"0.1000000000000000055511151231257827",
    ],
)  # fmt: skip
def test_awkward_decimals_are_read_exactly(token: bytes) -> None:
    fast = parse_heartbeat(b"E", _with_rtt(token))
    assert fast is not None and fast[5].hex() == float(token).hex()


def test_minus_zero_is_read_as_python_reads_it() -> None:
    value = encode(valid_event("vc.heartbeat", endpoint_id="E"))
    event = orjson.loads(value)
    event["packet_loss_pct"] = 999
    raw = orjson.dumps(event).replace(b'"packet_loss_pct":999', b'"packet_loss_pct":-0.0')
    fast = parse_heartbeat(b"E", raw)
    assert fast is not None and str(fast[7]) == "-0.0"
    _agrees(b"E", raw)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.data())
def test_byte_level_mutations_agree(seed: int, draw: st.DataObject) -> None:
    """Flip, drop, insert and duplicate bytes of a valid heartbeat: whatever the fast path
    still takes, the contract accepts with the same values."""
    key, value = _sample(seed)
    raw = bytearray(value)
    for _ in range(draw.draw(st.integers(1, 3))):
        at = draw.draw(st.integers(0, len(raw) - 1))
        match draw.draw(st.sampled_from(["flip", "drop", "insert", "repeat"])):
            case "flip":
                raw[at] = draw.draw(st.integers(0, 255))
            case "drop":
                del raw[at]
            case "insert":
                raw.insert(at, draw.draw(st.sampled_from(b' "\\,:{}[]0123456789.eE+-tfnZT\x00\xff')))
            case "repeat":
                raw[at:at] = raw[max(0, at - 12) : at]
    _agrees(key, bytes(raw))


@pytest.mark.parametrize(
    "tail",
    [
        b',"event_id":"other"}',  # a duplicate key
        b',"x":1}',  # an unknown field
        b',"rtt_ms":1e400}',
        b',"endpoint_id":"E\\u0000"}',
        b',"type":"vc.status"}',
    ],
)
def test_awkward_records_are_left_to_the_python_path(tail: bytes) -> None:
    value = encode(valid_event("vc.heartbeat", endpoint_id="E"))[:-1] + tail
    assert parse_heartbeat(b"E", value) is None


def test_timestamps_outside_its_range_are_left_to_the_python_path() -> None:
    for stamp in (
        "0999-12-31T23:59:59Z",
        "9000-01-01T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "2024-02-29T24:00:00Z",
    ):
        value = encode(valid_event("vc.heartbeat", endpoint_id="E", occurred_at=stamp))
        assert parse_heartbeat(b"E", value) is None, stamp
    leap = encode(valid_event("vc.heartbeat", endpoint_id="E", occurred_at="2024-02-29T23:59:59.5-00:30"))
    assert _agrees(b"E", leap)


# --- whole batches: the fast path against the Python path alone ------------------------------


def _slow(value: bytes) -> bytes:
    """The same event with an unknown field, which only the Python path takes."""
    return value[:-1] + b',"x-ignored":1}'


def _batch_records(seed: int) -> list[Rec]:
    """A partition's records: heartbeats and statuses of a few endpoints, with re-sends,
    late and future events, exact boundary times, bad records, and ties between a heartbeat
    and a status of one endpoint."""
    rnd = random.Random(seed)
    out: list[Rec] = []
    sent: list[tuple[bytes, bytes]] = []
    for offset in range(400):
        roll = rnd.random()
        if sent and roll < 0.1 and offset not in (100, 200):
            key, value = rnd.choice(sent)  # a re-send
        elif roll < 0.12 and offset not in (100, 200):
            key, value = b"TQ-1", b'{"type":"vc.heartbeat"}'
        else:
            kind = "vc.status" if roll < 0.2 else "vc.heartbeat"
            minutes = rnd.choice([0, 1, 2, 30, -119, -121, 6]) if roll < 0.3 else rnd.randrange(0, 20)
            at = NOW + timedelta(minutes=minutes - 20, seconds=rnd.choice([0, 0, 10, 59.999]))
            if roll < 0.25:
                at = NOW + timedelta(minutes=5)  # exactly at the future limit
            at = {100: NOW + timedelta(minutes=6), 200: NOW - timedelta(hours=3)}.get(offset, at)
            endpoint = f"TQ-{rnd.randrange(4)}"
            event = valid_event(
                kind,
                endpoint_id=endpoint,
                district=rnd.choice(["YEN_SON", "HAM_YEN"]),
                occurred_at=at.astimezone(timezone(timedelta(hours=7))).isoformat(),
            )
            if kind == "vc.heartbeat":
                event["rtt_ms"] = rnd.choice([0, 0.1, 12.5, 250, 1e-12])
                event["jitter_ms"] = rnd.random() * 30
                event["packet_loss_pct"] = rnd.random() * 5
            key, value = endpoint.encode(), encode(event)
            sent.append((key, value))
        out.append(Rec(TOPIC, 0, offset, key, value))
    return out


NOW = BASE_TIME + timedelta(hours=3)


def _judge(recs: list[Rec], slice_: int) -> tuple[BatchResult, PartitionState, dict[str, Any]]:
    state = PartitionState(TOPIC, 0)
    states = {(TOPIC, 0): state}
    result = BatchResult()
    for i in range(0, len(recs), slice_):
        admit(
            recs[i : i + slice_],
            states,
            now=NOW,
            grace=timedelta(hours=2),
            future_tolerance=timedelta(minutes=5),
            into=result,
        )
    fx = batch_effects(result.events, fast_sums=result.heartbeats)
    rows = {
        "sums": dict(fx.sums),
        "sketches": dict(fx.sketches),
        "presence": fx.parts.get("vc.presence"),
        "entities": fx.entities,
    }
    return result, state, rows


@pytest.mark.parametrize("seed", range(12))
def test_a_batch_comes_out_the_same_with_and_without_the_fast_path(seed: int) -> None:
    recs = _batch_records(seed)
    slow_recs = [
        Rec(r.topic, r.partition, r.offset, r.key, _slow(r.value) if r.value.endswith(b"}") else r.value)
        for r in recs
    ]
    fast, fast_state, fast_rows = _judge(recs, slice_=250)
    slow, slow_state, slow_rows = _judge(slow_recs, slice_=1)
    assert fast.outcomes == slow.outcomes
    assert fast.outcomes[(TOPIC, "accepted")] > 100
    assert {(TOPIC, "late"), (TOPIC, "future"), (TOPIC, "duplicate")} <= set(fast.outcomes)
    assert [orjson.loads(v)["reason"] for _, v in fast.deadletters] == [
        orjson.loads(v)["reason"] for _, v in slow.deadletters
    ]
    assert fast.fingerprints == slow.fingerprints
    assert (fast_state.next_offset, fast_state.newest_event_at) == (
        slow_state.next_offset,
        slow_state.newest_event_at,
    )
    assert fast_rows == slow_rows


def test_of_a_heartbeat_and_a_status_at_the_same_time_the_later_arrival_wins() -> None:
    at = NOW.isoformat()
    beat = valid_event("vc.heartbeat", endpoint_id="TQ-1", occurred_at=at)
    down = valid_event("vc.status", endpoint_id="TQ-1", occurred_at=at, status="offline")
    for order, offline in (((beat, down), True), ((down, beat), False)):
        recs = [Rec(TOPIC, 0, i, b"TQ-1", encode(e)) for i, e in enumerate(order)]
        _, _, rows = _judge(recs, slice_=250)
        assert rows["entities"]["vc_endpoints"]["TQ-1"]["last_offline"] is offline


def test_heartbeat_sums_are_the_plain_arithmetic_of_their_events() -> None:
    """The sums both paths share, against a plain count: per minute and dimensions, the minutes
    of each hour an endpoint was present in, and its latest state."""
    rnd = random.Random(7)
    events = [
        valid_event(
            "vc.heartbeat",
            endpoint_id=f"TQ-{rnd.randrange(3)}",
            district=rnd.choice(["YEN_SON", "HAM_YEN"]),
            occurred_at=(NOW - timedelta(seconds=rnd.randrange(6000))).isoformat(),  # within the grace
            rtt_ms=rnd.choice([0, 10.0, 200.0]),
            jitter_ms=float(rnd.randrange(5)),
            packet_loss_pct=float(rnd.randrange(3)),
        )
        for _ in range(300)
    ]
    result, _, _ = _judge(
        [Rec(TOPIC, 0, i, str(e["endpoint_id"]).encode(), encode(e)) for i, e in enumerate(events)], 250
    )
    decoded = [decode(TOPIC, str(e["endpoint_id"]).encode(), encode(e)) for e in events]
    sums = result.heartbeats
    for (minute, district, level), acc in sums.minutes.items():
        mine = [
            e
            for e in decoded
            if isinstance(e, VcHeartbeat)
            and micros(e.occurred_at) // 60_000_000 == minute
            and (e.district, e.site_level) == (district, level)
        ]
        assert acc.count == len(mine) and acc.jitter == sum(e.jitter_ms for e in mine)
        assert sum(acc.rtt_bins.values()) == len(mine)
    assert sum(acc.count for acc in sums.minutes.values()) == len(events)
    for (endpoint, hour), (_, _, bits) in sums.presence.items():
        minutes = {
            micros(e.occurred_at) // 60_000_000 - hour * 60
            for e in decoded
            if isinstance(e, VcHeartbeat)
            and e.endpoint_id == endpoint
            and micros(e.occurred_at) // 3_600_000_000 == hour
        }
        assert bits == sum(1 << m for m in minutes)
    assert max(bits for _, _, bits in sums.presence.values()) >= 1 << 59  # minutes past 31 too
    for endpoint, (_, _, at_us, offline, _) in sums.latest.items():
        assert at_us == max(
            micros(e.occurred_at) for e in decoded if isinstance(e, VcHeartbeat) and e.endpoint_id == endpoint
        )
        assert offline is False


def _outcomes(recs: list[Rec], grace: timedelta = timedelta(hours=2)) -> dict[tuple[str, str], int]:
    state = {(TOPIC, 0): PartitionState(TOPIC, 0)}
    return dict(admit(recs, state, now=NOW, grace=grace, future_tolerance=timedelta(minutes=5)).outcomes)


def test_an_oversized_heartbeat_is_left_to_the_python_path_and_rejected() -> None:
    """Found in review: a valid heartbeat padded past 64 KiB was accepted natively."""
    value = encode(valid_event("vc.heartbeat", endpoint_id="E"))[:-1] + b" " * 70_000 + b"}"
    assert parse_heartbeat(b"E", value) is None
    assert _outcomes([Rec(TOPIC, 0, 0, b"E", value)]) == {(TOPIC, "oversized"): 1}


def test_the_newest_time_is_compared_exactly_far_from_1970() -> None:
    """Found in review: in the year 1500 a float cannot tell adjacent microseconds apart, so the
    Python path once kept an older newest time than the native path."""
    stamps = ["1500-01-01T00:00:00.000001Z", "1500-01-01T00:00:00.000002Z", "1499-12-31T22:00:00.000001Z"]
    events = [valid_event("vc.heartbeat", endpoint_id="E", occurred_at=s) for s in stamps]
    fast = [Rec(TOPIC, 0, i, b"E", encode(e)) for i, e in enumerate(events)]
    slow = [Rec(TOPIC, 0, i, b"E", _slow(encode(e))) for i, e in enumerate(events)]
    assert _outcomes(fast) == _outcomes(slow) == {(TOPIC, "accepted"): 2, (TOPIC, "late"): 1}


def test_a_grace_period_beyond_the_native_range_means_nothing_is_late() -> None:
    """Found in review: IOC_GRACE_PERIOD_S=1e13 overflowed the native path's int64."""
    old = valid_event("vc.heartbeat", endpoint_id="E", occurred_at="1900-01-01T00:00:00Z")
    new = valid_event("vc.heartbeat", endpoint_id="E", occurred_at=NOW.isoformat())
    recs = [Rec(TOPIC, 0, i, b"E", encode(e)) for i, e in enumerate((new, old))]
    assert _outcomes(recs, grace=timedelta(seconds=1e13)) == {(TOPIC, "accepted"): 2}
