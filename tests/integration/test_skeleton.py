"""The walking skeleton end to end: real broker, real database, real worker and API processes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from cli.runtime.broker import EmbeddedBroker
from cli.runtime.postgres import EmbeddedPostgres
from tests.chaos import produce
from tests.factories import encode, key_of, valid_event
from tests.services import base_env, running_api, running_worker, sample, scrape, wait_until

pytestmark = pytest.mark.integration

TELEMETRY = "ioc.vc.telemetry"


def heartbeats(n: int) -> list[tuple[str, bytes | None, bytes]]:
    now = datetime.now(UTC)
    events = [valid_event("vc.heartbeat", occurred_at=now, endpoint_id=f"TQ-T-{i % 7}") for i in range(n)]
    return [(TELEMETRY, key_of(e), encode(e)) for e in events]


async def stored_outcomes(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT outcome, sum(records)::bigint AS n FROM ingest_minute GROUP BY outcome"
        )
        return {r["outcome"]: r["n"] for r in rows}
    finally:
        await conn.close()


async def test_events_are_counted_through_metrics(broker: EmbeddedBroker, database_url: str) -> None:
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url)
    with running_worker(env) as (_worker, metrics_url), running_api(env) as (_api, api):
        ready = httpx.get(api + "/readyz").json()
        assert (ready["ready"], ready["broker"], ready["database"]) == (True, "ok", "ok")
        bad = [(TELEMETRY, b"TQ-T-1", b"{not json"), (TELEMETRY, b"TQ-T-1", b'{"schema_version": 1}')]
        await produce(broker.bootstrap_servers, heartbeats(50) + bad)

        def worker_counted() -> bool:
            s = scrape(metrics_url)
            return (
                sample(s, "ioc_events_accepted_total", topic=TELEMETRY) == 50
                and sample(s, "ioc_events_rejected_total", topic=TELEMETRY, reason="not_object") == 1
                and sample(s, "ioc_events_consumed_total", topic=TELEMETRY) == 52
            )

        wait_until(worker_counted, timeout=30, what="the worker to count 50 accepted, 2 rejected")

        def api_counted() -> bool:
            s = scrape(api + "/metrics")
            return sample(s, "ioc_source_accepted_5m", topic=TELEMETRY) == 50

        wait_until(api_counted, timeout=10, what="the API's /metrics to show 50 accepted")
        body = httpx.get(api + "/api/v1/sources").json()
        telemetry = next(s for s in body["sources"] if s["topic"] == TELEMETRY)
        assert telemetry["accepted_5m"] == 50 and telemetry["rejected_5m"] == 2
        # Heartbeats are expected every 10 s at all hours: stale exactly when the newest is older.
        silent = datetime.fromisoformat(body["as_of"]) - datetime.fromisoformat(telemetry["newest_event_at"])
        assert telemetry["active"] is True
        assert telemetry["stale"] is (silent.total_seconds() > 10)
        page = httpx.get(api + "/")
        assert page.status_code == 200 and "Trung tâm điều hành" in page.text


async def test_restarted_worker_resumes_without_counting_twice(
    broker: EmbeddedBroker, database_url: str
) -> None:
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url)
    first = heartbeats(40)
    with running_worker(env) as (_w, metrics_url):
        await produce(broker.bootstrap_servers, first)
        wait_until(
            lambda: sample(scrape(metrics_url), "ioc_events_accepted_total", topic=TELEMETRY) == 40,
            timeout=30,
            what="40 accepted",
        )
    # While no worker runs: new events, and the first ones sent again (a source's retry).
    await produce(broker.bootstrap_servers, heartbeats(25) + first)
    with running_worker(env) as (_w, metrics_url):
        wait_until(
            lambda: sample(scrape(metrics_url), "ioc_events_consumed_total", topic=TELEMETRY) == 65,
            timeout=30,
            what="the 65 new records consumed",
        )
        s = scrape(metrics_url)
        assert sample(s, "ioc_events_accepted_total", topic=TELEMETRY) == 25
        assert sample(s, "ioc_events_duplicate_total", topic=TELEMETRY) == 40
    assert await stored_outcomes(database_url) == {"accepted": 65, "duplicate": 40}


async def test_readyz_turns_false_while_the_database_is_down(broker: EmbeddedBroker, tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path)
    pg.start()
    try:
        env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=pg.url)
        with running_api(env) as (_api, api):
            wait_until(lambda: httpx.get(api + "/readyz").status_code == 200, timeout=10, what="ready")
            pg.stop()
            down = httpx.get(api + "/readyz")
            assert down.status_code == 503
            assert down.json()["ready"] is False and down.json()["broker"] == "ok"
            assert "database unreachable" in down.json()["database"]
            assert httpx.get(api + "/healthz").status_code == 200  # alive, just not ready
            pg.restart()
            wait_until(lambda: httpx.get(api + "/readyz").status_code == 200, timeout=15, what="ready again")
    finally:
        pg.stop()


async def test_readyz_turns_false_while_the_broker_is_down(database_url: str) -> None:
    broker = EmbeddedBroker()
    broker.start()
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url)
    with running_api(env) as (_api, api):
        wait_until(lambda: httpx.get(api + "/readyz").status_code == 200, timeout=10, what="ready")
        broker.stop()
        down = httpx.get(api + "/readyz", timeout=10)
        assert down.status_code == 503 and "broker unreachable" in down.json()["broker"]
