"""KPI series: one point per step, each the KPI over that step's events (contract/KPIS.md).

A source's computed KPIs (availability) give their own series (ioc/sources.py: ComputedKpi).

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
from ioc.kpi.formulas import Blocks
from ioc.kpi.query import (
    TABLES,
    TOTAL,
    KpiContext,
    breakdown_keys,
    divisor_by,
    formula_blocks,
    grouped_by_dimension,
    is_additive,
    kpi_values,
)
from ioc.kpi.windows import bucket_expr, step_arg, step_size, step_starts
from schemas.kpis import STEPS, Dimension, Kind

Point = tuple[datetime, float | None]
Series = dict[str, list[Point]]


async def _window_series_blocks(
    conn: Conn,
    name: str,
    start: datetime,
    end: datetime,
    step: str,
    by: Dimension | None,
    ctx: KpiContext,
) -> defaultdict[tuple[datetime, str], Blocks]:
    """Per (step start, dimension value), the blocks `name`'s formula reads and nothing else."""
    reads = formula_blocks(ctx.sources, name)
    hourly = STEPS[step] >= 60
    suffix = "hour" if hourly else "minute"
    t = bucket_expr(step, "bucket", 4)
    out: defaultdict[tuple[datetime, str], Blocks] = defaultdict(Blocks)
    for table in TABLES:
        for (col, join), metrics in grouped_by_dimension(ctx.sources, reads.of(table), by).items():
            extra, agg, rows = table.extra, table.aggregate, table.rows(suffix)
            sql = (
                f"SELECT {t} AS t, metric, {col} AS d{extra}, {agg} AS v FROM {rows} x{join}"
                " WHERE metric = ANY($1::text[]) AND bucket >= $2 AND bucket < $3"
                f" GROUP BY t, metric, d{extra} HAVING {agg} <> 0"
            )
            for r in await conn.fetch(sql, metrics, start, end, step_arg(step, ctx.timezone)):
                table.add(out[(r["t"], r["d"])], r["metric"], r)
    return out


async def _add_state_series(
    conn: Conn,
    name: str,
    blocks: dict[tuple[datetime, str], Blocks],
    start: datetime,
    end: datetime,
    step: str,
    by: Dimension | None,
    ctx: KpiContext,
    as_of: datetime,
) -> None:
    """Give each step's blocks the state KPIs `name` divides by, as sampled in that step (the
    value now where no sample was taken)."""
    for state in formula_blocks(ctx.sources, name).states:
        state_by = divisor_by(ctx.sources, state, by)
        sampled = await _state_series(conn, state, start, end, step, state_by, ctx)
        now = (await kpi_values(conn, [state], as_of=as_of, window="1h", by=state_by, ctx=ctx))[state]
        for (t, key), blk in blocks.items():
            k = key if state_by is not None else TOTAL
            blk.states[state] = sampled.get((t, k), now.get(k))


async def _state_series(
    conn: Conn, name: str, start: datetime, end: datetime, step: str, by: Dimension | None, ctx: KpiContext
) -> dict[tuple[datetime, str], float | None]:
    t = bucket_expr(step, "bucket", 5)
    sql = f"""
    SELECT DISTINCT ON (t, value_key) {t} AS t, value_key AS d, value
    FROM kpi_state_minute
    WHERE metric = $1 AND dimension = $4 AND bucket >= $2 AND bucket < $3
    ORDER BY t, value_key, bucket DESC"""
    rows = await conn.fetch(sql, name, start, end, str(by) if by else "", step_arg(step, ctx.timezone))
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
    sources = ctx.sources
    kpi = sources.kpis[name]
    computed = sources.source_of(name).computed.get(name)
    starts = step_starts(start, end, step, ctx.timezone)
    if not starts:
        return {TOTAL: []} if by is None else {}
    lo, hi = starts[0], _step_end(starts[-1], step, ctx)
    values: dict[tuple[datetime, str], float | None]
    known: dict[str, float] | None = None
    if kpi.kind is Kind.STATE:
        values = await _state_series(conn, name, lo, hi, step, by, ctx)
    elif computed is not None:
        values, known = await computed.series(conn, lo, hi, step, by, ctx, as_of)
    else:
        blocks = await _window_series_blocks(conn, name, lo, hi, step, by, ctx)
        if formula_blocks(sources, name).states:  # every point has a divisor, data or not
            every = await breakdown_keys(conn, kpi.area, by, ctx) if by is not None else {TOTAL}
            for s in starts:
                for k in every:
                    blocks.setdefault((s, k), Blocks())
            await _add_state_series(conn, name, blocks, lo, hi, step, by, ctx, as_of)
        formula = sources.formulas[name]
        values = {k: formula(blk) for k, blk in blocks.items()}
    keys = await breakdown_keys(conn, kpi.area, by, ctx) if by is not None else {TOTAL}
    keys |= {d for _, d in values}
    zero = 0.0 if is_additive(sources, name) and kpi.kind is Kind.WINDOW else None
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
