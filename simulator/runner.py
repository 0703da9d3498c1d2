"""Running a simulation against the clock: pacing, progress, stopping, and the demo's entry point."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TextIO

from ioc.clock import Clock, SystemClock
from ioc.errors import ConfigError
from simulator.config import SimulatorConfig, Timeline, plan
from simulator.generator import Simulation
from simulator.records import Record
from simulator.sinks import KafkaSink, Sink

log = logging.getLogger("ioc.simulator")

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class SimulatorStats:
    """What a run sent: totals by topic and by fault kind, and how fast."""

    seed: int | None = None
    records: int = 0
    by_topic: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    first_event_ms: int | None = None
    last_event_ms: int | None = None
    stopped: bool = False
    """True when the run ended because it was asked to stop."""

    @property
    def rate(self) -> float:
        """Records sent per second of wall time."""
        return self.records / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def count(self, batch: list[Record]) -> None:
        if not batch:
            return
        self.records += len(batch)
        by_topic = self.by_topic
        for record in batch:
            by_topic[record.topic] += 1
        last = batch[-1].timestamp_ms
        if self.first_event_ms is None:
            self.first_event_ms = batch[0].timestamp_ms
        if self.last_event_ms is None or last > self.last_event_ms:
            self.last_event_ms = last


class Progress:
    """One status line on stderr at most once a second: events by topic, rate, event time."""

    def __init__(self, stream: TextIO | None = None, interval_s: float = 1.0) -> None:
        self.stream = stream or sys.stderr
        self.interval_s = interval_s
        self._last = time.monotonic()

    def update(self, stats: SimulatorStats, elapsed_s: float, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last < self.interval_s:
            return
        self._last = now
        topics = " · ".join(f"{t.removeprefix('ioc.')} {n:,}" for t, n in sorted(stats.by_topic.items()))
        rate = stats.records / elapsed_s if elapsed_s > 0 else 0.0
        at = ""
        if stats.last_event_ms is not None:
            at = f" · event time {datetime.fromtimestamp(stats.last_event_ms / 1000, UTC):%Y-%m-%d %H:%M:%S}Z"
        word = "sent" if final else "sending"
        self.stream.write(f"simulate: {word} {stats.records:,} events ({topics}) at {rate:,.0f}/s{at}\n")
        self.stream.flush()


def with_seed(config: SimulatorConfig) -> SimulatorConfig:
    """The config with a seed, a random one if none was given (logged, so the run can be repeated)."""
    if config.seed is not None:
        return config
    return replace(config, seed=secrets.randbits(31))


async def drive(
    records: Iterable[Record],
    sink: Sink,
    timeline: Timeline | None,
    *,
    stop: asyncio.Event | None = None,
    clock: Clock | None = None,
    sleep: Sleep | None = None,
    progress: Progress | None = None,
    batch_size: int = 5000,
) -> SimulatorStats:
    """Send ``records`` to ``sink``; with a timeline, none before its due time (so never in the future).

    Returns when the records run out or ``stop`` is set; the sink is flushed and closed either way.
    """
    stats = SimulatorStats()
    began = time.monotonic()
    pacer = _Pacer(timeline, clock or SystemClock(), stop, sleep)
    try:
        async for batch in pacer.batches(records, batch_size):
            await sink.send(batch)
            stats.count(batch)
            if progress is not None:
                progress.update(stats, time.monotonic() - began)
    finally:
        await sink.close()
    stats.stopped = stop is not None and stop.is_set()
    stats.elapsed_s = time.monotonic() - began
    if progress is not None:
        progress.update(stats, stats.elapsed_s, final=True)
    return stats


class _Pacer:
    """Cuts the record stream into batches, holding each record back until the timeline says it is due."""

    def __init__(
        self, timeline: Timeline | None, clock: Clock, stop: asyncio.Event | None, sleep: Sleep | None
    ):
        self.timeline = timeline
        self.clock = clock
        self.stop = stop
        self.sleep = sleep

    def wall_ms(self) -> float:
        return self.clock.now().timestamp() * 1000

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    async def wait(self, seconds: float) -> None:
        if self.sleep is not None:
            await self.sleep(seconds)
        elif self.stop is None:
            await asyncio.sleep(seconds)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=seconds)

    async def batches(self, records: Iterable[Record], size: int) -> AsyncIterator[list[Record]]:
        batch: list[Record] = []
        due_ms = self.timeline.due_ms if self.timeline is not None else None
        now_ms = self.wall_ms()
        for record in records:
            if due_ms is not None and due_ms(record.timestamp_ms) > now_ms:
                now_ms = self.wall_ms()
                due = due_ms(record.timestamp_ms)
                if due > now_ms:
                    if batch:
                        yield batch
                        batch = []
                    await self.wait((due - now_ms) / 1000)
                    if self.stopped():
                        return
                    now_ms = self.wall_ms()
            batch.append(record)
            if len(batch) >= size:
                yield batch
                batch = []
                await asyncio.sleep(0)  # let signal handlers and other tasks run
                if self.stopped():
                    return
                now_ms = self.wall_ms()
        if batch:
            yield batch


async def simulate_to(
    sink: Sink,
    config: SimulatorConfig,
    *,
    stop: asyncio.Event | None = None,
    paced: bool = True,
    clock: Clock | None = None,
    sleep: Sleep | None = None,
    progress: Progress | None = None,
) -> SimulatorStats:
    """Run ``config`` into any sink. Unpaced runs (files, benchmarks) go as fast as they can,
    which is only allowed for traffic that ends at now."""
    config = with_seed(config)
    clock = clock or SystemClock()
    timeline = plan(config, clock.now())
    if not paced and (timeline.end_ms is None or timeline.end_ms > timeline.wall_start_ms):
        raise ConfigError("an unpaced run must end at now: use live=False and compress=inf")
    simulation = Simulation(config, timeline)
    log.info(
        "simulation starting",
        extra={
            "seed": config.seed,
            "multiplier": config.multiplier,
            "event_start": timeline.start.isoformat(),
            "event_end": timeline.end.isoformat() if timeline.end else None,
            "compress": config.compress,
            "live": config.live,
        },
    )
    await sink.start()
    stats = await drive(
        simulation, sink, timeline if paced else None, stop=stop, clock=clock, sleep=sleep, progress=progress
    )
    stats.seed = config.seed
    stats.faults = simulation.fault_counts
    log.info(
        "simulation ended",
        extra={
            "records": stats.records,
            "by_topic": dict(stats.by_topic),
            "faults": dict(stats.faults),
            "elapsed_s": round(stats.elapsed_s, 3),
            "stopped": stats.stopped,
        },
    )
    return stats


async def run_simulator(
    config: SimulatorConfig, bootstrap_servers: str, *, stop: asyncio.Event | None = None
) -> SimulatorStats:
    """Produce the province's traffic to Kafka: the back-fill first, then live until ``stop`` is set.

    ``bootstrap_servers`` is ``host:port[,...]`` or ``kafka://host:port[,...]``.
    """
    return await simulate_to(KafkaSink(bootstrap_servers), config, stop=stop)
