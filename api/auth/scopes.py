"""What one token may read (`all`, `district:CODE`, `agency:CODE`), and the 401/403 refusal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from api.errors import ApiError

V = TypeVar("V")
ScopeKind = Literal["all", "district", "agency"]


class AuthError(ApiError):
    """401 (no or unknown token, with a WWW-Authenticate challenge) or 403 (outside the scope)."""

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="ioc"'} if self.status == 401 else {}


@dataclass(frozen=True)
class Scope:
    """What one token may read."""

    kind: ScopeKind
    value: str | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value}"

    @property
    def is_all(self) -> bool:
        return self.kind == "all"

    def require_all(self) -> None:
        if not self.is_all:
            raise AuthError(
                403,
                "forbidden",
                f"a token scoped to {self} cannot read this; it may read /api/v1/kpis/{{name}} and "
                f"/api/v1/series/{{name}} with by={self.kind}",
            )

    def check_breakdown(self, by: str | None) -> None:
        """A scoped token reads breakdowns by its own dimension only (a total is province-wide)."""
        if not self.is_all and by != self.kind:
            raise AuthError(
                403,
                "forbidden",
                f"a token scoped to {self} reads breakdowns by {self.kind} only (got by={by})",
                [self.kind],
            )

    def only_mine(self, values: Mapping[str, V]) -> dict[str, V]:
        """The breakdown values this scope may see."""
        if self.is_all:
            return dict(values)
        return {k: v for k, v in values.items() if k == self.value}


ALL = Scope("all")


def parse_scope(text: str) -> Scope:
    kind, _, value = text.strip().partition(":")
    if kind == "all" and not value:
        return ALL
    if kind in ("district", "agency") and value.strip():
        return Scope(kind, value.strip())  # type: ignore[arg-type]
    raise ValueError(f"scope {text.strip()!r} is not `all`, `district:CODE` or `agency:CODE`")
