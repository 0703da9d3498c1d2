"""API tokens, scopes, CORS and request limits, data in, data out (no broker, no database)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from api.auth import (
    ALL,
    AuthSettings,
    Caller,
    RedactTokens,
    Scope,
    Tokens,
    install_auth,
    parse_scope,
    parse_tokens,
)
from api.main import create_app
from ioc.settings import Settings

T_ALL = "all-0123456789abcdef"  # made-up test tokens
T_DISTRICT = "district-0123456789ab"
T_AGENCY = "agency-0123456789abcd"
TOKENS = f"{T_ALL}:all, {T_DISTRICT}:district:YEN_SON,{T_AGENCY}:agency:SO_TTTT"


def tokens(text: str = TOKENS, **extra: object) -> Tokens:
    return Tokens(AuthSettings(api_tokens=text, **extra))  # type: ignore[arg-type]


# -- parsing ------------------------------------------------------------------------------------------


def test_comma_list_and_json_give_the_same_scopes() -> None:
    listed = parse_tokens(TOKENS)
    json = parse_tokens(
        f'{{"{T_ALL}": "all", "{T_DISTRICT}": "district:YEN_SON", "{T_AGENCY}": "agency:SO_TTTT"}}'
    )
    assert listed == json
    assert sorted(map(str, listed.values())) == ["agency:SO_TTTT", "all", "district:YEN_SON"]


def test_a_bare_token_is_scope_all_and_no_text_means_no_tokens() -> None:
    assert list(parse_tokens(T_ALL).values()) == [ALL]
    assert parse_tokens("") == {} and parse_tokens("  ") == {}
    assert not tokens("").enabled


@pytest.mark.parametrize(
    "text",
    [
        "short:all",
        f"{T_ALL}:everything",
        f"{T_ALL}:district:",
        f"{T_ALL}:province:X",
        '{"not json',
        f'{{"{T_ALL}": 3}}',
    ],
)
def test_bad_token_settings_fail_at_start_without_printing_the_token(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOC_API_TOKENS", text)
    with pytest.raises(ValidationError) as err:
        AuthSettings()
    assert T_ALL not in str(err.value) and "0123456789" not in str(err.value)


def test_settings_come_from_ioc_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_API_TOKENS", TOKENS)
    monkeypatch.setenv("IOC_METRICS_REQUIRE_TOKEN", "false")
    monkeypatch.setenv("IOC_CORS_ORIGINS", "https://wall.example.gov.vn, https://ioc.example.gov.vn")
    s = AuthSettings()
    assert T_ALL not in repr(s) and T_ALL not in str(s.model_dump())  # a SecretStr
    assert not s.metrics_require_token
    assert s.origins == ["https://wall.example.gov.vn", "https://ioc.example.gov.vn"]
    assert AuthSettings.model_fields["cors_origins"].default == ""  # closed by default


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("all", ALL),
        ("district:YEN_SON", Scope("district", "YEN_SON")),
        ("agency:SO_TTTT", Scope("agency", "SO_TTTT")),
    ],
)
def test_scopes(text: str, scope: Scope) -> None:
    assert parse_scope(text) == scope and str(scope) == text


# -- matching and scoping --------------------------------------------------------------------------------


def test_each_token_gets_its_scope_and_nothing_else_matches() -> None:
    t = tokens()
    assert t.scope_of(T_ALL) == ALL
    assert t.scope_of(T_DISTRICT) == Scope("district", "YEN_SON")
    assert t.scope_of(T_AGENCY) == Scope("agency", "SO_TTTT")
    for guess in ("", T_ALL[:-1], T_ALL + "x", T_ALL.upper(), " " + T_ALL, "district:YEN_SON"):
        assert t.scope_of(guess) is None


def test_tokens_are_held_as_digests_only() -> None:
    t = tokens()
    assert all(T_ALL not in repr(v) for v in vars(t).values())


def test_a_scope_sees_only_its_own_breakdown_values() -> None:
    values = {"YEN_SON": 1.0, "HAM_YEN": 2.0, "unknown": 3.0}
    assert ALL.only_mine(values) == values
    assert Scope("district", "YEN_SON").only_mine(values) == {"YEN_SON": 1.0}
    assert Scope("district", "NOWHERE").only_mine(values) == {}


# -- the dependencies on a small app -------------------------------------------------------------------------


def small_app(settings: AuthSettings) -> FastAPI:
    app = FastAPI()
    install_auth(app, settings)

    @app.get("/data")
    async def data(scope: Caller, by: str | None = None) -> dict[str, object]:
        scope.check_breakdown(by)
        return {"values": scope.only_mine({"YEN_SON": 1, "HAM_YEN": 2, "SO_TTTT": 3})}

    @app.get("/everything")
    async def everything(scope: Caller) -> dict[str, str]:
        scope.require_all()
        return {"scope": str(scope)}

    return app


def open_client(app: FastAPI) -> httpx.AsyncClient:
    """Requests straight into the app (its lifespan is not run: no database, no broker)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with open_client(small_app(AuthSettings(api_tokens=TOKENS))) as c:  # type: ignore[arg-type]
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_no_or_unknown_token_is_401_with_a_challenge(client: httpx.AsyncClient) -> None:
    for headers in ({}, bearer("nope-nope-nope-nope"), {"Authorization": f"Basic {T_ALL}"}):
        r = await client.get("/data", headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["error"] == "unauthorized"


async def test_scoped_tokens_read_their_own_breakdown_only(client: httpx.AsyncClient) -> None:
    assert (await client.get("/data?by=district", headers=bearer(T_DISTRICT))).json() == {
        "values": {"YEN_SON": 1}
    }
    assert (await client.get("/data?by=agency", headers=bearer(T_AGENCY))).json() == {
        "values": {"SO_TTTT": 3}
    }
    for token, by in ((T_DISTRICT, "agency"), (T_DISTRICT, None), (T_AGENCY, "district")):
        r = await client.get("/data", params={"by": by} if by else {}, headers=bearer(token))
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert (await client.get("/everything", headers=bearer(T_DISTRICT))).status_code == 403
    assert (await client.get("/everything", headers=bearer(T_ALL))).json() == {"scope": "all"}
    assert len((await client.get("/data", headers=bearer(T_ALL))).json()["values"]) == 3


async def test_without_tokens_everything_is_open() -> None:
    client = open_client(small_app(AuthSettings()))
    assert (await client.get("/everything")).json() == {"scope": "all"}
    assert len((await client.get("/data")).json()["values"]) == 3


# -- the real app: what needs no lifespan ------------------------------------------------------------


def real_app(**auth: Any) -> httpx.AsyncClient:
    return open_client(create_app(Settings(), auth=AuthSettings(**auth)))


async def test_cors_is_closed_by_default_and_open_only_to_configured_origins() -> None:
    origin = {"Origin": "https://evil.example.com"}
    closed = real_app()
    r = await closed.get("/healthz", headers=origin)
    assert r.status_code == 200 and not any(h.startswith("access-control-") for h in r.headers)
    preflight = {**origin, "Access-Control-Request-Method": "GET"}
    assert (
        "access-control-allow-origin" not in (await closed.options("/api/v1/kpis", headers=preflight)).headers
    )

    good = "https://wall.example.gov.vn"
    opened = real_app(cors_origins=good)
    assert (await opened.get("/healthz", headers={"Origin": good})).headers[
        "access-control-allow-origin"
    ] == good
    assert "access-control-allow-origin" not in (await opened.get("/healthz", headers=origin)).headers


async def test_metrics_needs_a_token_of_scope_all_unless_told_otherwise() -> None:
    guarded = real_app(api_tokens=TOKENS)
    assert (await guarded.get("/metrics")).status_code == 401
    assert (await guarded.get("/metrics", headers=bearer(T_DISTRICT))).status_code == 403
    assert (await guarded.get("/api/v1/sources", headers=bearer(T_AGENCY))).status_code == 403
    assert (await guarded.get("/api/v1/kpis", headers=bearer(T_DISTRICT))).status_code == 403
    assert (await guarded.get("/healthz")).status_code == 200
    assert (await guarded.get("/openapi.json")).status_code == 200


async def test_openapi_documents_the_bearer_scheme_only_with_tokens() -> None:
    assert "securitySchemes" not in (await real_app().get("/openapi.json")).json().get("components", {})
    doc = (await real_app(api_tokens=TOKENS).get("/openapi.json")).json()
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    assert doc["paths"]["/api/v1/kpis"]["get"]["security"] == [{"HTTPBearer": []}]


async def test_request_limits() -> None:
    client = real_app(api_max_query_bytes=1024)
    assert (await client.get("/healthz", params={"q": "x" * 2000})).status_code == 414
    assert (await client.request("GET", "/healthz", content=b"x" * 20000)).status_code == 413
    assert (await client.get("/healthz", headers={"X-Big": "y" * 20000})).status_code == 431
    assert (await client.get("/healthz", params={"q": "x" * 500})).status_code == 200


def test_log_records_lose_their_tokens() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5", f"/api/v1/live?window=1h&token={T_ALL}"), None,
    )  # fmt: skip
    RedactTokens().filter(record)
    assert T_ALL not in record.getMessage() and "token=[redacted]" in record.getMessage()
    other = logging.LogRecord("x", logging.INFO, __file__, 1, "Authorization: Bearer %s", (T_ALL,), None)
    RedactTokens().filter(other)
    assert T_ALL not in other.getMessage()
