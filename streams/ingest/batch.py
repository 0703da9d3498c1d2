"""What one consumed batch means, decided without I/O.

Given raw records and each partition's state, `admit` sorts every record into accepted,
duplicate or dead-lettered (with the contract's reason), and returns everything the sink must
store in one transaction and the dead-letter producer must send. Keeping this pure makes the
contract's rules testable data-in, data-out.
"""

from __future__ import annotations

import base64
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

import orjson

from schemas.decode import Reason, Rejection, decode, judge_time
from schemas.wire import Event, field_names
from streams.ingest.dedupe import DedupeMemory, fingerprint


class RawRecord(Protocol):
    """The fields of a consumed Kafka record we use (aiokafka's ConsumerRecord has them)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


@dataclass(slots=True)
class PartitionState:
    """What the worker knows of one partition it owns, restored from the database on assignment."""

    topic: str
    partition: int
    next_offset: int = 0
    newest_event_at: datetime | None = None
    high_watermark: int | None = None  # from the last fetch response, for lag
    seen: DedupeMemory = field(default_factory=DedupeMemory)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a partition stands after a batch: stored with the batch's effects."""

    topic: str
    partition: int
    next_offset: int
    newest_event_at: datetime | None
    high_watermark: int | None


@dataclass(slots=True)
class BatchResult:
    """Everything a batch changes, to be stored atomically."""

    events: list[Event] = field(default_factory=list)  # accepted, in the order consumed
    # fingerprints of the accepted events, per partition (their duplicate memory's new entries)
    fingerprints: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    deadletters: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    # (topic, outcome) -> records; outcome is "accepted", "duplicate" or a rejection reason
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    touched: set[tuple[str, int]] = field(default_factory=set)
    # the touched partitions' positions after this batch, stored with it: the worker judges
    # the next batch (moving `states` on) while this one is written
    positions: list[Position] = field(default_factory=list)
    # stored with the positions, so a retried write can tell whether an attempt committed
    token: int = field(default_factory=lambda: secrets.randbits(63))

    @property
    def size(self) -> int:
        return sum(self.outcomes.values())


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


_FLOAT_MARGIN_S: Final = 0.001
_NEVER: Final = float("-inf")


def admit(
    records: Iterable[RawRecord],
    states: dict[tuple[str, int], PartitionState],
    *,
    now: datetime,
    grace: timedelta,
    future_tolerance: timedelta,
    into: BatchResult | None = None,
) -> BatchResult:
    """Judge each record in order; updates `states` (offsets, newest time, duplicate memory).

    With `into`, the records are added to that batch (a batch judged in slices, so the worker's
    event loop can send and receive between them) and it is returned.

    This runs for every event, so the common case (valid, new, on time) is kept to a few
    comparisons: the time limits are precomputed, per-partition lookups happen when the
    partition changes (a fetched batch comes partition by partition), and `judge_time` is
    called only to word a rejection.
    """
    result = BatchResult() if into is None else into
    hour = int(now.timestamp()) // 3600
    # The time rules are prefiltered on float unix times (cheap to compare, unlike aware
    # datetimes), widened by a millisecond so that rounding can only send an event to the
    # exact rule (judge_time), never past it.
    future_ts = (now + future_tolerance).timestamp() - _FLOAT_MARGIN_S
    grace_s = grace.total_seconds()
    records, decoded, fps = _decoded(records)
    tp: tuple[str, int] | None = None
    state = PartitionState("", -1)
    seen: set[int] = set()
    old: set[int] = set()
    olds: dict[tuple[str, int], set[int]] = {}  # per partition: searched once per call
    fingerprints: list[int] = []
    newest_ts = late_ts = _NEVER
    accepted = duplicates = 0
    for rec, decoded_, fp in zip(records, decoded, fps, strict=True):
        if tp is None or rec.partition != tp[1] or rec.topic != tp[0]:
            if tp is not None:
                _tally(result.outcomes, tp[0], accepted, duplicates)
            accepted = duplicates = 0
            tp = (rec.topic, rec.partition)
            state = states[tp]
            seen, old = _memory(state, hour, fps, olds, tp)
            result.touched.add(tp)
            fingerprints = result.fingerprints.setdefault(tp, [])
            newest_ts = state.newest_event_at.timestamp() if state.newest_event_at is not None else _NEVER
            late_ts = newest_ts - grace_s + _FLOAT_MARGIN_S
        state.next_offset = rec.offset + 1
        if isinstance(decoded_, Rejection):
            _reject(result, rec, decoded_, now)
            continue
        event = decoded_
        # Escapes can spell a NUL, and those years can overflow in UTC: checked only then.
        if (
            (raw := rec.value)
            and (b"\\u" in raw or b"0001-" in raw or b"9999-" in raw)
            and (unstorable := _unstorable(event))
        ):
            _reject(result, rec, unstorable, now)
            continue
        if fp in seen or fp in old:
            duplicates += 1
            continue
        at = event.occurred_at
        t = at.timestamp()
        if (t > future_ts or t < late_ts) and (
            verdict := judge_time(
                at,
                now=now,
                newest_on_partition=state.newest_event_at,
                grace=grace,
                future_tolerance=future_tolerance,
            )
        ):
            _reject(result, rec, verdict, now)
            continue
        seen.add(fp)
        fingerprints.append(fp)
        if t > newest_ts:
            state.newest_event_at = at
            newest_ts = t
            late_ts = t - grace_s + _FLOAT_MARGIN_S
        result.events.append(event)
        accepted += 1
    _finish(result, states, tp, accepted, duplicates)
    return result


