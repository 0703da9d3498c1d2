"""Helpers for tests that break things for real: streams of events, killable processes, checks.

    events = event_stream(random.Random(1), now, scenarios=80)  # thousands, all topics, duplicates
    async with Stream(broker.bootstrap_servers, events, rate=80) as stream:  # produced while we wait
        ...                                                      # kill, stop, restart things
    await stream.finish()                                        # everything left, then stop
    await assert_stored_exactly(database_url, stream.sent)       # nothing lost, nothing twice
    await assert_kpis_equal_oracle(database_url, stream.sent, as_of)

Processes are the product's own `ioc worker` / `ioc api`, with their output captured to a file
so tests can read their logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from cli.runtime.process import _die_with_parent, free_port
from ioc.kpi.query import KpiContext, kpi_values
from ioc.registry import Registry, load_registry
from schemas.kpis import Dimension
from sources import CATALOG, SOURCES
from streams import sink
from streams.admit import PartitionState, admit
from tests import oracle
from tests.factories import encode, key_of, topic_of
from tests.scenarios import scenario

Event = dict[str, Any]
REGISTRY: Registry = load_registry()
CTX = KpiContext(REGISTRY, SOURCES)
ORACLE_CONFIG = oracle.OracleConfig(registry=REGISTRY)
_ENTITY_FIELDS = ("meeting_id", "document_id", "application_id")
_NEW_ENDPOINT = "TQ-NEW-001"


# -- events -----------------------------------------------------------------------------------


def event_stream(rng: random.Random, now: datetime, *, scenarios: int) -> list[Event]:
    """`scenarios` independent scenario sets (tests/scenarios.py), their entities renamed apart.

    Every topic, out-of-order life-cycles, unknown applications and verbatim re-sends (about
    10 % duplicates); every event is valid and neither late nor future at `now`. About 63
    events per scenario.
    """
    out: list[Event] = []
    run = f"{rng.getrandbits(32):08x}"  # two calls never share an entity
    for n in range(scenarios):
        i = f"{run}.{n}"
        for event in scenario(rng, now, REGISTRY):
            renamed = dict(event)
            for name in _ENTITY_FIELDS:
                if name in renamed:
                    renamed[name] = f"S{i}-{renamed[name]}"
            # The scenario's unregistered endpoint gets its own district in each set; one id
            # per set keeps an endpoint in one district (vc_presence holds one per hour).
            if renamed.get("endpoint_id") == _NEW_ENDPOINT:
                renamed["endpoint_id"] = f"{_NEW_ENDPOINT}-S{i}"
            if "planned_endpoints" in renamed:
                renamed["planned_endpoints"] = [
                    f"{e}-S{i}" if e == _NEW_ENDPOINT else e for e in renamed["planned_endpoints"]
                ]
            out.append(renamed)
    return out


def as_record(event: Event) -> tuple[str, bytes, bytes]:
    return topic_of(str(event["type"])), key_of(event), encode(event)


async def produce(bootstrap: str, records: list[tuple[str, bytes | None, bytes]]) -> None:
    """Send records and wait until the broker has them all."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(t, value=v, key=k) for t, k, v in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


class Stream:
    """Produces `events` in order at about `rate` per second in the background until told to
    finish or stop; `sent` is what the broker acknowledged, in order (the oracle's input)."""

    def __init__(self, bootstrap: str, events: list[Event], *, rate: float, chunk_s: float = 0.1) -> None:
        self.bootstrap = bootstrap
        self.events = events
        self.rate = rate
        self.chunk_s = chunk_s
        self.sent: list[Event] = []
        self._stop = False
        self._flush_all = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._producer: AIOKafkaProducer | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def __aenter__(self) -> Stream:
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=5)
        await self._producer.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        assert self._producer is not None
        per_chunk = max(1, round(self.rate * self.chunk_s))
        started, i = time.monotonic(), 0
        while i < len(self.events) and not self._stop:
            chunk = self.events[i:] if self._flush_all else self.events[i : i + per_chunk]
            futures = [await self._producer.send(*_args(e)) for e in chunk]
            await asyncio.gather(*futures)
            self.sent.extend(chunk)
            i += len(chunk)
            ahead = started + (i / per_chunk) * self.chunk_s - time.monotonic()  # keep the average rate
            if ahead > 0 and not self._flush_all:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), ahead)

    async def stop(self) -> None:
        """Stop producing now (what was sent stays sent)."""
        self._stop = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def finish(self) -> None:
        """Send every remaining event at once, then stop."""
        self._flush_all = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop = True
        self._wake.set()
        if self._task is not None and exc_type is not None:
            with contextlib.suppress(Exception):
                await self._task
        elif self._task is not None:
            await self._task
        if self._producer is not None:
            await self._producer.stop()


