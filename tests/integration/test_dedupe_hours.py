"""The duplicate memory across hours, against the real database: sealed hours are held compact
and confirmed there, so a re-sent event stays a duplicate for a day and a new one is never
dropped; a seal that fails half-way leaves the hour as it was (streams/dedupe_store.py).

The worker's own batch path is run (streams/judge.py, then the sink), with a clock the test
moves across hours.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import numpy as np
import pytest

from streams import dedupe_store, sink
from streams.admit import BatchResult, PartitionState
from streams.dedupe import fingerprint
from streams.dedupe_store import SEALED
from streams.judge import judge
from tests.factories import Rec, encode, key_of, topic_of, valid_event

pytestmark = pytest.mark.integration

START = datetime(2025, 3, 3, 3, 10, tzinfo=UTC)
TOPIC = topic_of("vc.heartbeat")
TP = (TOPIC, 0)


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(database_url)
    yield c
    await c.close()


class Worker:
    """One partition's owner: judges and stores batches as streams/consume.py does."""

    def __init__(self, conn: Any, states: dict[tuple[str, int], PartitionState]) -> None:
        self.conn, self.states, self.offset = conn, states, 0

    async def with_db(self, work: Callable[[Any], Awaitable[Any]]) -> Any:
        return await work(self.conn)

    async def settle(self) -> None:  # batches are stored before `send` returns
        return None

    async def send(self, events: list[dict[str, Any]], now: datetime) -> BatchResult:
        records = []
        for event in events:
            records.append(Rec(TOPIC, 0, self.offset, key_of(event), encode(event)))
            self.offset += 1
        result = await judge(
            records,  # type: ignore[arg-type]
            self.states,
            now=now,
            grace=timedelta(hours=30),  # re-sends of a day ago are judged as duplicates, not late
            future_tolerance=timedelta(minutes=5),
            with_db=self.with_db,
            settle=self.settle,
        )
        hour = int(now.timestamp()) // 3600
        await sink.store_batch(self.conn, group="g", result=result, arrival_minute=now, hour=hour)
        return result


async def taken_over(conn: Any, now: datetime) -> Worker:
    since = int(now.timestamp()) // 3600 - 25
    state = await sink.load_partition(conn, group="g", topic=TOPIC, partition=0, since_hour=since)
    return Worker(conn, {TP: state})


def heartbeats(n: int, at: datetime) -> list[dict[str, Any]]:
    return [valid_event("vc.heartbeat", occurred_at=at) for _ in range(n)]


def outcome(result: BatchResult, what: str) -> int:
    return result.outcomes[(TOPIC, what)]


