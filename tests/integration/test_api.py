"""The HTTP API on a real server over a real database: every route, every error.

The database is filled through the real ingest path (tests/integration/test_kpis_oracle.py's
run_pipeline) with events around now, and answers are compared with the oracle at the
`as_of` the API reports.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import websockets
from aiokafka import AIOKafkaProducer

from cli.runtime.broker import EmbeddedBroker
from ioc.registry import load_registry
from schemas.kpis import MAX_POINTS
from sources import BY_NAME, CATALOG
from tests import oracle
from tests.factories import encode, key_of, valid_event
from tests.integration import test_kpis_oracle as pipeline
from tests.scenarios import scenario
from tests.services import base_env, running_api, running_worker, wait_until, wait_until_async

pytestmark = pytest.mark.integration

REGISTRY = load_registry()
CONFIG = oracle.OracleConfig(registry=REGISTRY)


def parse_time(text: str) -> datetime:
    assert text.endswith("Z"), f"timestamps are RFC 3339 in UTC: {text}"
    return datetime.fromisoformat(text)


@pytest.fixture
async def filled(database_url: str) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A database holding a scenario's events around now."""
    now = datetime.now(UTC)
    events = scenario(random.Random(3), now, REGISTRY, span_min=90)
    pipeline.NOW = now  # the pipeline's admission clock for this fill
    conn = await asyncpg.connect(database_url)
    try:
        await pipeline.run_pipeline(conn, events, [len(events) // 2])
    finally:
        await conn.close()
    yield database_url, events


@pytest.fixture
def api(
    filled: tuple[str, list[dict[str, Any]]], broker: EmbeddedBroker
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    database_url, events = filled
    with running_api(base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url)) as (_p, base):
        yield base, events


def close(got: float | None, want: float | None, name: str) -> bool:
    return pipeline.close(got, want, percentile=name.endswith(("_p50", "_p95")))


def test_kpis_are_every_kpi_and_equal_the_oracle(api: tuple[str, list[dict[str, Any]]]) -> None:
    base, events = api
    for window in ("15m", "1h"):
        body = httpx.get(f"{base}/api/v1/kpis", params={"window": window}).json()
        assert body["window"] == window and set(body["kpis"]) == set(BY_NAME)
        want = oracle.all_kpis(events, as_of=parse_time(body["as_of"]), window=window, config=CONFIG)
        bad = {n: (body["kpis"][n], want[n]) for n in BY_NAME if not close(body["kpis"][n], want[n], n)}
        assert not bad
    assert httpx.get(f"{base}/api/v1/kpis").json()["window"] == "1h"  # the default


def test_a_kpi_by_a_dimension(api: tuple[str, list[dict[str, Any]]]) -> None:
    base, events = api
    body = httpx.get(f"{base}/api/v1/kpis/portal.submitted", params={"by": "agency", "window": "6h"}).json()
    assert body["name"] == "portal.submitted" and body["by"] == "agency" and body["window"] == "6h"
    want = oracle.kpi(
        events, "portal.submitted", as_of=parse_time(body["as_of"]), window="6h", by="agency", config=CONFIG
    )
    assert body["values"] == want
    total = httpx.get(f"{base}/api/v1/kpis/portal.submitted", params={"window": "6h"}).json()
    assert total["by"] is None and total["values"] == {"": sum(want.values())}  # type: ignore[union-attr]


def test_series_with_and_without_a_breakdown(api: tuple[str, list[dict[str, Any]]]) -> None:
    base, events = api
    to = datetime.now(UTC).replace(microsecond=0)
    frm = to - timedelta(hours=2)
    params = {"from": frm.isoformat(), "to": to.isoformat(), "step": "15m"}
    body = httpx.get(f"{base}/api/v1/series/vc.heartbeats", params=params).json()
    assert body["name"] == "vc.heartbeats" and body["step"] == "15m" and body["series"] is None
    assert parse_time(body["from"]) == frm and parse_time(body["to"]) == to
    points = body["points"]
    assert [parse_time(p["t"]) for p in points] == sorted(parse_time(p["t"]) for p in points)
    for p in points:
        t = parse_time(p["t"])
        assert p["value"] == oracle.range_kpi(events, "vc.heartbeats", start=t, end=t + timedelta(minutes=15))
    by = httpx.get(f"{base}/api/v1/series/portal.on_time_pct", params={**params, "by": "agency"}).json()
    assert by["points"] is None and set(by["series"]) >= set(REGISTRY.agency_codes)
    default = httpx.get(f"{base}/api/v1/series/eoffice.received").json()
    span = parse_time(default["to"]) - parse_time(default["from"])
    assert span == timedelta(hours=24) and default["step"] == "1m" and len(default["points"]) in (1440, 1441)


@pytest.mark.parametrize(
    ("path", "params", "status", "error", "allowed"),
    [
        ("/api/v1/kpis/nope", {}, 404, "unknown_kpi", "vc.heartbeats"),
        ("/api/v1/kpis", {"window": "2h"}, 422, "invalid_parameter", "24h"),
        ("/api/v1/kpis/vc.heartbeats", {"by": "agency"}, 400, "unknown_breakdown", "district"),
        ("/api/v1/kpis/vc.heartbeats", {"by": "planet"}, 422, "invalid_parameter", "service_level"),
        ("/api/v1/kpis/vc.meetings_active", {"by": "district"}, 400, "unknown_breakdown", None),
        ("/api/v1/series/vc.heartbeats", {"step": "2m"}, 422, "invalid_parameter", "1d"),
        ("/api/v1/series/nope", {}, 404, "unknown_kpi", "portal.paid"),
        (
            "/api/v1/series/vc.heartbeats",
            {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            400,
            "from_after_to",
            None,
        ),
        (
            "/api/v1/series/vc.heartbeats",
            {"from": "2025-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "step": "1m"},
            400,
            "too_many_points",
            None,
        ),
        ("/api/v1/series/vc.heartbeats", {"from": "yesterday"}, 422, "invalid_parameter", None),
        ("/api/v1/series/vc.heartbeats", {"from": "2026-01-01T00:00:00"}, 400, "naive_time", None),
        (
            "/api/v1/alerts/history",
            {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            400,
            "from_after_to",
            None,
        ),
        ("/api/v1/nothing-here", {}, 404, "http_error", None),
    ],
)
def test_misuse_gets_a_4xx_that_says_what_is_allowed(
    api: tuple[str, list[dict[str, Any]]],
    path: str,
    params: dict[str, str],
    status: int,
    error: str,
    allowed: str | None,
) -> None:
    base, _ = api
    r = httpx.get(base + path, params=params)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error and body["detail"]
    if allowed is not None:
        assert allowed in body["allowed"]
    if error == "too_many_points":
        assert str(MAX_POINTS) in body["detail"]


def test_catalog_sources_alerts_and_docs(api: tuple[str, list[dict[str, Any]]]) -> None:
    base, _ = api
    catalog = httpx.get(f"{base}/api/v1/catalog").json()
    assert [k["name"] for k in catalog["kpis"]] == [k.name for k in CATALOG]
    on_time = next(k for k in catalog["kpis"] if k["name"] == "portal.on_time_pct")
    assert on_time["better"] == "higher" and on_time["thresholds"] == {"warn": 95.0, "bad": 90.0}
    assert (
        on_time["label_vi"]
        and on_time["label_en"]
        and on_time["breakdowns"] == ["agency", "district", "service_level"]
    )
    assert catalog["windows"] == ["5m", "15m", "1h", "6h", "24h", "7d"]
    sources = wait_until(lambda: httpx.get(f"{base}/api/v1/sources").json(), timeout=10, what="sources")
    assert {s["topic"] for s in sources["sources"]} == {  # type: ignore[index]
        "ioc.vc.telemetry", "ioc.vc.meetings", "ioc.eoffice.documents", "ioc.portal.applications",
        "ioc.market.payments", "ioc.community.activities",
    }  # fmt: skip
    alerts = httpx.get(f"{base}/api/v1/alerts").json()
    assert alerts["alerts"] == [] and parse_time(alerts["as_of"])
    history = httpx.get(f"{base}/api/v1/alerts/history").json()
    assert history["changes"] == [] and "from" in history
    assert httpx.get(f"{base}/docs").status_code == 200
    spec = httpx.get(f"{base}/openapi.json").json()
    window = next(p for p in spec["paths"]["/api/v1/kpis"]["get"]["parameters"] if p["name"] == "window")
    assert window["schema"]["enum"] == ["5m", "15m", "1h", "6h", "24h", "7d"]
    assert "404" in spec["paths"]["/api/v1/kpis/{name}"]["get"]["responses"]


def test_metrics_follow_prometheus_naming(api: tuple[str, list[dict[str, Any]]]) -> None:
    base, _ = api

    def gauges() -> str | None:
        text = httpx.get(f"{base}/metrics").text
        return text if "ioc_vc_heartbeats{" in text else None

    text = wait_until(gauges, timeout=30, what="KPI gauges")
    assert isinstance(text, str)
    assert 'ioc_vc_rtt_seconds_p95{window="1h"}' in text  # ms turned into seconds
    assert 'ioc_portal_submitted{agency="' in text and "endpoint=" not in text
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: run `make system-deps` (Debian package prometheus)"
    lint = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


async def test_a_stored_batch_reaches_answers_and_pushes_at_once(
    broker: EmbeddedBroker, database_url: str
) -> None:
    """With the periodic refresh set to 30 s, only the worker's notice (LISTEN/NOTIFY) can bring
    a new event to the API's answers and the live channel within seconds."""
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url, IOC_SNAPSHOT_INTERVAL_S="30")
    with running_worker(env), running_api(env) as (_p, base):
        async with (
            httpx.AsyncClient(base_url=base, timeout=10) as client,
            websockets.connect(base.replace("http", "ws") + "/api/v1/live") as ws,
        ):
            first = orjson.loads(await asyncio.wait_for(ws.recv(), 35))
            before = (await client.get("/api/v1/kpis")).json()["kpis"]["eoffice.received"]
            assert first["kpis"]["eoffice.received"] == before
            producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
            await producer.start()
            doc = valid_event("document.received", occurred_at=datetime.now(UTC))
            await producer.send_and_wait("ioc.eoffice.documents", encode(doc), key=key_of(doc))
            await producer.stop()
            conn = await asyncpg.connect(database_url)
            try:
                await wait_until_async(
                    lambda: conn.fetchval("SELECT count(*) FROM eoffice_documents"),
                    timeout=30,
                    interval=0.02,
                    what="the document stored",
                )
            finally:
                await conn.close()
            stored = time.monotonic()
            await wait_until_async(
                lambda: _answers(client, before + 1), timeout=10, interval=0.02, what="the answer to change"
            )
            answered = time.monotonic() - stored
            while True:
                msg = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
                if msg["type"] == "snapshot" and msg["kpis"].get("eoffice.received") == before + 1:
                    break
            pushed = time.monotonic() - stored
    # generous bounds: without the notice these take up to 30 s; the benchmark reports the figures
    assert answered < 5 and pushed < 5, (answered, pushed)


async def _answers(client: httpx.AsyncClient, expected: float) -> bool:
    got = (await client.get("/api/v1/kpis")).json()["kpis"]["eoffice.received"]
    return bool(got == expected)


async def test_live_channel_pushes_a_snapshot_then_changes(broker: EmbeddedBroker, database_url: str) -> None:
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url)
    with running_worker(env), running_api(env) as (_p, base):
        async with websockets.connect(base.replace("http", "ws") + "/api/v1/live") as ws:
            first = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
            assert first["type"] == "snapshot" and first["full"] is True
            assert set(first["kpis"]) == set(BY_NAME) and len(first["sources"]) == 6
            before = first["kpis"]["eoffice.received"]

            producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
            await producer.start()
            doc = valid_event("document.received", occurred_at=datetime.now(UTC))
            await producer.send_and_wait("ioc.eoffice.documents", encode(doc), key=key_of(doc))
            await producer.stop()
            conn = await asyncpg.connect(database_url)
            try:
                await wait_until_async(
                    lambda: conn.fetchval("SELECT count(*) FROM eoffice_documents"),
                    timeout=30,
                    interval=0.02,
                    what="the document stored",
                )
            finally:
                await conn.close()
            accepted = time.monotonic()
            while True:
                msg = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
                if msg["type"] == "snapshot" and msg["kpis"].get("eoffice.received", before) != before:
                    break
            took = time.monotonic() - accepted
            assert msg["full"] is False and msg["kpis"]["eoffice.received"] == before + 1
            assert took < 5, f"the change reached the client {took:.2f} s after acceptance"
