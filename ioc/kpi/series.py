"""KPI series: one point per step, each the KPI over that step's events (contract/KPIS.md).

Windowed KPIs are summed per step in SQL from the cheapest table that covers the request:
hourly rollups when the step is an hour or a day (steps are aligned, so they never cut an
hour), minute buckets otherwise. State KPIs read their per-minute samples
(`kpi_state_minute`): a step's point is the last sample taken in it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from ioc.db.pool import Queryable as Conn
from ioc.kpi import blocks as b
from ioc.kpi.query import (
    TOTAL,
    KpiContext,
    breakdown_keys,
    column_of,
    dimension_of,
    endpoint_counts,
    formula_blocks,
    is_additive,
)
from ioc.kpi.windows import step_size, step_starts
from schemas.kpis import BY_NAME, STEPS, Dimension, Kind

Point = tuple[datetime, float | None]
Series = dict[str, list[Point]]


def _bucket_expr(step: str, column: str, param: int) -> str:
    """SQL for the start of the step holding `column`; the step (or time zone) is bind `$param`."""
    if step == "1d":
        return f"date_trunc('day', {column}, ${param}::text)"
    return f"date_bin(make_interval(mins => ${param}::int), {column}, TIMESTAMPTZ '2000-01-01 00:00+00')"


def _step_arg(step: str, ctx: KpiContext) -> object:
    return str(ctx.timezone) if step == "1d" else STEPS[step]


async def _window_series_blocks(
    conn: Conn, name: str, start: datetime, end: datetime, step: str, by: Dimension | None, ctx: KpiContext
) -> dict[tuple[datetime, str], b.Blocks]:
    """Per (step start, dimension value), the blocks `name`'s formula reads and nothing else."""
    sums, sketches = formula_blocks(name)
    hourly = STEPS[step] >= 60
    suffix = "hour" if hourly else "minute"
    col = dimension_of(by)
    t = _bucket_expr(step, "bucket", 4)
    out: defaultdict[tuple[datetime, str], b.Blocks] = defaultdict(b.Blocks)
    if sums:
        sql = (
            f"SELECT {t} AS t, metric, {col} AS d, sum(value) AS v FROM kpi_{suffix}"
            " WHERE metric = ANY($1::text[]) AND bucket >= $2 AND bucket < $3"
            " GROUP BY t, metric, d HAVING sum(value) <> 0"
        )
        for r in await conn.fetch(sql, list(sums), start, end, _step_arg(step, ctx)):
            out[(r["t"], r["d"])].sums[r["metric"]] = r["v"]
    if sketches:
        sql = (
            f"SELECT {t} AS t, metric, {col} AS d, bin, sum(count) AS c FROM kpi_sketch_{suffix}"
            " WHERE metric = ANY($1::text[]) AND bucket >= $2 AND bucket < $3"
            " GROUP BY t, metric, d, bin HAVING sum(count) <> 0"
        )
        for r in await conn.fetch(sql, list(sketches), start, end, _step_arg(step, ctx)):
            out[(r["t"], r["d"])].sketches.setdefault(r["metric"], []).append((r["bin"], r["c"]))
    return out


