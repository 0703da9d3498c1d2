"""Load generators that run in their own process: HTTP requests and live WebSocket clients.

HTTP: a minimal HTTP/1.1 keep-alive client on asyncio streams. A general client (httpx)
spends a few hundred µs of CPU per request; on a two-core machine shared with the API, that
would make the generator the bottleneck. With `--rate R` it is open loop: request i is due
at start + i/R whatever earlier ones did, and its latency counts from that due time, so a
stalled server shows up as latency (no coordinated omission). With `--rate 0` it is closed
loop, every connection sending its next request when the last answer arrives: the API's
capacity.

WS: N clients of /api/v1/live. A push's latency is its arrival minus the snapshot's
`as_of` (when the API started computing it, same machine clock): data age on the wall.

    python -m bench.loadgen http --url http://127.0.0.1:8000/api/v1/kpis --rate 500 --duration 15
    python -m bench.loadgen ws --url ws://127.0.0.1:8000/api/v1/live --clients 1000 --hold 10
Each prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import orjson

from bench.stats import percentile


@dataclass
class HttpResult:
    requests: int = 0
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    rate: float = 0.0
    target_rate: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)


class _Conn:
    """One keep-alive HTTP/1.1 connection; answers are read by Content-Length or chunks."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, request: bytes, timeout: float) -> int:
        async with asyncio.timeout(timeout):
            return await self._get(request)

    async def _get(self, request: bytes) -> int:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        if headers.get("connection") == "close":
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def http_load(url: str, rate: float, duration: float, connections: int, timeout: float) -> HttpResult:
    """Open loop at `rate` (or closed loop at 0) for `duration` s; requests still waiting for a
    connection or an answer `timeout` s after the last is due count as errors."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n".encode()
    pool: asyncio.Queue[_Conn] = asyncio.Queue()
    conns = [_Conn(host, port) for _ in range(connections)]
    await asyncio.gather(
        *(c.get(request, timeout) for c in conns)
    )  # connect and warm up outside the measurement
    for conn in conns:
        pool.put_nowait(conn)
    latencies: list[float] = []
    statuses: dict[str, int] = {}

    async def one(due: float) -> None:
        try:
            async with asyncio.timeout(max(0.0, due + timeout - time.perf_counter())):
                conn = await pool.get()
        except TimeoutError:
            statuses["timeout"] = statuses.get("timeout", 0) + 1
            latencies.append(time.perf_counter() - due)
            return
        try:
            status = await conn.get(request, max(0.001, due + timeout - time.perf_counter()))
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError, TimeoutError):
            conn.close()  # counted as an error: no 2xx status recorded
            statuses["failed"] = statuses.get("failed", 0) + 1
        finally:
            pool.put_nowait(conn)
        latencies.append(time.perf_counter() - due)

    start = time.perf_counter()
    if rate > 0:
        tasks = []
        total = int(rate * duration)
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(due)))
        await asyncio.gather(*tasks)
    else:
        end = start + duration

        async def loop() -> None:
            while time.perf_counter() < end:
                await one(time.perf_counter())

        await asyncio.gather(*(loop() for _ in range(connections)))
    seconds = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().close()
    ms = sorted(x * 1000 for x in latencies)
    ok = sum(n for s, n in statuses.items() if s.startswith("2"))
    return HttpResult(
        requests=len(ms),
        ok=ok,
        errors=len(ms) - ok,
        seconds=seconds,
        rate=len(ms) / max(seconds, duration) if seconds else 0.0,
        target_rate=rate,
        p50_ms=percentile(ms, 50),
        p90_ms=percentile(ms, 90),
        p99_ms=percentile(ms, 99),
        max_ms=ms[-1] if ms else 0.0,
        statuses=statuses,
    )


@dataclass
class WsResult:
    clients: int = 0
    connected: int = 0
    failed: int = 0
    dropped: int = 0
    connect_s: float = 0.0
    pushes: int = 0
    clients_with_push: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0


class _LiveClients:
    """The clients of one WebSocket run and what they saw.

    Each client just iterates its connection (no per-message timers, so the generator stays
    cheap next to the API on a small machine). Clients not connected by the end of the connect
    phase count as failed and are abandoned.
    """

    def __init__(self, url: str, clients: int, connect_timeout: float) -> None:
        from websockets.asyncio.client import ClientConnection

        self.url, self.clients, self.connect_timeout = url, clients, connect_timeout
        self.result = WsResult(clients=clients)
        self.latencies: list[float] = []
        self.got_push: set[int] = set()
        self.sockets: list[ClientConnection] = []
        self.handshakes = asyncio.Semaphore(64)
        self.measuring = False
        self.connect_phase_over = False
        self.all_connected = asyncio.Event()

    def _settled(self) -> None:
        if len(self.sockets) + self.result.failed == self.clients:
            self.all_connected.set()

    async def client(self, n: int) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, WebSocketException

        try:
            async with self.handshakes, asyncio.timeout(self.connect_timeout):
                if self.connect_phase_over:
                    raise TimeoutError
                ws = await connect(
                    self.url, max_size=None, open_timeout=self.connect_timeout, close_timeout=2
                )
        except (OSError, TimeoutError, WebSocketException):
            self.result.failed += 1
            self._settled()
            return
        if self.connect_phase_over:  # too late to be measured
            self.result.failed += 1
            await ws.close()
            return
        self.sockets.append(ws)
        self._settled()
        try:
            async for raw in ws:
                arrived = time.time()
                if not self.measuring:
                    continue
                message = orjson.loads(raw)
                if message.get("type") == "snapshot" and not message.get("full"):
                    self.latencies.append(arrived - datetime.fromisoformat(message["as_of"]).timestamp())
                    self.got_push.add(n)
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == 1013:
                self.result.dropped += 1


async def ws_load(url: str, clients: int, hold: float, connect_timeout: float) -> WsResult:
    """Connect `clients` clients (64 handshakes at a time, for at most `4 × connect_timeout`),
    time their pushes for `hold` seconds, then close every connection."""
    crowd = _LiveClients(url, clients, connect_timeout)
    result = crowd.result
    started = time.perf_counter()
    tasks = [asyncio.create_task(crowd.client(n)) for n in range(clients)]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(crowd.all_connected.wait(), connect_timeout * 4)
    crowd.connect_phase_over = True
    result.connect_s = time.perf_counter() - started
    result.connected = len(crowd.sockets)
    crowd.measuring = True
    await asyncio.sleep(hold)
    crowd.measuring = False
    closing = [asyncio.create_task(ws.close()) for ws in crowd.sockets]
    if closing:
        await asyncio.wait(closing, timeout=15)
    _done, pending = await asyncio.wait(tasks, timeout=15)
    for task in pending:
        task.cancel()
    result.failed = clients - result.connected
    ms = sorted(x * 1000 for x in crowd.latencies)
    result.pushes = len(ms)
    result.clients_with_push = len(crowd.got_push)
    result.p50_ms, result.p99_ms = percentile(ms, 50), percentile(ms, 99)
    result.max_ms = ms[-1] if ms else 0.0
    return result


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bench load generators (JSON out)")
    sub = parser.add_subparsers(dest="kind", required=True)
    http = sub.add_parser("http", help="HTTP GET load on one URL")
    http.add_argument("--url", required=True)
    http.add_argument("--rate", type=float, default=0.0, help="requests/s, open loop; 0: closed loop")
    http.add_argument("--duration", type=float, default=10.0)
    http.add_argument("--connections", type=int, default=32)
    http.add_argument(
        "--timeout", type=float, default=10.0, help="a request not answered this long after due fails"
    )
    ws = sub.add_parser("ws", help="live WebSocket clients")
    ws.add_argument("--url", required=True)
    ws.add_argument("--clients", type=int, required=True)
    ws.add_argument("--hold", type=float, default=10.0, help="seconds of pushes measured once all connected")
    ws.add_argument("--connect-timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    _raise_fd_limit()
    if args.kind == "http":
        out: object = asyncio.run(
            http_load(args.url, args.rate, args.duration, args.connections, args.timeout)
        )
    else:
        out = asyncio.run(ws_load(args.url, args.clients, args.hold, args.connect_timeout))
    sys.stdout.write(orjson.dumps(asdict(out)).decode() + "\n")  # type: ignore[call-overload]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
