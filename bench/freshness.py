"""Freshness: how long from sending an event until the database, then the API, shows it.

A live product (broker, worker, API, fresh database) runs under the simulator's real-time
traffic at a multiple of the province's rate. The simulator sends every topic but the
portal's, so `portal.submitted` in `/api/v1/kpis` moves only with the bench's markers:
`application.submitted` events, one every `--fresh-interval` seconds, all with one key (one
partition, so they become visible in order: count n means markers 1..n are through).
Pollers watch the count in the database (`kpi_minute`, every 20 ms) and through the API
(`GET /api/v1/kpis?window=1h`, every 50 ms), and a live client (`/api/v1/live`, as the wall)
reads it from every push; a marker's latency is the first poll or push that shows it minus its
send time, so the polled figures carry up to one poll interval of resolution.

At the highest rate, the same live product then serves the WebSocket ramp: ever more
/api/v1/live clients (a separate process) until pushes stop arriving within 2 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaProducer

from bench.data import marker
from bench.env import REPO, Bench, Child, connect, progress, wait_for
from bench.stats import summary_ms
from sources import EOFFICE_DOCUMENTS, PORTAL_APPLICATIONS, VC_MEETINGS, VC_TELEMETRY
from sources.portal.kpis import SUBMITTED as PO_SUBMITTED
from tests.services import sample, scrape


@dataclass
class FreshnessRun:
    rate: float
    markers: int = 0
    events_per_s: float = 0.0
    db: dict[str, float] = field(default_factory=dict)
    api: dict[str, float] = field(default_factory=dict)
    lost_db: int = 0
    lost_api: int = 0
    live: dict[str, float] = field(default_factory=dict)  # to a live-channel push
    lost_live: int = 0


@dataclass
class WsLevel:
    clients: int
    result: dict[str, Any] = field(default_factory=dict)
    ok: bool = False


@dataclass
class WsRamp:
    rate: float = 0.0
    levels: list[WsLevel] = field(default_factory=list)

    @property
    def max_ok(self) -> int:
        return max((lv.clients for lv in self.levels if lv.ok), default=0)

    @property
    def limit_found(self) -> bool:
        """Whether a level failed (else the limit is above the highest level tried)."""
        return any(not lv.ok for lv in self.levels)


class _Watch:
    """Send times of markers and the first time each was seen."""

    def __init__(self) -> None:
        self.sent: list[float] = []
        self.seen: list[float] = []

    def saw(self, count: int, at: float) -> None:
        while len(self.seen) < min(count, len(self.sent)):
            self.seen.append(at)

    def latencies(self) -> list[float]:
        return [s - t for t, s in zip(self.sent, self.seen, strict=False)]


async def _poll_db(conn: asyncpg.Connection, watch: _Watch, stop: asyncio.Event) -> None:
    while not stop.is_set():
        value = await conn.fetchval(
            "SELECT coalesce(sum(value), 0) FROM kpi_minute WHERE metric = $1", PO_SUBMITTED
        )
        watch.saw(int(value), time.perf_counter())
        await asyncio.sleep(0.02)


async def _poll_api(client: httpx.AsyncClient, url: str, watch: _Watch, stop: asyncio.Event) -> None:
    while not stop.is_set():
        response = await client.get(url)
        if response.status_code == 200:
            value = response.json()["kpis"].get("portal.submitted") or 0
            watch.saw(int(value), time.perf_counter())
        await asyncio.sleep(0.05)


async def _watch_live(url: str, watch: _Watch, stop: asyncio.Event) -> None:
    """A wall's view: the count as each live push carries it (a push names the KPIs changed)."""
    from websockets.asyncio.client import connect as ws_connect

    async with ws_connect(url, max_size=None) as ws:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                message = orjson.loads(await asyncio.wait_for(ws.recv(), 0.2))
                value = (
                    message.get("kpis", {}).get("portal.submitted")
                    if message.get("type") == "snapshot"
                    else None
                )
                if value is not None:
                    watch.saw(int(value), time.perf_counter())


def _consumed(metrics_url: str) -> float:
    samples = scrape(metrics_url)
    return sum(
        sample(samples, "ioc_events_consumed_total", topic=t)
        for t in (VC_TELEMETRY, VC_MEETINGS, EOFFICE_DOCUMENTS, PORTAL_APPLICATIONS)
    )


