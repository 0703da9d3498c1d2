"""API tokens, scopes, CORS and request limits, data in, data out (no broker, no database)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from api.auth import Caller, RedactTokens, Tokens, check_breakdown, install_auth, require_everything
from api.main import create_app
from ioc.access import ALL, ANONYMOUS, Principal, Role, Scope, digest, parse_scope, parse_tokens
from ioc.hierarchy import Hierarchy
from ioc.registry import load_registry
from ioc.settings import AuthSettings, Settings

T_ALL = "all-0123456789abcdef"  # made-up test tokens
T_DISTRICT = "district-0123456789ab"
T_AGENCY = "agency-0123456789abcd"
T_OPERATOR = "operator-0123456789ab"
TOKENS = f"{T_ALL}:all, {T_DISTRICT}:district:YEN_SON,{T_AGENCY}:agency:SO_TTTT"
NEW_FORM = (
    f'{{"{T_OPERATOR}": {{"name": "ha.nguyen", "role": "operator", "scope": "district:HAM_YEN"}},'
    f' "sha256:{digest(T_ALL).hex()}": {{"name": "ioc.admin", "role": "admin", "scope": "all"}}}}'
)
HIERARCHY = Hierarchy.of(load_registry(None))


def tokens(text: str = TOKENS, **extra: object) -> Tokens:
    return Tokens(AuthSettings(api_tokens=text, **extra))  # type: ignore[arg-type]


# -- parsing ------------------------------------------------------------------------------------------


def test_the_older_forms_keep_working_as_admin_for_all_and_viewer_otherwise() -> None:
    listed = parse_tokens(TOKENS)
    json = parse_tokens(
        f'{{"{T_ALL}": "all", "{T_DISTRICT}": "district:YEN_SON", "{T_AGENCY}": "agency:SO_TTTT"}}'
    )
    assert listed == json
    assert sorted((str(p.scope), str(p.role)) for p in listed.values()) == [
        ("agency:SO_TTTT", "viewer"),
        ("all", "admin"),
        ("district:YEN_SON", "viewer"),
    ]


def test_the_new_form_names_each_token_with_a_role_and_a_scope_and_takes_digests() -> None:
    parsed = parse_tokens(NEW_FORM)
    assert parsed[digest(T_OPERATOR)] == Principal("ha.nguyen", Role.OPERATOR, Scope("district", "HAM_YEN"))
    assert parsed[digest(T_ALL)] == Principal("ioc.admin", Role.ADMIN, ALL)  # given as its digest only
    t = tokens(NEW_FORM)
    assert t.principal_of(T_ALL) == Principal("ioc.admin", Role.ADMIN, ALL)
    assert t.principal_of(digest(T_ALL).hex()) is None  # the digest is not itself a token


def test_a_bare_token_is_scope_all_and_no_text_means_no_tokens() -> None:
    assert [p.scope for p in parse_tokens(T_ALL).values()] == [ALL]
    assert parse_tokens("") == {} and parse_tokens("  ") == {}
    assert not tokens("").enabled


def test_tokens_can_come_from_a_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "tokens.json"
    f.write_text(NEW_FORM, encoding="utf-8")
    monkeypatch.setenv("IOC_API_TOKENS_FILE", str(f))
    assert Tokens(AuthSettings()).principal_of(T_OPERATOR) is not None
    monkeypatch.setenv("IOC_API_TOKENS_FILE", str(tmp_path / "missing.json"))
    with pytest.raises(ValidationError, match="IOC_API_TOKENS_FILE cannot be read"):
        AuthSettings()


@pytest.mark.parametrize(
    "text",
    [
        "short:all",
        f"{T_ALL}:everything",
        f"{T_ALL}:district:",
        f"{T_ALL}:province:X",
        '{"not json',
        f'{{"{T_ALL}": 3}}',
        f'{{"{T_ALL}": {{"name": "a", "role": "root", "scope": "all"}}}}',
        f'{{"{T_ALL}": {{"name": "a", "role": "viewer"}}}}',
        f'{{"{T_ALL}": {{"name": "a", "role": "viewer", "scope": "all", "extra": 1}}}}',
        f'{{"{T_ALL}": {{"name": "a", "role": "viewer", "scope": "all"}},'
        f' "{T_DISTRICT}": {{"name": "a", "role": "viewer", "scope": "all"}}}}',
        f'{{"sha256:{T_ALL}": {{"name": "a", "role": "viewer", "scope": "all"}}}}',
    ],
)
def test_bad_token_settings_fail_at_start_without_printing_the_token(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOC_API_TOKENS", text)
    with pytest.raises(ValidationError) as err:
        AuthSettings()
    assert T_ALL not in str(err.value) and "0123456789" not in str(err.value)
    assert "IOC_API_TOKENS" in str(err.value)


def test_settings_come_from_ioc_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_API_TOKENS", TOKENS)
    monkeypatch.setenv("IOC_METRICS_REQUIRE_TOKEN", "false")
    monkeypatch.setenv("IOC_CORS_ORIGINS", "https://wall.example.gov.vn, https://ioc.example.gov.vn")
    s = Settings().auth
    assert T_ALL not in repr(s) and T_ALL not in str(s.model_dump())  # a SecretStr
    assert not s.metrics_require_token
    assert s.origins == ["https://wall.example.gov.vn", "https://ioc.example.gov.vn"]
    assert AuthSettings.model_fields["cors_origins"].default == ""  # closed by default


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("all", ALL),
        ("district:YEN_SON", Scope("district", "YEN_SON")),
        ("commune:TP-001", Scope("commune", "TP-001")),
        ("agency:SO_TTTT", Scope("agency", "SO_TTTT")),
    ],
)
def test_scopes(text: str, scope: Scope) -> None:
    assert parse_scope(text) == scope and str(scope) == text


def test_roles_are_ordered() -> None:
    admin, operator, viewer = (Principal("x", r, ALL) for r in (Role.ADMIN, Role.OPERATOR, Role.VIEWER))
    assert admin.may(Role.OPERATOR) and operator.may(Role.OPERATOR) and not viewer.may(Role.OPERATOR)
    assert ANONYMOUS.may(Role.ADMIN) and ANONYMOUS.scope.is_all


# -- matching and scoping --------------------------------------------------------------------------------


def test_each_token_gets_its_principal_and_nothing_else_matches() -> None:
    t = tokens()
    assert t.principal_of(T_ALL) == Principal("token-1", Role.ADMIN, ALL)
    assert t.principal_of(T_DISTRICT) == Principal("token-2", Role.VIEWER, Scope("district", "YEN_SON"))
    for guess in ("", T_ALL[:-1], T_ALL + "x", T_ALL.upper(), " " + T_ALL, "district:YEN_SON"):
        assert t.principal_of(guess) is None


def test_tokens_are_held_as_digests_only() -> None:
    t = tokens()
    assert all(T_ALL not in repr(v) for v in vars(t).values())


# -- the dependencies on a small app -------------------------------------------------------------------------


def small_app(settings: AuthSettings) -> FastAPI:
    app = FastAPI()
    install_auth(app, settings)

    @app.get("/data")
    async def data(principal: Caller, by: str | None = None) -> dict[str, object]:
        check_breakdown(principal, by, ["district", "agency", "site_level"], HIERARCHY)
        values = {"YEN_SON": 1, "HAM_YEN": 2, "SO_TTTT": 3}
        dim = by or principal.scope.kind
        return {"values": {k: v for k, v in values.items() if HIERARCHY.holds(principal.scope, dim, k)}}

    @app.get("/everything")
    async def everything(principal: Caller) -> dict[str, str]:
        require_everything(principal, "this")
        return {"scope": str(principal.scope)}

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


async def test_scoped_tokens_read_only_values_inside_their_scope(client: httpx.AsyncClient) -> None:
    assert (await client.get("/data?by=district", headers=bearer(T_DISTRICT))).json() == {
        "values": {"YEN_SON": 1}
    }
    assert (await client.get("/data?by=agency", headers=bearer(T_AGENCY))).json() == {
        "values": {"SO_TTTT": 3}
    }
    # a district's agencies lie inside it (its people's committee); SO_TTTT is provincial
    assert (await client.get("/data?by=agency", headers=bearer(T_DISTRICT))).json() == {"values": {}}
    for token, by in ((T_DISTRICT, "site_level"), (T_AGENCY, "district")):
        r = await client.get("/data", params={"by": by}, headers=bearer(token))
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        assert by in r.json()["detail"] and str(r.json()["allowed"]) != "None"
    assert (await client.get("/everything", headers=bearer(T_DISTRICT))).status_code == 403
    assert (await client.get("/everything", headers=bearer(T_ALL))).json() == {"scope": "all"}
    assert len((await client.get("/data", headers=bearer(T_ALL))).json()["values"]) == 3


async def test_without_tokens_everything_is_open() -> None:
    client = open_client(small_app(AuthSettings()))
    assert (await client.get("/everything")).json() == {"scope": "all"}
    assert len((await client.get("/data")).json()["values"]) == 3


# -- the real app: what needs no lifespan ------------------------------------------------------------


def real_app(**auth: Any) -> httpx.AsyncClient:
    return open_client(create_app(Settings(auth=AuthSettings(**auth))))


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


async def test_metrics_needs_an_admin_token_of_scope_all_unless_told_otherwise() -> None:
    guarded = real_app(api_tokens=NEW_FORM)
    assert (await guarded.get("/metrics")).status_code == 401
    r = await guarded.get("/metrics", headers=bearer(T_OPERATOR))
    assert r.status_code == 403 and "`admin`" in r.json()["detail"] and "ha.nguyen" in r.json()["detail"]
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


async def test_acting_on_alerts_needs_the_operator_role_and_the_audit_log_admin() -> None:
    guarded = real_app(api_tokens=TOKENS)  # the older form: scoped tokens are viewers
    body = {"matchers": [{"name": "district", "value": "YEN_SON"}], "comment": "x"}
    body |= {"startsAt": "2026-03-03T10:00:00+07:00", "endsAt": "2026-03-03T11:00:00+07:00"}
    for method, path, json in (
        ("POST", "/api/v1/alerts/0123456789abcdef/ack", {"comment": "on it"}),
        ("DELETE", "/api/v1/alerts/0123456789abcdef/ack", None),
        ("POST", "/api/v1/silences", body),
        ("DELETE", "/api/v1/silences/6f1c0c1e-8a55-4b43-9a55-3f0e0d9b2b11", None),
        ("GET", "/api/v1/audit", None),
    ):
        r = await guarded.request(method, path, json=json, headers=bearer(T_DISTRICT))
        assert r.status_code == 403, (method, path)
        assert "`viewer`" in r.json()["detail"] and "may read" in r.json()["detail"]
        assert (await guarded.request(method, path, json=json)).status_code == 401


async def test_me_tells_the_wall_who_the_token_is_and_what_it_may_do() -> None:
    guarded = real_app(api_tokens=NEW_FORM)
    assert (await guarded.get("/api/v1/me")).status_code == 401  # the wall's cue to ask for a token
    me = (await guarded.get("/api/v1/me", headers=bearer(T_OPERATOR))).json()
    assert me == {
        "name": "ha.nguyen",
        "role": "operator",
        "scope": "district:HAM_YEN",
        "may_act": True,
        "may_audit": False,
        "tokens_required": True,
    }
    open_api = (await real_app().get("/api/v1/me")).json()
    assert open_api["tokens_required"] is False and open_api["may_act"] is True
