"""The dead-letter write path: judged batches of heartbeats, clean, 1 % bad and all bad, written
through a real `Checkpoint` (flush, then settle) on the embedded broker and PostgreSQL; median
milliseconds per batch. `--code` runs another source tree's streams/ (A/B: run both, interleaved).

    python -m bench.deadletter_bench [--code TREE] [--batches 20] [--size 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TELEMETRY = "ioc.vc.telemetry"
VARIANTS = (("clean", 0), ("1 % bad", 100), ("all bad", 1))
"""(label, every how many records one is bad; 0: none)."""


def judged(batches: int, size: int, bad_every: int, partition: int, now: datetime) -> list[Any]:
    """`batches` judged batches of one partition, `size` records each."""
    from streams.admit import PartitionState, admit
    from tests.factories import Rec, encode, key_of, valid_event

    states = {(TELEMETRY, partition): PartitionState(TELEMETRY, partition)}
    out, offset = [], 0
    for _ in range(batches):
        recs = []
        for i in range(size):
            if bad_every and i % bad_every == 0:
                recs.append(Rec(TELEMETRY, partition, offset, b"k", b'{"bad": %d' % offset))
            else:
                at = now - timedelta(seconds=(offset % 3000) / 10)
                ev = valid_event("vc.heartbeat", occurred_at=at, endpoint_id=f"E{i % 200}")
                recs.append(Rec(TELEMETRY, partition, offset, key_of(ev), encode(ev)))
            offset += 1
        grace, tolerance = timedelta(hours=2), timedelta(minutes=5)
        out.append(admit(recs, states, now=now, grace=grace, future_tolerance=tolerance))
    return out


def checkpoint(pool: Any, producer: Any, bootstrap: str) -> Any:
    """A checkpoint of the tree measured, whichever way it sends dead letters."""
    from streams.checkpoint import Checkpoint
    from streams.metrics import WorkerMetrics

    async def nothing(_result: object) -> None:
        return None

    async def crash(exc: BaseException) -> None:
        raise exc

    kw: dict[str, Any] = {"group": "bench", "pool": pool, "commit": nothing, "crash": crash}
    kw |= {"metrics": WorkerMetrics(), "should_stop": lambda: False}
    if "outbox" in inspect.signature(Checkpoint).parameters:
        from streams.outbox import Outbox

        kw |= {"outbox": Outbox(producer, group="bench"), "client": {"bootstrap_servers": bootstrap}}
    else:  # a tree from before the outbox (954077f): dead letters sent before the write
        kw |= {"producer": producer}
    return Checkpoint(**kw)


async def timed(cp: Any, results: list[Any], now: datetime) -> float:
    """Median seconds to flush and settle a batch, after three that warm up."""
    times = []
    for i, result in enumerate(results):
        started = time.perf_counter()
        await cp.flush(result, now, started)
        await cp.settle()
        if i >= 3:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


async def measure(batches: int, size: int) -> dict[str, float]:
    import asyncpg
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from cli.runtime.broker import EmbeddedBroker
    from cli.runtime.postgres import EmbeddedPostgres
    from ioc.db.migrate import migrate
    from ioc.db.pool import create_pool
    from ioc.settings import DatabaseSettings
    from schemas.topics import DEADLETTER
    from sources import SOURCES

    now = datetime.now(UTC).replace(microsecond=0)
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="ioc-dlbench-")))
    pg.start()
    try:
        with EmbeddedBroker() as broker:
            conn = await asyncpg.connect(pg.url)
            await migrate(conn, sources=SOURCES.migrations)
            await conn.close()
            bootstrap = broker.bootstrap_servers
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
            await admin.start()
            day = {"retention.ms": "86400000"}
            await admin.create_topics([NewTopic(DEADLETTER, 4, 1, topic_configs=day)])
            await admin.close()
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
            await producer.start()
            pool = await create_pool(DatabaseSettings(), url=pg.url, batch_writer=True)
            cp = checkpoint(pool, producer, bootstrap)
            medians = {
                label: 1000 * await timed(cp, judged(3 + batches, size, bad_every, partition, now), now)
                for partition, (label, bad_every) in enumerate(VARIANTS)
            }
            await pool.close()
            await producer.stop()
            return medians
    finally:
        pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, help="source tree whose streams/ to measure")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--size", type=int, default=2000)
    args = parser.parse_args()
    if args.code is not None:
        sys.path.insert(0, str(args.code.resolve()))
    for label, ms in asyncio.run(measure(args.batches, args.size)).items():
        print(f"{label:8s} batch of {args.size}: median {ms:6.2f} ms")


if __name__ == "__main__":
    main()
