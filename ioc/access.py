"""Who may do what: roles, scopes, the principal a token stands for, and `IOC_API_TOKENS` parsed.

Pure data and parsing (contract/KPIS.md, "Access"), in the kernel because the settings check
the tokens at start and both the API and the alert evaluator reason about scopes.

Tokens are kept only as SHA-256 digests: the settings may already hold digests
(`sha256:<hex>`), so the plaintext need not exist anywhere on the server.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

ScopeKind = Literal["all", "district", "commune", "agency"]
SCOPE_KINDS: tuple[ScopeKind, ...] = ("all", "district", "commune", "agency")
MIN_TOKEN_CHARS = 16
_DIGEST = re.compile(r"sha256:([0-9a-fA-F]{64})")


class Role(IntEnum):
    """What a token may do; each role may do everything the ones below it may."""

    VIEWER = 1  # reads
    OPERATOR = 2  # also acknowledges alerts and manages silences
    ADMIN = 3  # also reads /metrics and the audit log

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"role {text.strip()!r} is not `viewer`, `operator` or `admin`") from None


@dataclass(frozen=True)
class Scope:
    """The part of the province a token sees: everything, or one district, commune or agency."""

    kind: ScopeKind
    value: str | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value}"

    @property
    def is_all(self) -> bool:
        return self.kind == "all"


ALL = Scope("all")


def parse_scope(text: str) -> Scope:
    kind, _, value = text.strip().partition(":")
    if kind == "all" and not value:
        return ALL
    if kind in ("district", "commune", "agency") and value.strip():
        return Scope(kind, value.strip())  # type: ignore[arg-type]
    raise ValueError(f"scope {text.strip()!r} is not `all`, `district:CODE`, `commune:CODE` or `agency:CODE`")


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the token's name (what the audit log records), role and scope."""

    name: str
    role: Role
    scope: Scope

    def may(self, role: Role) -> bool:
        return self.role >= role


ANONYMOUS = Principal("anonymous", Role.ADMIN, ALL)
"""Everyone, when no tokens are configured (the embedded demo): the API is open."""


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _key_digest(key: str, n: int) -> bytes:
    key = key.strip()
    if (found := _DIGEST.fullmatch(key)) is not None:
        return bytes.fromhex(found.group(1))
    if key.startswith("sha256:"):
        raise ValueError(f"IOC_API_TOKENS entry {n}: `sha256:` must be followed by 64 hex digits")
    if len(key) < MIN_TOKEN_CHARS:
        raise ValueError(f"IOC_API_TOKENS entry {n}: a token needs at least {MIN_TOKEN_CHARS} characters")
    return digest(key)


def _legacy(scope_text: str, n: int) -> Principal:
    """The older forms (`token:scope`, `{"token": "scope"}`): admin for `all`, viewer otherwise."""
    scope = parse_scope(scope_text)
    return Principal(f"token-{n}", Role.ADMIN if scope.is_all else Role.VIEWER, scope)


def _principal(value: Any, n: int) -> Principal:
    if isinstance(value, str):
        return _legacy(value, n)
    if not isinstance(value, dict):
        raise ValueError(
            f'IOC_API_TOKENS entry {n}: expected {{"name": ..., "role": ..., "scope": ...}} or a scope'
        )
    unknown = set(value) - {"name", "role", "scope"}
    if unknown:
        raise ValueError(f"IOC_API_TOKENS entry {n}: unknown field(s) {sorted(unknown)}")
    name, role, scope = value.get("name"), value.get("role"), value.get("scope")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise ValueError(f"IOC_API_TOKENS entry {n}: `name` must be text of 1 to 100 characters")
    if not isinstance(role, str) or not isinstance(scope, str):
        raise ValueError(f"IOC_API_TOKENS entry {n}: `role` and `scope` are required, as text")
    return Principal(name.strip(), Role.parse(role), parse_scope(scope))


def parse_tokens(text: str) -> dict[bytes, Principal]:
    """`IOC_API_TOKENS` as {sha256(token): principal}. Errors name the entry, never the token.

    Forms: a JSON object whose keys are tokens or `sha256:<hex>` digests and whose values are
    `{"name", "role", "scope"}` (or, the older form, a scope); or `token:scope,token:scope`.
    """
    text = text.strip()
    if not text:
        return {}
    pairs: list[tuple[str, Any]]
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError:
            raise ValueError("IOC_API_TOKENS is not valid JSON") from None
        if not isinstance(loaded, dict):
            raise ValueError("IOC_API_TOKENS as JSON must be an object")
        pairs = list(loaded.items())
    else:
        pairs = []
        for entry in text.split(","):
            token, _, scope = entry.strip().partition(":")
            pairs.append((token, scope or "all"))
    out: dict[bytes, Principal] = {}
    names: set[str] = set()
    for n, (key, value) in enumerate(pairs, start=1):
        try:
            principal = _principal(value, n)
        except ValueError as exc:
            message = str(exc)
            raise ValueError(
                message if message.startswith("IOC_API_TOKENS") else f"IOC_API_TOKENS entry {n}: {message}"
            ) from None
        if principal.name in names:
            raise ValueError(f"IOC_API_TOKENS entry {n}: the name {principal.name!r} is used twice")
        names.add(principal.name)
        out[_key_digest(key, n)] = principal
    return out
