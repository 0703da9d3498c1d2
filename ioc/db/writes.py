"""Many writes in one statement: data-modifying CTEs, sent in one round trip.

A worker's batch touches a dozen tables. Written statement by statement, each waits for the
previous one's round trip, and the worker cannot judge the next batch meanwhile: its event loop
is busy, so it cannot send the next statement either (bench/FINDINGS.md). As one statement the
database does the whole write while the worker judges the next batch, and a single statement
is atomic on its own, so a batch without other statements needs no BEGIN and COMMIT either.

PostgreSQL runs every data-modifying CTE of a statement exactly once, on one snapshot, so the
parts must not depend on each other's effects (none of ours do: each writes its own table).
"""

from __future__ import annotations

import functools
import re
from typing import Any, Final

from ioc.db.pool import Conn

_PLACEHOLDER: Final = re.compile(r"\$([0-9]+)")


@functools.lru_cache(maxsize=256)
def _shifted(sql: str, by: int) -> str:
    """`sql` with its `$n` placeholders renumbered to `$(n + by)`."""
    if by == 0:
        return sql
    return _PLACEHOLDER.sub(lambda m: f"${int(m[1]) + by}", sql)


@functools.lru_cache(maxsize=256)
def _placeholders(sql: str) -> frozenset[int]:
    return frozenset(int(n) for n in _PLACEHOLDER.findall(sql))


class Writes:
    """Collects CTE parts, each written with its own placeholders `$1..$n`, into one statement."""

    __slots__ = ("_args", "_channel", "_parts")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._args: list[Any] = []
        self._channel: str | None = None

    def announce(self, channel: str) -> None:
        """End the statement with a NOTIFY on `channel`: sent with the commit, in the same
        round trip (ioc/db/stored.py)."""
        if not channel.isidentifier():
            raise ValueError(f"not a channel name: {channel!r}")
        self._channel = channel

    def __bool__(self) -> bool:
        return bool(self._parts)

    def add(self, ctes: str, *args: Any) -> None:
        """Add `ctes` (one or more `name AS (...)` definitions, names unique in the statement).

        `ctes` must use exactly the placeholders `$1..$n` for its n arguments: one too many or
        too few would shift every later part onto the wrong arguments, so that raises here. No
        `$` may appear in it otherwise (a string literal, a dollar-quoted body).
        """
        if _placeholders(ctes) != frozenset(range(1, len(args) + 1)):
            raise ValueError(f"a part with {len(args)} arguments must use $1..${len(args)}: {ctes}")
        self._parts.append(_shifted(ctes, len(self._args)))
        self._args.extend(args)

    @property
    def sql(self) -> str:
        end = "SELECT 1" if self._channel is None else f"SELECT pg_notify('{self._channel}', '')"
        return "WITH " + ",\n".join(self._parts) + "\n" + end

    async def execute(self, conn: Conn) -> None:
        if self._parts:
            await conn.execute(self.sql, *self._args)