async def test_re_sends_stay_duplicates_across_sealed_hours_and_a_takeover(conn: asyncpg.Connection) -> None:
    worker = Worker(conn, {TP: PartitionState(TOPIC, 0)})
    sent: list[dict[str, Any]] = []
    memory = worker.states[TP].seen
    for h in range(4):
        now = START + timedelta(hours=h)
        fresh = heartbeats(1500, now - timedelta(minutes=1))
        result = await worker.send(fresh + sent[::7], now)
        assert outcome(result, "accepted") == len(fresh), "a new event was dropped as a duplicate"
        assert outcome(result, "duplicate") == len(sent[::7])
        sent += fresh
        assert sorted(memory.sealed_hours) == [START.timestamp() // 3600 + i for i in range(h)]
    # New ids that the compact memory takes for held ones: the database says no, they count.
    now = START + timedelta(hours=3, minutes=30)
    lookalikes = [e for e in heartbeats(60_000, now) if memory.suspects([fingerprint(e["event_id"])])][:5]
    assert lookalikes
    assert outcome(await worker.send(lookalikes, now), "accepted") == len(lookalikes)
    sent += lookalikes
    hours = await conn.fetch("SELECT DISTINCT accepted_hour FROM accepted_fingerprints ORDER BY 1")
    assert [r[0] for r in hours] == [START.timestamp() // 3600 + 3]  # only the current hour by batch
    sealed = await conn.fetchval(f"SELECT sum(octet_length(packed)) / 8 FROM {SEALED}")
    assert sealed == 3 * 1500
    assert memory.nbytes < 8 * len(memory)  # sealed hours are held in less than their ids' bytes

    # A new owner restores the memory from the database and answers the same.
    now = START + timedelta(hours=4)
    again = await taken_over(conn, now)
    result = await again.send(sent + heartbeats(300, now), now)
    assert (outcome(result, "duplicate"), outcome(result, "accepted")) == (len(sent), 300)


async def test_an_hour_is_forgotten_a_day_after_it_was_sealed(conn: asyncpg.Connection) -> None:
    worker = Worker(conn, {TP: PartitionState(TOPIC, 0)})
    first = heartbeats(400, START)
    await worker.send(first, START)
    await worker.send(heartbeats(10, START + timedelta(hours=1)), START + timedelta(hours=1))
    memory = worker.states[TP].seen
    first_hour = int(START.timestamp()) // 3600
    assert first_hour in memory.sealed_hours
    later = START + timedelta(hours=24, minutes=30)  # 24 h on: still a duplicate
    assert outcome(await worker.send(first[:5], later), "duplicate") == 5
    gone = START + timedelta(hours=25, minutes=1)
    await worker.send(heartbeats(1, gone), gone)
    assert first_hour not in memory.sealed_hours
    assert len(memory.suspects([fingerprint(e["event_id"]) for e in first])) < 40  # taken out


class FailingAt:
    """A connection that fails at one statement, as a worker killed half-way through would."""

    def __init__(self, conn: asyncpg.Connection, failing: str) -> None:
        self.conn, self.failing = conn, failing

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)

    async def execute(self, sql: str, *args: Any) -> str:
        if sql.startswith(self.failing):
            raise ConnectionResetError("killed")
        return await self.conn.execute(sql, *args)


@pytest.mark.parametrize(
    "failing", ["INSERT INTO accepted_fingerprints_sealed", "DELETE FROM accepted_fingerprints "]
)
async def test_a_seal_killed_half_way_loses_nothing_and_counts_nothing_twice(
    conn: asyncpg.Connection, failing: str
) -> None:
    worker = Worker(conn, {TP: PartitionState(TOPIC, 0)})
    first = heartbeats(600, START)
    await worker.send(first, START)
    before = await conn.fetchval("SELECT sum(octet_length(packed)) / 8 FROM accepted_fingerprints")
    broken = Worker(FailingAt(conn, failing), worker.states)
    broken.offset = worker.offset
    with pytest.raises(ConnectionResetError):
        await broken.send(heartbeats(5, START + timedelta(hours=1)), START + timedelta(hours=1))
    # the memory that lost its hour judges nothing more (its worker crashes and is replaced)
    with pytest.raises(RuntimeError, match="restored from the database"):
        await worker.send(first[:5], START + timedelta(hours=1))
    # the hour is still stored batch by batch, whole, and nothing of it is sealed
    assert await conn.fetchval("SELECT sum(octet_length(packed)) / 8 FROM accepted_fingerprints") == before
    assert await conn.fetchval("SELECT count(*) FROM accepted_fingerprints_sealed") == 0
    # the restarted owner seals it and still knows every id
    now = START + timedelta(hours=1, minutes=5)
    again = await taken_over(conn, now)
    fresh = heartbeats(50, now)
    result = await again.send(first + fresh, now)
    assert (outcome(result, "duplicate"), outcome(result, "accepted")) == (600, 50)
    assert (
        await conn.fetchval("SELECT sum(octet_length(packed)) / 8 FROM accepted_fingerprints_sealed") == 600
    )


async def test_confirm_answers_only_for_ids_the_sealed_rows_hold(conn: asyncpg.Connection) -> None:
    rng = np.random.default_rng(5)
    ids = rng.integers(-(2**63), 2**63 - 1, 5000, dtype=np.int64)
    await conn.execute(
        "INSERT INTO accepted_fingerprints (topic, partition, accepted_hour, packed) VALUES ($1, 0, 7, $2)",
        TOPIC,
        ids.astype(">i8").tobytes(),
    )
    all_ids, new, bits = await dedupe_store.seal_hour(conn, topic=TOPIC, partition=0, hour=7)
    assert len(all_ids) == len(new) == 5000 and bits == dedupe_store.seal_bits(5000)
    rows = await conn.fetchval("SELECT count(*) FROM accepted_fingerprints_sealed")
    assert 5000 / dedupe_store.ROW_IDS <= rows <= 2 * 5000 / dedupe_store.ROW_IDS
    others = rng.integers(-(2**63), 2**63 - 1, 500, dtype=np.int64)
    asked = {TP: [*ids[:300].tolist(), *others.tolist(), -(2**63), 2**63 - 1]}
    found = await dedupe_store.confirm(conn, suspects=asked, hours={TP: {7: bits}})
    assert found == {TP: set(ids[:300].tolist())}
    # a batch stored for an hour already sealed (two owners for a moment): sealed again, whole
    more = rng.integers(-(2**63), 2**63 - 1, 10, dtype=np.int64)
    await conn.execute(
        "INSERT INTO accepted_fingerprints (topic, partition, accepted_hour, packed) VALUES ($1, 0, 7, $2)",
        TOPIC,
        more.astype(">i8").tobytes(),
    )
    all_ids, new, bits = await dedupe_store.seal_hour(conn, topic=TOPIC, partition=0, hour=7)
    assert len(all_ids) == 5010 and set(new.tolist()) == set(more.tolist())
    assert set((await dedupe_store.hour_ids(conn, topic=TOPIC, partition=0, hour=7)).tolist()) == set(
        all_ids.tolist()
    )
    assert not await conn.fetchval("SELECT count(*) FROM accepted_fingerprints")


async def test_a_restore_in_parts_holds_every_sealed_id_once(conn: asyncpg.Connection) -> None:
    """Hours with more bucket bits than the memory has shard bits are read a range of rows per
    part; hours with fewer are read by every part and filtered: each id is held once either way."""
    rng = np.random.default_rng(6)
    hours = {7: rng.integers(-(2**63), 2**63 - 1, 100_000, dtype=np.int64), 8: _few(rng)}
    for hour, ids in hours.items():
        await conn.execute(
            "INSERT INTO accepted_fingerprints (topic, partition, accepted_hour, packed)"
            " VALUES ($1, 0, $2, $3)",
            TOPIC,
            hour,
            ids.astype(">i8").tobytes(),
        )
        await dedupe_store.seal_hour(conn, topic=TOPIC, partition=0, hour=hour)
    bits = dict(await conn.fetch(f"SELECT DISTINCT accepted_hour, bucket_bits FROM {SEALED}"))
    assert bits[7] >= 7 > bits[8]  # both ways of reading a part
    state = await sink.load_partition(conn, group="g", topic=TOPIC, partition=0, since_hour=0)
    everything = np.concatenate(list(hours.values()))
    assert len(state.seen) == len(everything)
    assert len(state.seen.suspects(everything)) == len(everything)
    assert state.seen.sealed_hours == bits


def _few(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(-(2**63), 2**63 - 1, 3_000, dtype=np.int64)
