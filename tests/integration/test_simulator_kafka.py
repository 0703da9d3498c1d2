"""The simulator against the real embedded broker: what it says it sent is what a consumer reads."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from cli.runtime.broker import EmbeddedBroker
from schemas.decode import Rejection
from simulator import (
    FaultConfig,
    KafkaSink,
    Record,
    SimulatorConfig,
    generate,
    read_records,
    run_simulator,
    write_records,
)
from simulator.runner import drive
from sources import SOURCE_TOPIC_NAMES, decode

pytestmark = pytest.mark.integration


async def consume_all(broker: EmbeddedBroker, expected: int, timeout_s: float = 10.0) -> list[Record]:
    """Every record of the source topics, read from the beginning (until ``expected`` or the timeout).

    Counting, not end offsets: this broker under-reports them (shared/ENVIRONMENT.md).
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # fetches fresh metadata: the producer created the topics
        partitions = [
            TopicPartition(topic, p)
            for topic in SOURCE_TOPIC_NAMES
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        out: list[Record] = []
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(out) < expected and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=50_000)
            for tp, messages in batches.items():
                out.extend(Record(tp.topic, m.key, m.value, m.timestamp) for m in messages)
        return out
    finally:
        await consumer.stop()


async def test_a_live_run_back_fills_then_keeps_going_and_everything_arrives(broker: EmbeddedBroker) -> None:
    config = SimulatorConfig(
        seed=9,
        backfill=timedelta(minutes=20),
        compress=math.inf,
        live=True,
        faults=FaultConfig(malformed=0.01, duplicate=0.01),
    )
    stop = asyncio.Event()
    started = datetime.now(UTC)
    task = asyncio.create_task(run_simulator(config, broker.url, stop=stop))
    await asyncio.sleep(3)
    stop.set()
    stats = await asyncio.wait_for(task, timeout=10)
    assert stats.stopped and stats.records > 20_000

    records = await consume_all(broker, stats.records)
    assert Counter(r.topic for r in records) == stats.by_topic
    verdicts = [decode(r.topic, r.key, r.value) for r in records]
    rejected = sum(isinstance(v, Rejection) for v in verdicts)
    assert rejected == pytest.approx(0.01 * len(records), rel=0.3)
    times = [v.occurred_at for v in verdicts if not isinstance(v, Rejection)]
    assert min(times) < started - timedelta(minutes=19)  # the back-fill
    assert max(times) > started + timedelta(seconds=1)  # then live, at the real pace
    assert max(times) <= datetime.now(UTC)  # and never ahead of the clock


async def test_a_file_replays_the_same_bytes_into_kafka(broker: EmbeddedBroker, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    start = datetime(2024, 3, 11, 8, tzinfo=timezone(timedelta(hours=7)))
    config = SimulatorConfig(seed=4, start=start, duration=timedelta(minutes=10), live=False, multiplier=3)
    written = write_records(path, generate(config))

    sink = KafkaSink(broker.url)
    await sink.start()
    stats = await drive(read_records(path), sink, None)
    assert stats.records == written

    records = await consume_all(broker, written)
    sent = Counter((r.topic, r.key, r.value) for r in read_records(path))
    assert Counter((r.topic, r.key, r.value) for r in records) == sent
