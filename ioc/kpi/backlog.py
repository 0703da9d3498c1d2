"""Backlog-shaped state KPIs: entities started and not finished, and those past their due time.

Shared by sources whose entities have a start, an end and a `due_at` (e-office documents,
portal applications): computed at query time, because "overdue" depends on the clock.
"""

from __future__ import annotations

from datetime import datetime

from ioc.db.pool import Queryable
from schemas.kpis import UNKNOWN, Dimension


async def backlog(
    conn: Queryable,
    table: str,
    span: tuple[str, str],
    by: Dimension | None,
    as_of: datetime,
    *,
    overdue: bool,
) -> dict[str, float]:
    """Rows of `table` whose `span[0]` is set and `span[1]` is not (all its names are the
    source's own, never user text), per value of column `by`; `unknown` where it is null."""
    start, end = span
    col = "''" if by is None else str(by)
    rows = await conn.fetch(
        f"SELECT COALESCE({col}, $2) AS d, count(*) FILTER (WHERE NOT $3 OR due_at < $1) AS n"
        f" FROM {table} WHERE {start} IS NOT NULL AND {end} IS NULL GROUP BY d",
        as_of,
        UNKNOWN,
        overdue,
    )
    return {r["d"]: float(r["n"]) for r in rows}