def _args(event: Event) -> tuple[str, bytes, bytes]:
    topic, key, value = as_record(event)
    return topic, value, key


# -- the product's processes, with logs -----------------------------------------------------------


class Proc:
    """`ioc <command>` as a child process whose stdout and stderr go to `log_path`."""

    def __init__(self, command: str, env: Mapping[str, str], log_path: Path) -> None:
        self.command = command
        self.env = dict(env)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cli", self.command],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads in the child yet
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """`kill -9`: no chance to finish anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, then SIGKILL after `timeout`."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def rss_bytes(self) -> int:
        """Resident memory of the process now (0 once it is gone)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0


class Worker(Proc):
    """An `ioc worker` with its own metrics port."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.metrics_port = free_port()
        super().__init__("worker", {**env, "IOC_WORKER_METRICS_PORT": str(self.metrics_port)}, log_path)

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return await scrape(self.metrics_url)

    async def partitions(self) -> float:
        try:
            return total(await self.metrics(), "ioc_partitions_assigned")
        except httpx.HTTPError:
            return 0.0

    async def wait_owning(self, timeout: float = 60) -> None:
        async def owns() -> bool:
            if not self.alive:
                raise AssertionError(f"worker exited:\n{self.log()[-3000:]}")
            return await self.partitions() > 0

        await wait_for(owns, timeout=timeout, what="the worker to own partitions")


class Api(Proc):
    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.port = free_port()
        super().__init__("api", {**env, "IOC_API_PORT": str(self.port)}, log_path)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def wait_up(self, timeout: float = 30) -> None:
        async def up() -> bool:
            if not self.alive:
                raise AssertionError(f"api exited:\n{self.log()[-3000:]}")
            try:
                async with httpx.AsyncClient(timeout=2) as client:
                    return (await client.get(self.base + "/healthz")).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_for(up, timeout=timeout, what="the API to answer")

    async def readyz(self) -> tuple[int, dict[str, Any]]:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.get(self.base + "/readyz")
            return r.status_code, r.json()


# -- waiting and reading ------------------------------------------------------------------------


async def wait_for(
    predicate: Callable[[], Awaitable[object]], *, timeout: float, interval: float = 0.2, what: str
) -> object:
    """Await `predicate()` until it is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = await predicate()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