async def _markers(
    bench: Bench, bootstrap: str, database_url: str, api: str, metrics_url: str, rate: float
) -> FreshnessRun:
    s = bench.settings
    run = FreshnessRun(rate=rate)
    db_watch, api_watch, live_watch = _Watch(), _Watch(), _Watch()
    stop = asyncio.Event()
    tag = uuid.uuid4().hex[:8]
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=0, client_id="bench-marker"
    )
    await producer.start()
    consumed0, t0 = _consumed(metrics_url), time.perf_counter()
    try:
        async with connect(database_url) as conn, httpx.AsyncClient(timeout=10) as client:
            pollers = [
                asyncio.create_task(_poll_db(conn, db_watch, stop)),
                asyncio.create_task(_poll_api(client, f"{api}/api/v1/kpis?window=1h", api_watch, stop)),
                asyncio.create_task(
                    _watch_live(api.replace("http://", "ws://") + "/api/v1/live", live_watch, stop)
                ),
            ]
            end = time.perf_counter() + s.fresh_duration_s
            seq = 0
            while time.perf_counter() < end:
                key, value = marker(seq, tag)
                sent = time.perf_counter()
                for watch in (db_watch, api_watch, live_watch):
                    watch.sent.append(sent)
                await producer.send_and_wait(PORTAL_APPLICATIONS, value=value, key=key)
                seq += 1
                await asyncio.sleep(max(0.0, sent + s.fresh_interval_s - time.perf_counter()))
            run.markers = seq
            with contextlib.suppress(TimeoutError):  # a marker never seen is counted as lost
                await wait_for(
                    lambda: min(len(w.seen) for w in (db_watch, api_watch, live_watch)) >= seq,
                    timeout=15,
                    what="the last marker",
                )
            stop.set()
            await asyncio.gather(*pollers)
    finally:
        await producer.stop()
    run.events_per_s = (_consumed(metrics_url) - consumed0) / (time.perf_counter() - t0)
    run.lost_db = run.markers - len(db_watch.seen)
    run.lost_api = run.markers - len(api_watch.seen)
    run.lost_live = run.markers - len(live_watch.seen)
    run.db = summary_ms(db_watch.latencies())
    run.api = summary_ms(api_watch.latencies())
    run.live = summary_ms(live_watch.latencies())
    progress(
        f"freshness at {rate:g}x ({run.events_per_s:,.0f} events/s): {run.markers} markers, "
        f"database p95 {run.db['p95_ms']:.0f} ms, API p95 {run.api['p95_ms']:.0f} ms, "
        f"live push p95 {run.live['p95_ms']:.0f} ms"
    )
    return run


async def _ws_level(bench: Bench, api: str, clients: int) -> WsLevel:
    """One level of the ramp: a load-generator process holding `clients` live connections."""
    s = bench.settings
    url = api.replace("http://", "ws://") + "/api/v1/live"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.loadgen",
        "ws",
        "--url",
        url,
        "--clients",
        str(clients),
        "--hold",
        str(s.ws_hold_s),
        cwd=REPO,
        env=bench.child_env({}),
        stdout=asyncio.subprocess.PIPE,
    )
    level = WsLevel(clients=clients)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=s.ws_hold_s + 120)
        level.result = orjson.loads(out)
    except (TimeoutError, orjson.JSONDecodeError) as exc:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        level.result = {
            "connected": 0,
            "pushes": 0,
            "p50_ms": 0.0,
            "p99_ms": 0.0,
            "dropped": 0,
            "error": str(exc),
        }
        progress(f"live clients {clients}: the load generator failed ({exc!r})")
        return level
    result = level.result
    level.ok = (
        result["connected"] == clients
        and result["dropped"] == 0
        and result["clients_with_push"] == clients
        and result["p99_ms"] < 2000
    )
    progress(
        f"live clients {clients}: {result['connected']} connected, {result['pushes']} pushes, "
        f"p99 {result['p99_ms']:.0f} ms, {result['dropped']} dropped"
        f" -> {'ok' if level.ok else 'over the limit'}"
    )
    return level


def _live(worker: Child, api_child: Child, metrics_url: str, api: str) -> bool:
    """The worker owns partitions and the API answers KPIs (raises if either died)."""
    worker.check()
    api_child.check()
    try:
        owned = sample(scrape(metrics_url), "ioc_partitions_assigned")
        return owned > 0 and httpx.get(f"{api}/api/v1/kpis?window=1h", timeout=5).status_code == 200
    except (httpx.HTTPError, OSError):
        return False


async def measure(bench: Bench, *, ws_ramp: bool) -> tuple[list[FreshnessRun], WsRamp | None]:
    """Freshness at each `--fresh-rates` load; the WebSocket ramp under the highest one."""
    s = bench.settings
    runs: list[FreshnessRun] = []
    ramp: WsRamp | None = None
    rates = sorted(s.fresh_rates)
    for rate in rates:
        broker = await bench.new_broker(s.partitions)
        database_url = await bench.new_database("bench_fresh")
        children: list[Child] = []
        try:
            worker, metrics_url = bench.start_worker(
                broker, database_url, f"bench-fresh-{uuid.uuid4().hex[:6]}"
            )
            api_child, api = bench.start_api(broker, database_url)
            children += [worker, api_child]

            await wait_for(
                functools.partial(_live, worker, api_child, metrics_url, api),
                timeout=120,
                what="the live worker and API",
            )
            topics = [a for t in (VC_TELEMETRY, VC_MEETINGS, EOFFICE_DOCUMENTS) for a in ("--topic", t)]
            simulator = bench.spawn_python(
                "simulate",
                ["cli", "simulate", "--rate", f"{rate:g}", "--seed", str(s.sim_seed), "--quiet", *topics],
                {"IOC_KAFKA_URL": broker.url},
            )
            children.append(simulator)
            await asyncio.sleep(s.fresh_warmup_s)
            simulator.check()
            runs.append(await _markers(bench, broker.bootstrap_servers, database_url, api, metrics_url, rate))
            if ws_ramp and rate == rates[-1]:
                ramp = WsRamp(rate=rate)
                for clients in s.ws_levels:
                    level = await _ws_level(bench, api, clients)
                    ramp.levels.append(level)
                    if not level.ok:
                        break
        finally:
            bench.stop(*reversed(children))
            bench.stop_broker(broker)
            await bench.drop_database(database_url)
    return runs, ramp
