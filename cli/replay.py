"""`ioc replay`: send dead-lettered records back to their original topics after a fix.

The dead-letter topic keeps the original bytes (`value_b64`) and key of every rejected
record, so a replay re-sends exactly what the source sent. The pipeline judges them again:
a record rejected for a reason that was fixed (a setting, a schema) is accepted now; one that
is still bad goes back to the dead-letter topic; one accepted before is a duplicate.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import click
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.decode import Reason
from schemas.topics import DEADLETTER
from sources import SOURCE_TOPIC_NAMES


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead-letter record, decoded."""

    topic: str
    key: bytes | None
    value: bytes
    reason: str
    rejected_at: str


def parse(value: bytes) -> DeadLetter | None:
    """The dead-letter record in `value`, or None if it is not one of ours."""
    try:
        body: dict[str, Any] = orjson.loads(value)
        key = body["key"]
        return DeadLetter(
            topic=body["topic"],
            key=key.encode("utf-8") if isinstance(key, str) else None,
            value=base64.b64decode(body["value_b64"], validate=True),
            reason=body["reason"],
            rejected_at=body["rejected_at"],
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None


def select(letters: Iterable[DeadLetter], *, reasons: set[str], topics: set[str]) -> Iterator[DeadLetter]:
    """The dead letters to replay: matching the filters (empty filter: all), to a source topic."""
    for dl in letters:
        if dl.topic not in SOURCE_TOPIC_NAMES:
            continue
        if (not reasons or dl.reason in reasons) and (not topics or dl.topic in topics):
            yield dl


async def read_deadletters(bootstrap: str, *, idle_s: float = 2.0) -> list[DeadLetter]:
    """Everything in the dead-letter topic now: read from the start until the high watermarks.

    The embedded broker under-reports end offsets, so the end is taken from fetch responses'
    high watermarks (shared/ENVIRONMENT.md), with an idle timeout as a backstop.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(DEADLETTER) or set()
        tps = [TopicPartition(DEADLETTER, p) for p in sorted(partitions)]
        if not tps:  # nothing was ever dead-lettered on this broker
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[DeadLetter] = []
        idle_since = time.monotonic()
        while tps:
            batch = await consumer.getmany(timeout_ms=300, max_records=10_000)
            for records in batch.values():
                out.extend(dl for r in records if r.value is not None and (dl := parse(r.value)))
            if batch:
                idle_since = time.monotonic()
            if await _caught_up(consumer, tps) or time.monotonic() - idle_since > idle_s:
                break
        return out
    finally:
        # aiokafka's coordinator may cancel its own task on stop when nothing was assigned
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


async def _caught_up(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> bool:
    for tp in tps:
        hw = consumer.highwater(tp)
        if hw is None or await consumer.position(tp) < hw:
            return False
    return True


async def replay(bootstrap: str, letters: Iterable[DeadLetter]) -> Counter[str]:
    """Re-send `letters` to their original topics with their original keys and bytes."""
    sent: Counter[str] = Counter()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for dl in letters:
            await producer.send(dl.topic, value=dl.value, key=dl.key)
            sent[dl.topic] += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


@click.command("replay")
@click.option(
    "--reason",
    "reasons",
    multiple=True,
    type=click.Choice([r.value for r in Reason]),
    help="Only records rejected for this reason (repeatable).",
)
@click.option(
    "--topic", "topics", multiple=True, type=click.Choice(SOURCE_TOPIC_NAMES), help="Only this topic."
)
@click.option("--dry-run", is_flag=True, help="Count what would be replayed; send nothing.")
@click.option(
    "--bootstrap",
    envvar="IOC_KAFKA_URL",
    required=True,
    help="Broker, kafka://host:port (default: IOC_KAFKA_URL).",
)
def replay_command(reasons: tuple[str, ...], topics: tuple[str, ...], dry_run: bool, bootstrap: str) -> None:
    """Re-publish dead-lettered records to their original topics (after a fix)."""
    servers = bootstrap.removeprefix("kafka://")
    letters = asyncio.run(read_deadletters(servers))
    chosen = list(select(letters, reasons=set(reasons), topics=set(topics)))
    by_reason = Counter(dl.reason for dl in chosen)
    click.echo(
        f"replay: {len(letters)} dead letters, {len(chosen)} selected"
        + (f" ({', '.join(f'{r}: {n}' for r, n in sorted(by_reason.items()))})" if chosen else ""),
        err=True,
    )
    if dry_run or not chosen:
        return
    sent = asyncio.run(replay(servers, chosen))
    for topic, n in sorted(sent.items()):
        click.echo(f"replay: sent {n} to {topic}", err=True)
    sys.stdout.flush()
