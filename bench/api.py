"""The API under load, on a database holding days of minute data at the province's cardinality.

The database is the main pipeline run's: one simulated day of real worker output (KPI
building blocks, presence, entity rows). SQL copies that day back over `--api-days` days and
shifts it so the newest minute is now; hourly rollups are rebuilt from the minute rows (as
the sink keeps them), entities get one copy per day with their times shifted. So every row
was shaped by the real pipeline and the tables hold the row counts a week of the real
province would.

Load comes from bench/loadgen.py in its own process: a fixed request rate (the target is
stated at one) and a closed loop (capacity), for `/api/v1/kpis?window=1h` (what the wall
polls) and a 24-hour one-minute series of `vc.heartbeats` (1,440 points).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import orjson

from bench.env import REPO, Bench, connect, progress, wait_for

KPIS_PATH = "/api/v1/kpis?window=1h"
SERIES_PATH = "/api/v1/series/vc.heartbeats?step=1m"

_DIMS = "dim_set"  # the dimension set of a KPI row (dimension_sets.id)


@dataclass
class WeekDatabase:
    days: int = 0
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)


@dataclass
class Endpoint:
    path: str
    connections: int = 0
    uncached_ms: float = 0.0
    fixed: dict[str, Any] = field(default_factory=dict)
    closed: dict[str, Any] = field(default_factory=dict)


async def build_week(database_url: str, days: int) -> WeekDatabase:
    """Turn the day the pipeline stored into `days` days ending now (see the module docstring)."""
    started = time.perf_counter()
    async with connect(database_url) as conn, conn.transaction():
        span = await conn.fetchrow("SELECT min(bucket) AS lo, max(bucket) AS hi FROM kpi_minute")
        lo, hi = (span["lo"], span["hi"]) if span is not None else (None, None)
        if lo is None or hi is None:
            raise RuntimeError("the pipeline stored no minute data to build the API's database from")
        hours = max(1, -int(-(hi - lo).total_seconds() // 3600))
        period = timedelta(hours=hours)
        copies = -(-days * 24 // hours)
        shift = await conn.fetchval("SELECT date_trunc('minute', now()) - $1::timestamptz", hi)
        hour_shift = timedelta(hours=shift.total_seconds() // 3600)
        args = (shift, period, copies, hi - period)
        for table, values in (
            ("kpi_minute", f"{_DIMS}, value"),
            ("kpi_sketch_minute", f"{_DIMS}, bins, counts"),
        ):
            await conn.execute(f"CREATE TEMP TABLE src AS SELECT * FROM {table} WHERE bucket > $1", args[3])
            await conn.execute(f"TRUNCATE {table}")
            await conn.execute(
                f"INSERT INTO {table} (bucket, metric, {values})"
                f" SELECT bucket + $1::interval - k * $2::interval, metric, {values}"
                " FROM src CROSS JOIN generate_series(0, $3 - 1) AS k",
                *args[:3],
            )
            await conn.execute("DROP TABLE src")
        await conn.execute("TRUNCATE kpi_hour, kpi_sketch_hour")
        await conn.execute(
            f"INSERT INTO kpi_hour (bucket, metric, {_DIMS}, value)"
            f" SELECT date_trunc('hour', bucket), metric, {_DIMS}, sum(value) FROM kpi_minute"
            f" GROUP BY date_trunc('hour', bucket), metric, {_DIMS}"
        )
        await conn.execute(
            f"INSERT INTO kpi_sketch_hour (bucket, metric, {_DIMS}, bins, counts)"
            f" SELECT hour, metric, {_DIMS}, array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin)"
            f" FROM (SELECT date_trunc('hour', bucket) AS hour, metric, {_DIMS}, bin, sum(count) AS n"
            f" FROM kpi_sketch_bins_minute GROUP BY 1, 2, 3, 4) h GROUP BY hour, metric, {_DIMS}"
        )
        await conn.execute("CREATE TEMP TABLE src AS SELECT * FROM vc_presence WHERE hour > $1", hi - period)
        await conn.execute("TRUNCATE vc_presence")
        await conn.execute(
            "INSERT INTO vc_presence SELECT endpoint_id, hour + $1::interval - k * $2::interval,"
            " district, site_level, minutes FROM src CROSS JOIN generate_series(0, $3 - 1) AS k"
            " ON CONFLICT DO NOTHING",
            hour_shift,
            period,
            copies,
        )
        await conn.execute("DROP TABLE src")
        for table, key, times in (
            ("portal_applications", "application_id", ("submitted_at", "due_at", "resolved_at")),
            ("eoffice_documents", "document_id", ("received_at", "due_at", "processed_at")),
            ("vc_meetings", "meeting_id", ("started_at", "ended_at")),
        ):
            cols = [
                r["attname"]
                for r in await conn.fetch(
                    "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0"
                    " AND NOT attisdropped ORDER BY attnum",
                    table,
                )
            ]
            select = ", ".join(
                f"{c} + $1::interval - k * $2::interval"
                if c in times
                else f"{c} || CASE WHEN k = 0 THEN '' ELSE '~' || k END"
                if c == key
                else c
                for c in cols
            )
            await conn.execute(f"CREATE TEMP TABLE src AS SELECT * FROM {table}")
            await conn.execute(f"TRUNCATE {table}")
            await conn.execute(
                f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select}"
                " FROM src CROSS JOIN generate_series(0, $3 - 1) AS k",
                shift,
                period,
                copies,
            )
            await conn.execute("DROP TABLE src")
        await conn.execute("UPDATE vc_endpoints SET last_event_at = last_event_at + $1::interval", shift)
        await conn.execute(
            "UPDATE ingest_offsets SET newest_event_at = newest_event_at + $1::interval", shift
        )
    week = WeekDatabase(days=days)
    async with connect(database_url) as conn:
        await conn.execute("ANALYZE")
        for table in (
            "kpi_minute",
            "kpi_hour",
            "kpi_sketch_minute",
            "kpi_sketch_hour",
            "vc_presence",
            "portal_applications",
            "eoffice_documents",
            "vc_endpoints",
        ):
            week.rows[table] = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    week.seconds = time.perf_counter() - started
    progress(
        f"api: {days} days of minute data built in {week.seconds:.1f} s "
        f"({week.rows['kpi_minute']:,} kpi_minute, {week.rows['kpi_sketch_minute']:,} sketch rows)"
    )
    return week


async def _load(bench: Bench, url: str, rate: float, connections: int) -> dict[str, Any]:
    s = bench.settings
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.loadgen",
        "http",
        "--url",
        url,
        "--rate",
        str(rate),
        "--duration",
        str(s.api_duration_s),
        "--connections",
        str(connections),
        "--timeout",
        str(s.api_timeout_s),
        cwd=REPO,
        env=bench.child_env({}),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    result: dict[str, Any] = orjson.loads(out)
    how = f"{rate:g}/s fixed" if rate else "closed loop"
    progress(
        f"api {url.split('127.0.0.1', 1)[-1]} {how}: {result['rate']:,.0f} req/s, "
        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, {result['errors']} errors"
    )
    return result


async def _uncached_ms(client: httpx.AsyncClient, url: str, ttl_s: float, n: int = 3) -> float:
    """Median latency of requests that miss the API's one-second answer cache."""
    times = []
    for _ in range(n):
        await asyncio.sleep(ttl_s + 0.1)
        started = time.perf_counter()
        (await client.get(url)).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def measure(bench: Bench, database_url: str) -> tuple[WeekDatabase, list[Endpoint]]:
    s = bench.settings
    week = await build_week(database_url, s.api_days)
    broker = await bench.new_broker(1)  # the API's readiness probe wants one; no load on it
    api_child, api = bench.start_api(broker, database_url)
    endpoints = [Endpoint(KPIS_PATH), Endpoint(SERIES_PATH)]
    try:
        async with httpx.AsyncClient(timeout=30) as client:

            async def ready() -> bool:
                api_child.check()
                try:
                    return (await client.get(api + KPIS_PATH)).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_for(ready, timeout=60, what="the API")
            loads = ((s.api_kpis_rate, s.api_connections), (s.api_series_rate, s.api_series_connections))
            for ep, (rate, connections) in zip(endpoints, loads, strict=True):
                ep.connections = connections
                ep.uncached_ms = await _uncached_ms(client, api + ep.path, 1.0, n=1 if s.smoke else 3)
                ep.fixed = await _load(bench, api + ep.path, rate, connections)
                ep.closed = await _load(bench, api + ep.path, 0, connections)
    finally:
        bench.stop(api_child)
        bench.stop_broker(broker)
    return week, endpoints
