"""`vc.availability_pct`: endpoint-minutes with a heartbeat against the endpoints known.

Not a formula over blocks: it reads the presence bits (`vc_presence`, one row per endpoint and
hour, bit m for minute m) and divides by the known endpoints (state.py) times the minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ioc.db.pool import Queryable as Conn
from ioc.kpi.context import KpiContext
from ioc.kpi.windows import availability_range, bucket_expr, step_arg
from ioc.sources import Values
from schemas.kpis import STEPS, UNKNOWN, Dimension
from sources.vc.state import column_of, endpoint_counts

_PRESENCE = """
SELECT {col} AS d, sum(bit_count((p.minutes & (
        ((1::bigint << (CASE WHEN $2 >= p.hour + interval '1 hour' THEN 60
                             ELSE extract(minute FROM $2 - p.hour)::int END)) - 1)
        & ~((1::bigint << (CASE WHEN $1 <= p.hour THEN 0
                               ELSE extract(minute FROM $1 - p.hour)::int END)) - 1)
    ))::bit(64)))::bigint AS n
FROM vc_presence p{join}
WHERE p.hour >= date_trunc('hour', $1::timestamptz) AND p.hour < $2
GROUP BY d
"""


def _grouping(by: Dimension | None, ctx: KpiContext, first: int) -> tuple[str, str, list[object]]:
    """SQL for a presence row's breakdown value, the join it needs, and that join's arguments
    (numbered from `first`): the commune comes from the registry, the rest from the row."""
    if by is None:
        return "''", "", []
    if by == Dimension.COMMUNE:
        sites = [s for s in ctx.registry.sites if s.commune is not None]
        join = (
            f"\nLEFT JOIN unnest(${first}::text[], ${first + 1}::text[]) AS rc(endpoint_id, commune)"
            " ON rc.endpoint_id = p.endpoint_id"
        )
        return (
            f"COALESCE(rc.commune, '{UNKNOWN}')",
            join,
            [[s.endpoint_id for s in sites], [s.commune for s in sites]],
        )
    return f"p.{column_of(by)}", "", []


class Availability:
    """The KPI over a window (`values`) and per step (`series`)."""

    def range(self, as_of: datetime, window: str) -> tuple[datetime, datetime]:
        """The W/1m complete minutes before the current one."""
        return availability_range(as_of, window)

    async def values(
        self,
        conn: Conn,
        start: datetime,
        end: datetime,
        by: Dimension | None,
        ctx: KpiContext,
        as_of: datetime,
    ) -> Values:
        col, join, args = _grouping(by, ctx, 3)
        sql = _PRESENCE.format(col=col, join=join)
        present = {r["d"]: r["n"] for r in await conn.fetch(sql, start, end, *args)}
        known = await endpoint_counts(conn, by, ctx, as_of)
        minutes = (end - start) / timedelta(minutes=1)
        keys = set(present) | set(known)
        return {
            k: (
                100.0 * present.get(k, 0) / (known.get(k, 0) * minutes)
                if known.get(k, 0) and minutes
                else None
            )
            for k in keys
        }

    async def series(
        self,
        conn: Conn,
        start: datetime,
        end: datetime,
        step: str,
        by: Dimension | None,
        ctx: KpiContext,
        as_of: datetime,
    ) -> tuple[dict[tuple[datetime, str], float | None], dict[str, float]]:
        """Per-step availability, and the known endpoints per key (0 % where none was present)."""
        col, join, args = _grouping(by, ctx, 4)
        minutes = STEPS[step]
        if minutes < 60:
            sql = f"""
            SELECT p.hour + make_interval(mins => g.k * $3) AS t, {col} AS d,
                   sum(bit_count((p.minutes & (((1::bigint << $3) - 1) << (g.k * $3)))::bit(64)))::bigint AS n
            FROM vc_presence p CROSS JOIN generate_series(0, 60 / $3 - 1) AS g(k){join}
            WHERE p.hour >= date_trunc('hour', $1::timestamptz) AND p.hour < $2
            GROUP BY t, d"""
            rows = await conn.fetch(sql, start, end, minutes, *args)
        else:
            t = bucket_expr(step, "p.hour", 3)
            sql = f"""
            SELECT {t} AS t, {col} AS d, sum(bit_count(p.minutes::bit(64)))::bigint AS n
            FROM vc_presence p{join} WHERE p.hour >= $1 AND p.hour < $2 GROUP BY t, d"""
            rows = await conn.fetch(sql, start, end, step_arg(step, ctx.timezone), *args)
        known = await endpoint_counts(conn, by, ctx, as_of)
        out: dict[tuple[datetime, str], float | None] = {}
        for r in rows:
            k = known.get(r["d"], 0)
            out[(r["t"], r["d"])] = 100.0 * r["n"] / (k * minutes) if k else None
        return out, known
