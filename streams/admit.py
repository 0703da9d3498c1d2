"""What one consumed batch means, decided without I/O.

Given raw records and each partition's state, `admit` sorts every record into accepted,
duplicate or dead-lettered (with the contract's reason), and returns everything the sink must
store in one transaction and the dead-letter producer must send. Keeping this pure makes the
contract's rules testable data-in, data-out.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt

from ioc.clock import from_micros, micros
from ioc.sources import FastPath
from schemas.decode import Rejection, judge_time
from schemas.records import RawRecord
from schemas.wire import Event
from sources import SOURCES, decode
from streams.deadletters import deadletter_value, unstorable
from streams.dedupe import DedupeMemory, fingerprint

__all__ = [
    "BatchResult", "PartitionState", "Position", "RawRecord", "Scanned", "admit", "batch_ids",
    "deadletter_value", "held_before", "scan", "suspects",
]  # fmt: skip


def _fast_path() -> FastPath:
    fast = SOURCES.fast_path
    if fast is None:  # the scan also fingerprints every record and cuts the runs admit walks
        raise RuntimeError("the ingest needs one source with a native fast path (sources/vc)")
    return fast


_FAST: Final[FastPath] = _fast_path()
"""The native path of the one source that has one (the video-conference heartbeats)."""


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

    # accepted events, in the order consumed, except those the fast path sums as they are
    # accepted, into `heartbeats` (the fast path's source reads both: sources/vc/arithmetic.py)
    events: list[Event] = field(default_factory=list)
    heartbeats: Any = field(default_factory=_FAST.new_sums)
    # fingerprints of the accepted events, per partition (their duplicate memory's new entries)
    fingerprints: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    deadletters: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    # the rejected records' (topic, partition, offset), in the order of `deadletters`: their
    # ids, stored with the batch (streams/outbox.py)
    deadletter_ids: list[tuple[str, int, int]] = field(default_factory=list)
    # where a send of these dead letters can be found in their topic (Outbox.bounds), stored too
    deadletter_from: list[int] = field(default_factory=list)
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


_FLOAT_MARGIN_S: Final = 0.001
_NEVER: Final = float("-inf")
_MAX_GRACE_US: Final = 2**62  # the native path's int64 arithmetic; any longer grace is forever


def admit(
    records: Iterable[RawRecord],
    states: dict[tuple[str, int], PartitionState],
    *,
    now: datetime,
    grace: timedelta,
    future_tolerance: timedelta,
    into: BatchResult | None = None,
    scanned: Scanned | None = None,
    held: Mapping[tuple[str, int], set[int]] | None = None,
) -> BatchResult:
    """Judge each record in order; updates `states` (offsets, newest time, duplicate memory).

    With `into`, the records are added to that batch (a batch judged in slices, so the worker's
    event loop can send and receive between them) and it is returned.

    `scanned` is `scan(records)` when the caller has it already, and `held` what `held_before`
    found for the whole batch, with the ids of each partition's `suspects` that the database
    holds (streams/dedupe_store.py): a suspect not in it is new. Without them, the records are
    scanned and searched here, and no suspect is held.

    Canonical heartbeats, nearly all the volume, are scanned, checked and summed by the native
    fast path (a source's, here sources/vc/fastpath.pyx) in runs; it stops at any record it cannot settle
    alone, which is judged here, one at a time, by `schemas.decode` and `judge_time`.
    """
    result = BatchResult() if into is None else into
    records = records if isinstance(records, list) else list(records)
    scan, decoded = scanned if scanned is not None else _scanned(records)
    fps = scan.fingerprints
    call = _Call(result, states, now, grace, future_tolerance, fps, held or {})
    for start, stop in scan.runs:
        run = call.run(records[start])
        i = start
        while i < stop:
            before = run.newest_us
            i, accepted, duplicates, run.newest_us, has_newest = _FAST.judge_run(
                scan,
                i,
                stop,
                run.seen,
                run.old,
                run.fingerprints,
                result.heartbeats,
                2 * len(result.events),  # the arrival order among the batch's events
                run.newest_us,
                run.has_newest,
                call.future_us,
                call.grace_us,
            )
            run.accepted += accepted
            run.duplicates += duplicates
            if has_newest and (run.newest_us != before or not run.has_newest):
                run.newest_moved_to(run.newest_us)
            if i < stop:
                # One the native path left: refused by the scan (decoded already), or scanned
                # but near a time limit (decoded now, for the exact rule and its wording).
                rec = records[i]
                event = decoded[i] if i in decoded else decode(rec.topic, rec.key, rec.value)
                run.judge(rec, event, int(fps[i]))
                i += 1
        run.end(records[stop - 1].offset + 1)
    result.positions = [
        Position(t, p, s.next_offset, s.newest_event_at, s.high_watermark)
        for t, p in sorted(result.touched)
        for s in (states[(t, p)],)
    ]
    return result


Scanned: TypeAlias = tuple[Any, dict[int, Event | Rejection]]
"""The native scan of some records (fingerprints, runs) and those it left, decoded."""


def scan(records: list[RawRecord]) -> Scanned:
    """The records' fingerprints, before judging: the worker asks the database about the
    partitions' `suspects` among them, then judges with the answer (`admit`)."""
    return _scanned(records)


_Tp: TypeAlias = tuple[str, int]


def batch_ids(
    slices: list[list[RawRecord]], scans: list[Scanned], states: Mapping[_Tp, PartitionState]
) -> dict[_Tp, npt.NDArray[np.int64]]:
    """The fingerprints of `slices` (each scanned: `scans`) per owned partition, gathered once
    for the batch's searches (`suspects`, `held_before`). The scan's runs (records of one
    partition in a row) group them, so no record is visited one by one."""
    by_tp: dict[_Tp, list[npt.NDArray[np.int64]]] = {}
    for records, (scan, _) in zip(slices, scans, strict=True):
        fps = scan.fingerprints
        for start, stop in scan.runs:
            first = records[start]
            tp = (first.topic, first.partition)
            if tp in states:
                by_tp.setdefault(tp, []).append(fps[start:stop])
    return {tp: np.concatenate(parts) for tp, parts in by_tp.items()}


def suspects(
    ids: Mapping[_Tp, npt.NDArray[np.int64]], states: Mapping[_Tp, PartitionState]
) -> dict[_Tp, list[int]]:
    """Per partition, those of its `ids` (`batch_ids`) perhaps held in one of its sealed hours
    (streams/dedupe.py): to be confirmed by the database."""
    out = {}
    for tp, fps in ids.items():
        seen = states[tp].seen
        if seen.has_sealed and (found := seen.suspects(fps)):
            out[tp] = found
    return out


def held_before(
    ids: Mapping[_Tp, npt.NDArray[np.int64]],
    states: Mapping[_Tp, PartitionState],
    *,
    hour: int,
    confirmed: Mapping[_Tp, set[int]],
) -> dict[_Tp, set[int]]:
    """Per partition, those of its `ids` (`batch_ids`) its duplicate memory held before the
    batch: found in its exact hours, or `confirmed` by the database among its `suspects`.
    Searched once for a whole batch rather than once per `admit` call: the same answer, since
    ids accepted meanwhile go to the memory's set, which `admit` asks itself."""
    out = {}
    for tp, fps in ids.items():
        seen = states[tp].seen
        seen.start_hour(hour)
        out[tp] = seen.held_among(fps) | confirmed.get(tp, set())
    return out


def _scanned(records: list[RawRecord]) -> Scanned:
    """The native scan of the records, and the others decoded, their fingerprints filled in.

    Done for the whole call before judging, so that each partition's ids of earlier hours
    (sorted arrays, streams/dedupe.py) are searched once, not once per event.
    """
    scan = _FAST.scan(records)
    fps = scan.fingerprints
    decoded: dict[int, Event | Rejection] = {}
    for i in scan.fallbacks:
        rec = records[i]
        decoded[i] = d = decode(rec.topic, rec.key, rec.value)
        if not isinstance(d, Rejection):
            fps[i] = fingerprint(d.event_id)
    return scan, decoded


class _Call:
    """What one `admit` call shares across its partitions' runs."""

    def __init__(
        self,
        result: BatchResult,
        states: dict[tuple[str, int], PartitionState],
        now: datetime,
        grace: timedelta,
        future_tolerance: timedelta,
        fps: npt.NDArray[np.int64],
        held: Mapping[tuple[str, int], set[int]],
    ) -> None:
        self.result, self.states = result, states
        self.now, self.grace, self.future_tolerance = now, grace, future_tolerance
        self.hour = int(now.timestamp()) // 3600
        # The Python path prefilters the time rules on float unix times (cheap to compare,
        # unlike aware datetimes), widened by a millisecond so that rounding can only send an
        # event to the exact rule (judge_time), never past it. The native path settles only
        # events at least that millisecond inside the limits too, and leaves the rest to it.
        self.future_ts = (now + future_tolerance).timestamp() - _FLOAT_MARGIN_S
        self.future_us = micros(now + future_tolerance)
        self.grace_s = grace.total_seconds()
        self.grace_us = min(grace // timedelta(microseconds=1), _MAX_GRACE_US)
        self.fps = fps
        # per partition, the ids held before: given for the batch, or searched once per call
        self.olds: dict[tuple[str, int], set[int]] = dict(held)

    def run(self, first: RawRecord) -> _Run:
        tp = (first.topic, first.partition)
        state = self.states[tp]
        state.seen.start_hour(self.hour)  # so that adding to the set is all an accepted id needs
        old = self.olds.get(tp)
        if old is None:
            old = self.olds[tp] = state.seen.held_among(self.fps)
        self.result.touched.add(tp)
        return _Run(self, tp, state, old)


class _Run:
    """One partition's consecutive records in an `admit` call."""

    __slots__ = (
        "accepted", "call", "duplicates", "fingerprints", "has_newest", "late_ts", "newest_ts",
        "newest_us", "old", "seen", "state", "tp",
    )  # fmt: skip

    def __init__(self, call: _Call, tp: tuple[str, int], state: PartitionState, old: set[int]) -> None:
        self.call, self.tp, self.state = call, tp, state
        self.seen = state.seen.recent
        self.old = old
        self.fingerprints = call.result.fingerprints.setdefault(tp, [])
        self.accepted = self.duplicates = 0
        # The partition's newest accepted time in three forms: exact microseconds (which one is
        # newer), the datetime of its state, and a float for the Python path's prefilter.
        newest = state.newest_event_at
        self.has_newest = newest is not None
        self.newest_us = micros(newest) if newest is not None else 0
        self.newest_ts = newest.timestamp() if newest is not None else _NEVER
        self.late_ts = self.newest_ts - call.grace_s + _FLOAT_MARGIN_S

    def newest_moved_to(self, us: int, at: datetime | None = None) -> None:
        self.has_newest = True
        self.newest_us = us
        self.state.newest_event_at = at = at if at is not None else from_micros(us)
        self.newest_ts = at.timestamp()
        self.late_ts = self.newest_ts - self.call.grace_s + _FLOAT_MARGIN_S

    def judge(self, rec: RawRecord, decoded: Event | Rejection, fp: int) -> None:
        """One record the native path left: the contract's rules in full, in its order."""
        call, result = self.call, self.call.result
        if isinstance(decoded, Rejection):
            _reject(result, rec, decoded, call.now)
            return
        event = decoded
        # Escapes can spell a NUL, and those years can overflow in UTC: checked only then.
        if (
            (raw := rec.value)
            and (b"\\u" in raw or b"0001-" in raw or b"9999-" in raw)
            and (refusal := unstorable(event))
        ):
            _reject(result, rec, refusal, call.now)
            return
        if fp in self.seen or fp in self.old:
            self.duplicates += 1
            return
        at = event.occurred_at
        t = at.timestamp()
        if (t > call.future_ts or t < self.late_ts) and (
            verdict := judge_time(
                at,
                now=call.now,
                newest_on_partition=self.state.newest_event_at,
                grace=call.grace,
                future_tolerance=call.future_tolerance,
            )
        ):
            _reject(result, rec, verdict, call.now)
            return
        self.seen.add(fp)
        self.fingerprints.append(fp)
        us = micros(at)
        if not self.has_newest or us > self.newest_us:
            self.newest_moved_to(us, at)
        # a fast-path event is summed with the native path's, in arrival order
        if not _FAST.add(result.heartbeats, event, 2 * len(result.events)):
            result.events.append(event)
        self.accepted += 1

    def end(self, next_offset: int) -> None:
        self.state.next_offset = next_offset
        _tally(self.call.result.outcomes, self.tp[0], self.accepted, self.duplicates)


def _tally(outcomes: Counter[tuple[str, str]], topic: str, accepted: int, duplicates: int) -> None:
    if accepted:
        outcomes[(topic, "accepted")] += accepted
    if duplicates:
        outcomes[(topic, "duplicate")] += duplicates


def _reject(result: BatchResult, rec: RawRecord, rejection: Rejection, now: datetime) -> None:
    result.deadletters.append((rec.key, deadletter_value(rec, rejection, now)))
    result.deadletter_ids.append((rec.topic, rec.partition, rec.offset))
    result.outcomes[(rec.topic, str(rejection.reason))] += 1
