"""The worker's batch path (streams/judge.py) searches each partition's duplicate memory once
per batch, for all its slices together: it must judge exactly as record-by-record admission.

Batches of two partitions, with re-sends from earlier batches (by then in the memory's sorted
runs, past its set's size) and within a batch across its slices, go through `judge` and,
on a copy of the same state, through `admit` one record at a time.
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any, NoReturn

import numpy as np

from streams.admit import BatchResult, PartitionState, RawRecord, admit
from streams.dedupe import RECENT_MAX, fingerprint
from streams.judge import SLICE, judge
from tests.factories import BASE_TIME, Rec, encode, valid_event

TOPIC = "ioc.vc.telemetry"
NOW = BASE_TIME + timedelta(hours=3)
HOUR = int(NOW.timestamp()) // 3600
GRACE, FUTURE = timedelta(hours=2), timedelta(minutes=5)


def _batches(seed: int, count: int, size: int) -> tuple[list[list[Rec]], list[str]]:
    """`count` batches of runs of both partitions; each record a new heartbeat or a re-send of
    an earlier one (of any batch, or held before the first: the second return value)."""
    rnd = random.Random(seed)
    held_before = [f"old-{seed}-{i}" for i in range(2_000)]
    sent: list[tuple[int, bytes, bytes]] = []
    batches: list[list[Rec]] = []
    offsets = [0, 0]
    serial = 0
    for _ in range(count):
        batch: list[Rec] = []
        while len(batch) < size:
            partition = rnd.randrange(2)
            for _ in range(rnd.randrange(1, 2 * SLICE)):
                roll = rnd.random()
                if roll < 0.05:
                    event_id = rnd.choice(held_before)
                elif sent and roll < 0.15:
                    went, key, value = rnd.choice(sent)  # a re-send goes where it went
                    batch.append(Rec(TOPIC, went, offsets[went], key, value))
                    offsets[went] += 1
                    continue
                else:
                    serial += 1
                    event_id = f"new-{seed}-{serial}"
                endpoint = f"TQ-{rnd.randrange(50):04d}"
                at = NOW - timedelta(minutes=rnd.randrange(60), seconds=rnd.randrange(60))
                event = valid_event(
                    "vc.heartbeat", endpoint_id=endpoint, event_id=event_id, occurred_at=at.isoformat()
                )
                key, value = endpoint.encode(), encode(event)
                sent.append((partition, key, value))
                batch.append(Rec(TOPIC, partition, offsets[partition], key, value))
                offsets[partition] += 1
        batches.append(batch)
    return batches, held_before


def _states(held_before: list[str]) -> dict[tuple[str, int], PartitionState]:
    states = {(TOPIC, p): PartitionState(TOPIC, p) for p in (0, 1)}
    for state in states.values():
        state.seen.remember(np.array([fingerprint(i) for i in held_before], dtype=np.int64), hour=HOUR)
    return states


async def _no_db(_step: Any) -> NoReturn:
    raise AssertionError("no hour is sealed: the database is never asked")


async def _settled() -> None:
    return None


def _summary(result: BatchResult) -> tuple[Any, ...]:
    return (
        dict(result.outcomes),
        {tp: list(fps) for tp, fps in result.fingerprints.items()},
        [(p.topic, p.partition, p.next_offset, p.newest_event_at) for p in result.positions],
    )


def test_a_batch_searched_once_is_judged_as_record_by_record() -> None:
    batches, held_before = _batches(seed=5, count=16, size=3_000)
    assert sum(map(len, batches)) > 2.5 * RECENT_MAX  # so earlier batches' ids move into sorted runs
    by_batch, by_record = _states(held_before), _states(held_before)
    duplicates = 0
    for batch in batches:
        records: list[RawRecord] = list(batch)
        judging = judge(
            records, by_batch, now=NOW, grace=GRACE, future_tolerance=FUTURE, with_db=_no_db, settle=_settled
        )
        judged = asyncio.run(judging)
        one_by_one = BatchResult()
        for rec in batch:
            admit([rec], by_record, now=NOW, grace=GRACE, future_tolerance=FUTURE, into=one_by_one)
        assert _summary(judged) == _summary(one_by_one)
        duplicates += judged.outcomes[(TOPIC, "duplicate")]
    assert duplicates > 0.1 * sum(map(len, batches))
    # the earlier batches' ids had left the set for the sorted runs the batch search reads
    assert all(len(s.seen) - len(s.seen.recent) > len(held_before) for s in by_batch.values())