def _decoded(
    records: Iterable[RawRecord],
) -> tuple[list[RawRecord], list[Event | Rejection], list[int]]:
    """The records, each decoded, and the fingerprint of each event (0 for a rejection).

    Done for the whole call before judging, so that each partition's ids of earlier hours
    (sorted arrays, streams/ingest/dedupe.py) are searched once, not once per event.
    """
    records = records if isinstance(records, list) else list(records)
    decoded = [decode(rec.topic, rec.key, rec.value) for rec in records]
    return records, decoded, [0 if isinstance(d, Rejection) else fingerprint(d.event_id) for d in decoded]


def _memory(
    state: PartitionState,
    hour: int,
    fps: list[int],
    olds: dict[tuple[str, int], set[int]],
    tp: tuple[str, int],
) -> tuple[set[int], set[int]]:
    """The partition's ids of the current hour (a set the caller adds accepted ids to), and
    those of `fps` it holds from earlier hours: searched once per partition and call (`olds`),
    however often the records switch partitions."""
    state.seen.start_hour(hour)  # so that adding to the set is all an accepted id needs
    old = olds.get(tp)
    if old is None:
        old = olds[tp] = state.seen.sealed_among(fps)
    return state.seen.recent, old


def _finish(
    result: BatchResult,
    states: dict[tuple[str, int], PartitionState],
    tp: tuple[str, int] | None,
    accepted: int,
    duplicates: int,
) -> None:
    """Count the last partition's run and note where every touched partition now stands."""
    if tp is not None:
        _tally(result.outcomes, tp[0], accepted, duplicates)
    result.positions = [
        Position(t, p, s.next_offset, s.newest_event_at, s.high_watermark)
        for t, p in sorted(result.touched)
        for s in (states[(t, p)],)
    ]


def _tally(outcomes: Counter[tuple[str, str]], topic: str, accepted: int, duplicates: int) -> None:
    if accepted:
        outcomes[(topic, "accepted")] += accepted
    if duplicates:
        outcomes[(topic, "duplicate")] += duplicates


def _unstorable(event: Event) -> Rejection | None:
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


def _reject(result: BatchResult, rec: RawRecord, rejection: Rejection, now: datetime) -> None:
    result.deadletters.append((rec.key, deadletter_value(rec, rejection, now)))
    result.outcomes[(rec.topic, str(rejection.reason))] += 1
