"""Who may read what: API tokens and their scopes, CORS, and limits on request size.

With no `IOC_API_TOKENS` everything is open (the embedded demo). With tokens configured:

- the data endpoints (`/api/v1/...`) and the live channel need a token: `Authorization:
  Bearer <token>`, or `?token=<token>` on the WebSocket (browsers cannot set its headers);
  `/metrics` needs one too unless `IOC_METRICS_REQUIRE_TOKEN=false`;
- `/healthz`, `/readyz`, the wall page, its static files, `/docs` and `/openapi.json` stay
  open (they hold no KPI values);
- a token's scope is `all`, `district:CODE` or `agency:CODE`. A scoped token reads one KPI
  broken down by its own dimension (`/api/v1/kpis/{name}?by=district`, `/api/v1/series/...`),
  and sees only its own value there; totals, other breakdowns, sources, alerts, `/metrics` and
  the live channel (whose snapshot is province-wide) are refused with 403. The catalog is
  open to every token.

Tokens are kept only as SHA-256 digests and compared in constant time, every configured
token each time, so neither the answer nor its timing tells how much of a guess was right.

One job per module:

- `settings`: the `IOC_*` settings for tokens, CORS and request limits;
- `scopes`: what a token may read, and the 401/403 refusal;
- `tokens`: parsing `IOC_API_TOKENS` into digests, and the constant-time lookup;
- `deps`: the FastAPI dependencies that check a caller (HTTP routes, /metrics, the live channel);
- `limits`: the request-size middleware and CORS;
- `redact`: masking tokens in the HTTP server's log lines;
- `install`: wiring all of it into an app.
"""

from __future__ import annotations

from api.auth.deps import AUTH_RESPONSES, Caller, admit_live, caller, metrics_guard, require_all
from api.auth.install import install_auth
from api.auth.redact import RedactTokens
from api.auth.scopes import ALL, Scope, parse_scope
from api.auth.settings import AuthSettings
from api.auth.tokens import Tokens, parse_tokens

__all__ = [
    "ALL",
    "AUTH_RESPONSES",
    "AuthSettings",
    "Caller",
    "RedactTokens",
    "Scope",
    "Tokens",
    "admit_live",
    "caller",
    "install_auth",
    "metrics_guard",
    "parse_scope",
    "parse_tokens",
    "require_all",
]