async def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(url)).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def total(samples: Mapping[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> float:
    """Sum of a metric over all its label sets."""
    return sum(v for (n, _labels), v in samples.items() if n == name)


async def stored_outcomes(database_url: str) -> dict[str, int]:
    """Records stored by outcome (accepted, duplicate, reasons), summed over topics and minutes."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT outcome, sum(records)::bigint AS n FROM ingest_minute GROUP BY outcome"
        )
        return {r["outcome"]: int(r["n"]) for r in rows}
    finally:
        await conn.close()


async def wait_stored(database_url: str, count: int, *, timeout: float) -> dict[str, int]:
    """Wait until the database holds the outcome of `count` records (or more: then fail)."""

    seen: dict[str, int] = {}

    async def done() -> dict[str, int] | None:
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            got = await stored_outcomes(database_url)
            seen.clear()
            seen.update(got)
            stored = sum(got.values())
            assert stored <= count, f"{stored} records stored for {count} sent: some counted twice ({got})"
            return got if stored == count else None
        return None

    try:
        got = await wait_for(done, timeout=timeout, interval=0.5, what=f"{count} records stored")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; stored at the end: {seen}") from None
    assert isinstance(got, dict)
    return got


def expected_outcomes(sent: list[Event], rejected: Mapping[str, int] | None = None) -> dict[str, int]:
    """Every distinct event accepted once; every re-send a duplicate; `rejected`: bad records
    sent besides, by reason."""
    distinct = len({e["event_id"] for e in sent})
    out = {"accepted": distinct}
    if len(sent) > distinct:
        out["duplicate"] = len(sent) - distinct
    return {**out, **(rejected or {})}


async def assert_stored_exactly(
    database_url: str, sent: list[Event], *, timeout: float = 90, rejected: Mapping[str, int] | None = None
) -> None:
    """Nothing lost, nothing counted twice: the stored outcomes are exactly the events sent (and
    the `rejected` bad records, by reason)."""
    expected = expected_outcomes(sent, rejected)
    got = await wait_stored(database_url, sum(expected.values()), timeout=timeout)
    assert got == expected


# -- the KPIs against the oracle ------------------------------------------------------------------

BREAKDOWNS: tuple[tuple[str, Dimension], ...] = (
    ("1h", Dimension.DISTRICT),
    ("1h", Dimension.AGENCY),
    ("24h", Dimension("service_level")),
)
"""The breakdowns compared besides every KPI's total in 15m, 1h and 24h windows."""


def _close(got: float | None, want: float | None, *, percentile: bool) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if percentile:
        return abs(got - want) <= 0.02 * abs(want) + 1e-9
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


async def kpi_mismatches(
    conn: asyncpg.Connection, sent: list[Event], as_of: datetime
) -> list[tuple[Any, ...]]:
    """What the pipeline's stored KPIs say differently from the oracle over `sent`, at `as_of`."""
    world = oracle._World(sent, ORACLE_CONFIG)
    wanted: list[tuple[str, Dimension | None]] = [(w, None) for w in ("15m", "1h", "24h")]
    wanted += list(BREAKDOWNS)
    out: list[tuple[Any, ...]] = []
    for window, by in wanted:
        names = [k.name for k in CATALOG if by is None or by in k.breakdowns]
        got = await kpi_values(conn, names, as_of=as_of, window=window, by=by, ctx=CTX)
        for name in names:
            want = oracle._kpi(world, name, as_of, window, by.value if by else None)
            want_map = want if isinstance(want, dict) else {"": want}
            pct = name.endswith(("_p50", "_p95"))
            if set(got[name]) != set(want_map):
                out.append((name, window, by, "keys", sorted(set(got[name]) ^ set(want_map))))
                continue
            for key, w in want_map.items():
                if not _close(got[name][key], w, percentile=pct):
                    out.append((name, window, by, key, got[name][key], w))
    return out


async def assert_kpis_equal_oracle(database_url: str, sent: list[Event], as_of: datetime) -> None:
    """Every KPI's total (15m, 1h and 24h windows) and the `BREAKDOWNS` equal the oracle's."""
    conn = await asyncpg.connect(database_url)
    try:
        mismatches = await kpi_mismatches(conn, sent, as_of)
    finally:
        await conn.close()
    assert not mismatches, "\n".join(map(str, mismatches[:30]))


# -- filling a database without a broker ----------------------------------------------------------


class _Rec:
    __slots__ = ("key", "offset", "partition", "topic", "value")

    def __init__(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None
    ) -> None:
        self.topic, self.partition, self.offset, self.key, self.value = topic, partition, offset, key, value


async def store_events(database_url: str, events: list[Event], now: datetime) -> None:
    """Events through the real admission and sink, as partition 0 of their topics."""
    states: dict[tuple[str, int], PartitionState] = {}
    records = []
    for e in events:
        topic, key, value = as_record(e)
        state = states.setdefault((topic, 0), PartitionState(topic, 0))
        records.append(_Rec(topic, 0, state.next_offset, key, value))
        state.next_offset += 1
    for state in states.values():
        state.next_offset = 0
    result = admit(records, states, now=now, grace=timedelta(hours=2), future_tolerance=timedelta(minutes=5))
    conn = await asyncpg.connect(database_url)
    try:
        minute = now.replace(second=0, microsecond=0)
        await sink.store_batch(conn, group="fill", result=result, arrival_minute=minute, hour=0)
    finally:
        await conn.close()
