"""The baseline: a plain aiokafka consumer that reads the source topics with `getmany`, nothing else.

It runs as its own process, like a worker, with the worker's fetch settings (fetch sizes, batch
size and wait), so the ratio pipeline / baseline is what the pipeline's own work costs. It
assigns itself every partition instead of joining a group: a first join costs half the
session timeout on this broker, which is start-up, not throughput. The clock starts at the
first record received and stops when `--expect` records were read; the expected count comes
from the producer, because this broker's `end_offsets()` is wrong (ENVIRONMENT.md).

    python -m bench.rawconsume --bootstrap 127.0.0.1:9092 --expect 1000000
prints one JSON object: records, seconds, rate.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from sources import SOURCE_TOPIC_NAMES


async def consume(
    bootstrap: str, expect: int, max_records: int, wait_ms: int, timeout_s: float
) -> dict[str, float]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        client_id="bench-raw",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,  # as streams/consume.py
        fetch_max_bytes=32 * 1024 * 1024,
    )
    await consumer.start()
    partitions = [
        TopicPartition(topic, p)
        for topic in SOURCE_TOPIC_NAMES
        for p in sorted(consumer.partitions_for_topic(topic) or await _partitions(consumer, topic))
    ]
    consumer.assign(partitions)
    for tp in partitions:
        consumer.seek(tp, 0)  # a fresh broker's logs start at 0; its ListOffsets is not to be trusted
    records = 0
    first: float | None = None
    deadline = time.monotonic() + timeout_s
    try:
        while records < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=wait_ms, max_records=max_records)
            for rs in batch.values():
                if rs and first is None:
                    first = time.perf_counter()
                records += len(rs)
        done = time.perf_counter()
    finally:
        await consumer.stop()
    seconds = done - first if first is not None else 0.0
    return {"records": records, "seconds": seconds, "rate": records / seconds if seconds else 0.0}


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    """Partitions of `topic` once metadata names it (a fresh client may not have it yet)."""
    for _ in range(50):
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.1)
    raise RuntimeError(f"no partitions for {topic}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="plain aiokafka getmany consumer (bench baseline)")
    parser.add_argument("--bootstrap", required=True, help="host:port")
    parser.add_argument("--expect", type=int, required=True, help="records to read")
    parser.add_argument("--max-records", type=int, default=5000, help="getmany max_records (worker's batch)")
    parser.add_argument("--wait-ms", type=int, default=200, help="getmany timeout_ms (worker's batch wait)")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    result = asyncio.run(consume(args.bootstrap, args.expect, args.max_records, args.wait_ms, args.timeout))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0 if result["records"] >= args.expect else 1


if __name__ == "__main__":
    raise SystemExit(main())
