"""Reading the dead-letter topic back: all of it (`ioc replay`) or its tail (a worker's recovery).

A dead letter is identified by the record it copies: the topic, partition and offset its value
holds (contract/EVENTS.md, "Bad input"). That id is what makes "each bad record once" checkable
by any reader, and what the worker's recovery and `ioc replay` look for.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

DeadLetterId = tuple[str, int, int]
"""(topic, partition, offset) of the rejected record."""


def letter_id(value: bytes) -> DeadLetterId | None:
    """The id of the dead letter in `value`, or None if it is not one of ours."""
    try:
        body = orjson.loads(value)
        topic, partition, offset = body["topic"], body["partition"], body["offset"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    if isinstance(topic, str) and type(partition) is int and type(offset) is int:
        return topic, partition, offset
    return None


async def read_values(
    client: Mapping[str, Any], topic: str, *, start: Mapping[int, int] | None = None, idle_s: float = 2.0
) -> list[bytes]:
    """The values in `topic` now: each partition read from `start` (missing: its beginning) up to
    its high watermark.

    The embedded broker under-reports end offsets, so the end is taken from fetch responses'
    high watermarks (shared/ENVIRONMENT.md), with an idle timeout as a backstop. A start beyond
    a partition's log (a broker that lost its log) reads that partition from its beginning.
    """
    consumer = AIOKafkaConsumer(enable_auto_commit=False, auto_offset_reset="earliest", **client)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:  # nothing was ever written to it on this broker
            return []
        consumer.assign(tps)
        for tp in tps:
            if start is not None and start.get(tp.partition, 0) > 0:
                consumer.seek(tp, start[tp.partition])
            else:
                await consumer.seek_to_beginning(tp)
        out: list[bytes] = []
        rewound: set[TopicPartition] = set()
        idle_since = time.monotonic()
        while True:
            batch = await consumer.getmany(timeout_ms=300, max_records=10_000)
            for records in batch.values():
                out.extend(r.value for r in records if r.value is not None)
            if batch:
                idle_since = time.monotonic()
            if await _caught_up(consumer, tps):
                beyond = [tp for tp in await _beyond_the_log(consumer, tps) if tp not in rewound]
                if not beyond:
                    return out
                # this broker answers a fetch past the log's end with nothing, not an error
                rewound.update(beyond)
                await consumer.seek_to_beginning(*beyond)
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > idle_s:
                return out
    finally:
        # aiokafka's coordinator may cancel its own task on stop when nothing was assigned
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


async def _beyond_the_log(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> list[TopicPartition]:
    """Partitions read from a start past their log's end: a log that was lost and begun again."""
    out = []
    for tp in tps:
        hw = consumer.highwater(tp)
        if hw is not None and await consumer.position(tp) > hw:
            out.append(tp)
    return out


async def _caught_up(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> bool:
    for tp in tps:
        hw = consumer.highwater(tp)
        if hw is None or await consumer.position(tp) < hw:
            return False
    return True
