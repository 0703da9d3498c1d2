"""Who may do what: API tokens with a name, a role and a scope; CORS; limits on request size.

With no tokens configured everything is open (the embedded demo). With tokens
(`IOC_API_TOKENS` or `IOC_API_TOKENS_FILE`; contract/KPIS.md, "Access"):

- every data route, `/metrics` and the live channel need a token (`Authorization: Bearer`;
  on the live channel, a header or the first message, never the URL); `/healthz`, `/readyz`,
  the wall page, its static files, `/docs` and `/openapi.json` stay open (no KPI values);
- roles: `viewer` reads, `operator` also acknowledges alerts and manages silences, `admin` also
  reads `/metrics` and the audit log;
- scopes: `all`, `district:CODE`, `commune:CODE`, `agency:CODE`. A scoped token's totals are
  over its part of the province, its breakdowns list only the values inside it, and it sees
  and acts on only the alerts whose labels fall in it (`ioc.hierarchy` says what is inside).

One job per module:

- `scopes`: the 401/403 refusals, each naming what the token may do;
- `tokens`: the constant-time lookup of a token's principal (parsing is `ioc.access`);
- `deps`: the FastAPI dependencies that identify a caller (HTTP routes, /metrics, the live channel);
- `limits`: the request-size middleware and CORS;
- `redact`: masking tokens in the HTTP server's log lines;
- `install`: wiring all of it into an app.
"""

from __future__ import annotations

from api.auth.deps import AUTH_RESPONSES, Admin, Caller, Operator, admit_live, caller, metrics_guard
from api.auth.install import install_auth
from api.auth.redact import RedactTokens
from api.auth.scopes import AuthError, check_breakdown, require_everything, require_role
from api.auth.tokens import Tokens

__all__ = [
    "AUTH_RESPONSES",
    "Admin",
    "AuthError",
    "Caller",
    "Operator",
    "RedactTokens",
    "Tokens",
    "admit_live",
    "caller",
    "check_breakdown",
    "install_auth",
    "metrics_guard",
    "require_everything",
    "require_role",
]
