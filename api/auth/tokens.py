"""`IOC_API_TOKENS` parsed into SHA-256 digests and their scopes, and the constant-time lookup.

Tokens are kept only as digests and compared in constant time, every configured token each
time, so neither the answer nor its timing tells how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING

from api.auth.scopes import Scope, parse_scope

if TYPE_CHECKING:
    from api.auth.settings import AuthSettings

_MIN_TOKEN_CHARS = 16


def parse_tokens(text: str) -> dict[bytes, Scope]:
    """`IOC_API_TOKENS` as {sha256(token): scope}. Errors name the entry, never the token."""
    text = text.strip()
    if not text:
        return {}
    pairs: list[tuple[str, str]]
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError:
            raise ValueError("IOC_API_TOKENS is not valid JSON") from None
        if not all(isinstance(k, str) and isinstance(s, str) for k, s in loaded.items()):
            raise ValueError('IOC_API_TOKENS as JSON must be an object {"token": "scope"}')
        pairs = list(loaded.items())
    else:
        pairs = []
        for entry in text.split(","):
            token, _, scope = entry.strip().partition(":")
            pairs.append((token, scope or "all"))
    out: dict[bytes, Scope] = {}
    for n, (raw, scope) in enumerate(pairs, start=1):
        token = raw.strip()
        if len(token) < _MIN_TOKEN_CHARS:
            raise ValueError(
                f"IOC_API_TOKENS entry {n}: a token needs at least {_MIN_TOKEN_CHARS} characters"
            )
        try:
            out[_digest(token)] = parse_scope(scope)
        except ValueError as exc:
            raise ValueError(f"IOC_API_TOKENS entry {n}: {exc}") from None
    return out


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class Tokens:
    """The configured tokens; `scope_of` compares against every one in constant time."""

    def __init__(self, settings: AuthSettings) -> None:
        self._scopes = list(parse_tokens(settings.api_tokens.get_secret_value()).items())
        self.metrics_require_token = settings.metrics_require_token

    @property
    def enabled(self) -> bool:
        return bool(self._scopes)

    def scope_of(self, token: str) -> Scope | None:
        given = _digest(token)
        found: Scope | None = None
        for digest, scope in self._scopes:  # no early exit: the time does not depend on which matched
            if hmac.compare_digest(given, digest):
                found = scope
        return found