async def _availability_series(
    conn: Conn,
    start: datetime,
    end: datetime,
    step: str,
    by: Dimension | None,
    ctx: KpiContext,
    as_of: datetime,
) -> tuple[dict[tuple[datetime, str], float | None], dict[str, float]]:
    """Per-step availability, and the known endpoints per key (0 % where none was present)."""
    col = f"p.{column_of(by)}" if by else "''"
    minutes = STEPS[step]
    if minutes < 60:
        sql = f"""
        SELECT p.hour + make_interval(mins => g.k * $3) AS t, {col} AS d,
               sum(bit_count((p.minutes & (((1::bigint << $3) - 1) << (g.k * $3)))::bit(64)))::bigint AS n
        FROM vc_presence p CROSS JOIN generate_series(0, 60 / $3 - 1) AS g(k)
        WHERE p.hour >= date_trunc('hour', $1::timestamptz) AND p.hour < $2
        GROUP BY t, d"""
        rows = await conn.fetch(sql, start, end, minutes)
    else:
        t = _bucket_expr(step, "p.hour", 3)
        sql = f"""
        SELECT {t} AS t, {col} AS d, sum(bit_count(p.minutes::bit(64)))::bigint AS n
        FROM vc_presence p WHERE p.hour >= $1 AND p.hour < $2 GROUP BY t, d"""
        rows = await conn.fetch(sql, start, end, _step_arg(step, ctx))
    known = await endpoint_counts(conn, by, ctx, as_of)
    out: dict[tuple[datetime, str], float | None] = {}
    for r in rows:
        k = known.get(r["d"], 0)
        out[(r["t"], r["d"])] = 100.0 * r["n"] / (k * minutes) if k else None
    return out, known


async def _state_series(
    conn: Conn, name: str, start: datetime, end: datetime, step: str, by: Dimension | None, ctx: KpiContext
) -> dict[tuple[datetime, str], float | None]:
    t = _bucket_expr(step, "bucket", 5)
    sql = f"""
    SELECT DISTINCT ON (t, value_key) {t} AS t, value_key AS d, value
    FROM kpi_state_minute
    WHERE metric = $1 AND dimension = $4 AND bucket >= $2 AND bucket < $3
    ORDER BY t, value_key, bucket DESC"""
    rows = await conn.fetch(sql, name, start, end, by.value if by else "", _step_arg(step, ctx))
    return {(r["t"], r["d"]): r["value"] for r in rows}


async def series(
    conn: Conn,
    name: str,
    *,
    start: datetime,
    end: datetime,
    step: str,
    by: Dimension | None,
    ctx: KpiContext,
    as_of: datetime,
) -> Series:
    """Points of `name` for every step overlapping [start, end), per breakdown value."""
    kpi = BY_NAME[name]
    starts = step_starts(start, end, step, ctx.timezone)
    if not starts:
        return {TOTAL: []} if by is None else {}
    lo, hi = starts[0], _step_end(starts[-1], step, ctx)
    values: dict[tuple[datetime, str], float | None]
    known: dict[str, float] | None = None
    if kpi.kind is Kind.STATE:
        values = await _state_series(conn, name, lo, hi, step, by, ctx)
    elif name == "vc.availability_pct":
        values, known = await _availability_series(conn, lo, hi, step, by, ctx, as_of)
    else:
        blocks = await _window_series_blocks(conn, name, lo, hi, step, by, ctx)
        formula = b.WINDOW_FORMULAS[name]
        values = {k: formula(blk) for k, blk in blocks.items()}
    keys = await breakdown_keys(conn, kpi.area, by, ctx) if by is not None else {TOTAL}
    keys |= {d for _, d in values}
    zero = 0.0 if is_additive(name) and kpi.kind is Kind.WINDOW else None
    if known is not None:  # availability: 0 % where endpoints are known but none sent anything
        return {
            k: [(s, values.get((s, k), 0.0 if known.get(k) else None)) for s in starts] for k in sorted(keys)
        }
    return {k: [(s, values.get((s, k), zero)) for s in starts] for k in sorted(keys)}


def _step_end(start: datetime, step: str, ctx: KpiContext) -> datetime:
    if step == "1d":
        local = start.astimezone(ctx.timezone) + timedelta(days=1, hours=3)
        return local.replace(hour=0).astimezone(start.tzinfo)
    return start + step_size(step)


def point_count(
    start: datetime, end: datetime, step: str, ctx: KpiContext, keys: Sequence[str] = (TOTAL,)
) -> int:
    """How many points a request would return (checked before running it)."""
    return len(step_starts(start, end, step, ctx.timezone)) * max(1, len(keys))
