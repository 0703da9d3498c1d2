"""KPI values as a scoped token sees them: its totals are over its part of the province, its
breakdowns list only the values inside it (contract/KPIS.md, "Access").

A total over a scope comes, in order of preference, from:
1. the KPI's breakdown by the scope's own dimension (a district token's `vc.endpoints_online`
   is the `by=district` value of its district): exact for every kind of KPI;
2. a breakdown by a dimension whose values lie under the scope (a district's agencies, an
   agency's sites): summed for counts and sums, and for ratios and percentiles computed
   again from the building blocks of only those values;
3. otherwise the KPI says nothing about that part of the province: null.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ioc.access import Scope
from ioc.db.pool import Queryable as Conn
from ioc.hierarchy import Hierarchy
from ioc.kpi.context import KpiContext
from ioc.kpi.query import TOTAL, Values, formula_blocks, is_additive, kpi_values, window_total_within
from ioc.kpi.series import Point, Series, series
from ioc.kpi.windows import step_starts
from schemas.kpis import Dimension


def total_dimension(ctx: KpiContext, hierarchy: Hierarchy, scope: Scope, name: str) -> Dimension | None:
    """The breakdown a scoped total of `name` is read through (rule 1, else 2), or None."""
    dims = ctx.sources.kpis[name].breakdowns
    if scope.kind in dims:
        return Dimension(scope.kind)
    return next((dim for dim in dims if hierarchy.reaches(scope, dim)), None)


async def scoped_values(
    conn: Conn,
    names: Sequence[str],
    *,
    scope: Scope,
    hierarchy: Hierarchy,
    as_of: datetime,
    window: str,
    by: Dimension | None,
    ctx: KpiContext,
) -> dict[str, Values]:
    """`kpi_values` as `scope` sees them. A breakdown `by` must reach the scope
    (`Hierarchy.reaches`): the caller refuses the others."""
    if scope.is_all:
        return await kpi_values(conn, names, as_of=as_of, window=window, by=by, ctx=ctx)
    if by is not None:
        values = await kpi_values(conn, names, as_of=as_of, window=window, by=by, ctx=ctx)
        return {n: {k: v for k, v in vs.items() if hierarchy.holds(scope, by, k)} for n, vs in values.items()}
    through: dict[Dimension | None, list[str]] = {}
    for n in names:
        through.setdefault(total_dimension(ctx, hierarchy, scope, n), []).append(n)
    out: dict[str, Values] = {n: {TOTAL: None} for n in through.pop(None, [])}
    for dim, group in through.items():
        assert dim is not None  # noqa: S101 - popped above
        values = await kpi_values(conn, group, as_of=as_of, window=window, by=dim, ctx=ctx)
        for n in group:
            if dim == scope.kind:
                out[n] = {TOTAL: values[n].get(str(scope.value))}
                continue
            inside = sorted(hierarchy.inside(scope, dim, values[n]))
            out[n] = {TOTAL: await _combined(conn, n, values[n], inside, dim, as_of, window, ctx)}
    return out


async def _combined(
    conn: Conn,
    name: str,
    values: Values,
    inside: list[str],
    dim: Dimension,
    as_of: datetime,
    window: str,
    ctx: KpiContext,
) -> float | None:
    """One KPI over several breakdown values: their sum for counts and sums, else the formula
    over their merged blocks (windowed KPIs without a state divisor), else null."""
    if is_additive(ctx.sources, name):
        return float(sum(v for k in inside if (v := values.get(k)) is not None))
    if name in ctx.sources.formulas and not formula_blocks(ctx.sources, name).states and inside:
        return await window_total_within(
            conn, name, as_of=as_of, window=window, within=(dim, inside), ctx=ctx
        )
    return None


async def scoped_totals(
    conn: Conn, *, scope: Scope, hierarchy: Hierarchy, as_of: datetime, window: str, ctx: KpiContext
) -> dict[str, float | None]:
    """Every KPI's total over `scope` (what the wall and the live channel show a scoped token)."""
    names = list(ctx.sources.kpis)
    values = await scoped_values(
        conn, names, scope=scope, hierarchy=hierarchy, as_of=as_of, window=window, by=None, ctx=ctx
    )
    return {n: values[n][TOTAL] for n in names}


async def scoped_series(
    conn: Conn,
    name: str,
    *,
    scope: Scope,
    hierarchy: Hierarchy,
    start: datetime,
    end: datetime,
    step: str,
    by: Dimension | None,
    ctx: KpiContext,
    as_of: datetime,
) -> Series:
    """`series` as `scope` sees it: breakdowns keep the values inside it; a total is the scope's
    own value's series, or the point-wise sum of the values under it for counts and sums (a
    ratio over values under the scope has no series yet: its points are null)."""
    if scope.is_all or by is not None:
        got = await series(conn, name, start=start, end=end, step=step, by=by, ctx=ctx, as_of=as_of)
        if scope.is_all or by is None:
            return got
        return {k: pts for k, pts in got.items() if hierarchy.holds(scope, by, k)}
    starts = step_starts(start, end, step, ctx.timezone)
    empty: list[Point] = [(s, None) for s in starts]
    dim = total_dimension(ctx, hierarchy, scope, name)
    if dim is None:
        return {TOTAL: empty}
    got = await series(conn, name, start=start, end=end, step=step, by=dim, ctx=ctx, as_of=as_of)
    if dim == scope.kind:
        return {TOTAL: got.get(str(scope.value), empty)}
    if not is_additive(ctx.sources, name):
        return {TOTAL: empty}
    inside = [pts for k, pts in got.items() if hierarchy.holds(scope, dim, k)]
    summed: list[Point] = []
    for i, s in enumerate(starts):
        present = [v for pts in inside if i < len(pts) and (v := pts[i][1]) is not None]
        summed.append((s, float(sum(present)) if present else None))
    return {TOTAL: summed}
