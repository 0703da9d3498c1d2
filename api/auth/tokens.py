"""The configured tokens, and the constant-time lookup of the principal a token stands for.

Tokens are kept only as SHA-256 digests (`ioc.access.parse_tokens`) and compared in constant
time, every configured token each time, so neither the answer nor its timing tells how much of
a guess was right.
"""

from __future__ import annotations

import hmac

from ioc.access import Principal, digest
from ioc.settings import AuthSettings


class Tokens:
    """The configured tokens; `principal_of` compares against every one in constant time."""

    def __init__(self, settings: AuthSettings) -> None:
        self._principals = list(settings.tokens.items())
        self.metrics_require_token = settings.metrics_require_token

    @property
    def enabled(self) -> bool:
        return bool(self._principals)

    def principal_of(self, token: str) -> Principal | None:
        given = digest(token)
        found: Principal | None = None
        for known, principal in self._principals:  # no early exit: the time does not depend on which
            if hmac.compare_digest(given, known):
                found = principal
        return found
