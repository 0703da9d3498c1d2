"""The 401/403 refusals, each saying what the token may do instead.

A scoped token reads totals over its part of the province and breakdowns by a dimension whose
values lie inside it (`ioc.hierarchy`); a role below the one a route needs is refused by name.
"""

from __future__ import annotations

from api.errors import ApiError
from ioc.access import Principal, Role
from ioc.hierarchy import Hierarchy


class AuthError(ApiError):
    """401 (no or unknown token, with a WWW-Authenticate challenge) or 403 (outside the role or scope)."""

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="ioc"'} if self.status == 401 else {}


_MAY = {
    Role.VIEWER: "read KPIs, series, sources and alerts",
    Role.OPERATOR: "read, and acknowledge alerts and manage silences",
    Role.ADMIN: "read, act on alerts, and read /metrics and the audit log",
}


def require_role(principal: Principal, role: Role, action: str) -> None:
    """403 unless `principal` has at least `role`; the body names what it may do."""
    if not principal.may(role):
        raise AuthError(
            403,
            "forbidden",
            f"{action} needs the role `{role}`; the token {principal.name!r} is `{principal.role}` "
            f"(scope {principal.scope}) and may {_MAY[principal.role]}",
        )


def check_breakdown(
    principal: Principal, by: str | None, breakdowns: list[str], hierarchy: Hierarchy
) -> None:
    """A scoped token breaks down only by dimensions whose values can lie inside its scope."""
    scope = principal.scope
    if by is None or scope.is_all or hierarchy.reaches(scope, by):
        return
    allowed = [d for d in breakdowns if hierarchy.reaches(scope, d)]
    raise AuthError(
        403,
        "forbidden",
        f"a token scoped to {scope} cannot break down by {by!r}: its values are not inside the scope",
        allowed,
    )


def require_everything(principal: Principal, what: str) -> None:
    """403 unless the token sees the whole province (e.g. /metrics, whose labels name all)."""
    if not principal.scope.is_all:
        raise AuthError(
            403,
            "forbidden",
            f"{what} shows the whole province; a token scoped to {principal.scope} cannot read it",
        )
