"""Dead letters on the real broker and database: each bad record reaches `ioc.deadletter` once,
also when a worker died after its batch committed with only some of them sent; and `ioc
replay` chooses by time and never re-sends what it replayed before.

The kill -9 tests (test_reliability.py) check the same promise on whole worker processes.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from cli.runtime.broker import EmbeddedBroker
from ioc.db.pool import create_pool
from ioc.settings import DatabaseSettings
from schemas.topics import DEADLETTER
from streams import sink
from streams.admit import BatchResult, PartitionState, admit
from streams.checkpoint import Checkpoint
from streams.dltopic import letter_id, read_values
from streams.metrics import WorkerMetrics
from streams.outbox import Outbox
from tests.factories import Rec, encode, key_of, valid_event
from tests.services import base_env

pytestmark = pytest.mark.integration

TELEMETRY = "ioc.vc.telemetry"
GROUP = "g"
NOW = datetime.now(UTC).replace(microsecond=0)


async def create_topics(bootstrap: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        config = {"retention.ms": str(7 * 86_400_000), "cleanup.policy": "delete"}
        await admin.create_topics([NewTopic(n, 4, 1, topic_configs=config) for n in names])
    finally:
        await admin.close()


@pytest.fixture
async def producer(broker: EmbeddedBroker) -> AsyncIterator[AIOKafkaProducer]:
    await create_topics(broker.bootstrap_servers, DEADLETTER, TELEMETRY)
    p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all", linger_ms=5)
    await p.start()
    yield p
    await p.stop()


def bad_batch(n: int, *, partition: int = 1, first: int = 100) -> BatchResult:
    """`n` bad records (every other one of `2n`, the rest valid) on one partition."""
    recs = []
    for i in range(2 * n):
        ev = valid_event("vc.heartbeat", occurred_at=NOW - timedelta(seconds=i))
        value = encode(ev) if i % 2 else b'{"bad": %d' % i
        recs.append(Rec(TELEMETRY, partition, first + i, key_of(ev), value))
    states = {(TELEMETRY, partition): PartitionState(TELEMETRY, partition)}
    result = admit(recs, states, now=NOW, grace=timedelta(hours=2), future_tolerance=timedelta(minutes=5))
    assert len(result.deadletters) == n
    return result


def checkpoint(pool: asyncpg.Pool, producer: AIOKafkaProducer, bootstrap: str) -> Checkpoint:
    async def no_commit(_result: BatchResult) -> None:
        return None

    async def crash(exc: BaseException) -> None:
        raise AssertionError(f"the checkpoint crashed: {exc!r}")

    return Checkpoint(
        group=GROUP,
        pool=pool,
        outbox=Outbox(producer, group=GROUP),
        client={"bootstrap_servers": bootstrap},
        commit=no_commit,
        metrics=WorkerMetrics(),
        should_stop=lambda: False,
        crash=crash,
    )


async def topic_ids(bootstrap: str) -> Counter[tuple[str, int, int]]:
    """How many times each rejected record is in the dead-letter topic."""
    values = await read_values({"bootstrap_servers": bootstrap}, DEADLETTER)
    return Counter(i for v in values if (i := letter_id(v)) is not None)


async def outbox_rows(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM deadletter_outbox"))


async def test_a_batch_sends_its_dead_letters_once_it_is_stored(
    broker: EmbeddedBroker, database_url: str, producer: AIOKafkaProducer
) -> None:
    pool = await create_pool(DatabaseSettings(), url=database_url)
    try:
        cp = checkpoint(pool, producer, broker.bootstrap_servers)
        await cp.recover_deadletters([(TELEMETRY, 1)])  # a first start: nothing left behind
        result = bad_batch(6)
        await cp.flush(result, NOW, 0.0)
        await cp.settle()
        assert await topic_ids(broker.bootstrap_servers) == Counter(result.deadletter_ids)
        async with pool.acquire() as conn:
            assert await outbox_rows(conn) == 0  # confirmed
            ends = await conn.fetch("SELECT partition, acked_end FROM deadletter_ends")
        assert sum(r["acked_end"] for r in ends) == 6  # where the next recovery starts reading
    finally:
        await pool.close()


async def test_after_a_crash_between_commit_and_send_each_bad_record_is_in_the_topic_once(
    broker: EmbeddedBroker, database_url: str, producer: AIOKafkaProducer
) -> None:
    bootstrap = broker.bootstrap_servers
    # Earlier batches' dead letters, already in the topic and confirmed: the bound starts after them.
    pool = await create_pool(DatabaseSettings(), url=database_url)
    try:
        before = checkpoint(pool, producer, bootstrap)
        await before.recover_deadletters([(TELEMETRY, 1)])
        await before.flush(bad_batch(4, first=0), NOW, 0.0)
        await before.settle()

        # The worker that dies: its batch commits (dead letters stored with it), it sends two
        # of its five dead letters, and is killed before it confirms them.
        result = bad_batch(5)
        result.deadletter_from = before.outbox.bounds()
        async with pool.acquire() as conn:
            await sink.store_batch(conn, group=GROUP, result=result, arrival_minute=NOW, hour=0)
            assert await outbox_rows(conn) == 5
        sent = [await producer.send(DEADLETTER, value=v, key=k) for k, v in result.deadletters[1:3]]
        await asyncio.gather(*sent)

        # The partition's next owner, a new process: it learns nothing from the dead one's memory.
        after = checkpoint(pool, producer, bootstrap)
        await after.recover_deadletters([(TELEMETRY, 1), (TELEMETRY, 2)])
        in_topic = await topic_ids(bootstrap)
        assert set(result.deadletter_ids) <= set(in_topic)
        assert set(in_topic.values()) == {1}, in_topic  # every one once, the earlier batch's too
        assert len(in_topic) == 9
        async with pool.acquire() as conn:
            assert await outbox_rows(conn) == 0
        await after.recover_deadletters([(TELEMETRY, 1)])  # again: nothing more is sent
        assert await topic_ids(bootstrap) == in_topic
    finally:
        await pool.close()


async def test_a_bound_past_the_end_of_the_log_reads_the_partition_from_its_start(
    broker: EmbeddedBroker, producer: AIOKafkaProducer
) -> None:
    """The embedded broker keeps nothing across restarts: a stored end can lie past a new log,
    and what was sent since is below it. It is found all the same."""
    sent = [await producer.send_and_wait(DEADLETTER, value=b"v%d" % i, partition=0) for i in range(3)]
    assert [md.offset for md in sent] == [0, 1, 2]
    client = {"bootstrap_servers": broker.bootstrap_servers}
    assert await read_values(client, DEADLETTER, start={0: 1}) == [b"v1", b"v2"]
    assert await read_values(client, DEADLETTER, start={0: 500}) == [b"v0", b"v1", b"v2"]


def dead_letter(rejected_at: datetime, offset: int) -> bytes:
    original = encode(valid_event("vc.heartbeat", occurred_at=NOW - timedelta(hours=3)))
    return orjson.dumps(
        {
            "topic": TELEMETRY,
            "partition": 0,
            "offset": offset,
            "key": "TQ-1",
            "value_b64": base64.b64encode(original).decode(),
            "reason": "late",
            "detail": "older than the grace period",
            "rejected_at": rejected_at.isoformat().replace("+00:00", "Z"),
        }
    )


def ioc_replay(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "cli", "replay", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stderr


async def test_replay_chooses_by_time_and_never_sends_a_dead_letter_twice(
    broker: EmbeddedBroker, database_url: str, producer: AIOKafkaProducer
) -> None:
    day = datetime(2026, 12, 1, tzinfo=UTC)
    letters = [dead_letter(day + timedelta(hours=h), offset=h) for h in range(6)]
    letters.append(letters[2])  # a copy written before dead letters were exactly once
    await asyncio.gather(*[await producer.send(DEADLETTER, value=v, key=b"TQ-1") for v in letters])
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url)
    client = {"bootstrap_servers": broker.bootstrap_servers}

    window = ["--from", "2026-12-01T08:00:00+07:00", "--to", "2026-12-01T04:00:00Z"]  # hours 1, 2, 3
    out = ioc_replay(env, *window)
    assert "7 dead letters, 4 selected" in out and "0 replayed before, 1 copies, 3 to send" in out
    assert "3/3 sent" in out and f"sent 3 to {TELEMETRY}" in out
    assert len(await read_values(client, TELEMETRY)) == 3

    out = ioc_replay(env, *window)  # run again: nothing new
    assert "3 replayed before" in out and "0 to send" in out and "sent" not in out.split("to send")[1]
    assert len(await read_values(client, TELEMETRY)) == 3

    out = ioc_replay(env, "--from", "2026-12-01T02:00:00Z")  # hours 2 to 5: 2 and 3 were replayed
    assert (
        "5 selected" in out
        and "2 replayed before, 1 copies, 2 to send" in out
        and f"sent 2 to {TELEMETRY}" in out
    )
    assert len(await read_values(client, TELEMETRY)) == 5

    dry = ioc_replay(base_env(IOC_KAFKA_URL=broker.url), "--dry-run")
    assert "6 to send (no database" in dry  # without the database it cannot know, and says so
    with pytest.raises(subprocess.CalledProcessError) as refused:
        ioc_replay(base_env(IOC_KAFKA_URL=broker.url))
    assert "IOC_DATABASE_URL" in str(refused.value.stderr)
    with pytest.raises(subprocess.CalledProcessError) as backwards:
        ioc_replay(env, "--from", "2026-12-02T00:00:00Z", "--to", "2026-12-01T00:00:00Z")
    assert "--from must be before --to" in str(backwards.value.stderr)
