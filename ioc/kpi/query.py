"""Any KPI, any window, any breakdown, read from the database, for any registered source.

Windowed KPIs add up building blocks (ioc/kpi/formulas.py) over the window, reading whole
hours from the hourly rollups and only the ragged edges per minute, and apply the source's
formula; a source computes the others in its own SQL: state KPIs from its entity tables,
because they depend on the clock ("online" means a recent event), and windowed KPIs that are
not made of blocks (availability). Every function returns values per dimension value; without
a breakdown the key is "".
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ioc.db.pool import Queryable as Conn
from ioc.kpi.context import KpiContext, context_from
from ioc.kpi.formulas import Blocks, area_of
from ioc.kpi.tables import DISTINCT, SKETCHES, SUMS, BlockTable
from ioc.kpi.windows import split_by_hours, window_range
from ioc.sources import Derived, Sources, Values
from schemas.kpis import UNKNOWN, Dimension, Kind

__all__ = [
    "TOTAL",
    "KpiContext",
    "Values",
    "all_kpis",
    "breakdown_keys",
    "context_from",
    "dimension_of",
    "formula_blocks",
    "is_additive",
    "kpi_values",
]

TOTAL = ""

# One kind's blocks over a window: whole hours from the hourly table, the ragged edges per minute.
_WINDOW = """
SELECT metric, {col} AS d{extra}, {aggregate} AS v FROM (
    SELECT metric, dim_set{extra}, {value} FROM {minutes}
    WHERE metric = ANY($1::text[])
      AND ((bucket >= $2 AND bucket < $3) OR (bucket >= $4 AND bucket < $5))
    UNION ALL
    SELECT metric, dim_set{extra}, {value} FROM {hours}
    WHERE metric = ANY($1::text[]) AND bucket >= $3 AND bucket < $4
) x{join}{where} GROUP BY metric, d{extra}
HAVING {aggregate} <> 0  -- a contribution moved out of `unknown` leaves a zero row behind
"""

SETS_JOIN = "\nJOIN dimension_sets ds ON ds.id = x.dim_set"
"""What `dimension_of` reads a row's dimension set through (the rows' alias must be `x`)."""


def dimension_of(by: Dimension | None, derived: Derived | None = None) -> tuple[str, str]:
    """SQL for the value of breakdown `by` of a KPI row (alias `x`), and the join it needs:
    the row's dimension set (`dimension_sets.dims`, jsonb), none for a total; for a breakdown
    the source derives (ioc/sources.py: `Derived`), also its entity table.

    A row whose set lacks the dimension (written before its source declared it) counts as
    `unknown`, the contract's value for a dimension nobody told us.
    """
    if by is None:
        return "''", ""
    if by == Dimension.ENDPOINT:
        raise ValueError("windowed KPIs have no endpoint breakdown")
    if not str(by).isidentifier():
        raise ValueError(f"not a dimension name: {by!r}")
    if derived is not None:  # names the source declared, checked as identifiers: never user text
        join = f"{SETS_JOIN}\nLEFT JOIN {derived.table} dv ON dv.{derived.key} = ds.dims->>'{derived.via}'"
        return f"COALESCE(dv.{derived.column}, '{UNKNOWN}')", join
    return f"COALESCE(ds.dims->>'{by}', '{UNKNOWN}')", SETS_JOIN  # a declared name, never user text


@dataclass
class _ReadRecorder(Blocks):
    """Blocks that answer every read as if there were data, and remember what was read."""

    sums_read: set[str] = field(default_factory=set)
    sketches_read: set[str] = field(default_factory=set)
    distinct_read: set[str] = field(default_factory=set)
    states_read: set[str] = field(default_factory=set)

    def sum(self, name: str) -> float:
        self.sums_read.add(name)
        return 1.0

    def percentile(self, name: str, p: float) -> float | None:
        self.sketches_read.add(name)
        return 1.0

    def members(self, name: str) -> float:
        self.distinct_read.add(name)
        return 1.0

    def state(self, name: str) -> float | None:
        self.states_read.add(name)
        return 1.0


@dataclass(frozen=True)
class FormulaReads:
    """What the formula of one windowed KPI reads: blocks of each kind, and state KPIs."""

    sums: tuple[str, ...]
    sketches: tuple[str, ...]
    distinct: tuple[str, ...] = ()
    states: tuple[str, ...] = ()

    def of(self, table: BlockTable) -> tuple[str, ...]:
        return self.sketches if table is SKETCHES else self.distinct if table is DISTINCT else self.sums


@functools.cache
def formula_blocks(sources: Sources, name: str) -> FormulaReads:
    """The blocks (and state KPIs) the formula of windowed KPI `name` reads, in catalogue order.

    Found once by running the formula on a recorder, so that a read fetches only these: a
    heartbeat count no longer pulls its area's 24-hour RTT sketch into Python. This holds as
    long as formulas read only through `Blocks`' methods (the recorder answers as if there
    were data, so a `whole > 0` guard takes its data branch).
    """
    recorder = _ReadRecorder()
    sources.formulas[name](recorder)
    return FormulaReads(
        tuple(m for m in sources.sum_blocks if m in recorder.sums_read),
        tuple(m for m in sources.sketch_blocks if m in recorder.sketches_read),
        tuple(m for m in sources.distinct_blocks if m in recorder.distinct_read),
        tuple(k for k in sources.kpis if k in recorder.states_read),
    )


TABLES = (SUMS, SKETCHES, DISTINCT)


def blocks_of(sources: Sources, table: BlockTable) -> tuple[str, ...]:
    """Every block the sources store in `table`'s kind, in catalogue order."""
    if table is DISTINCT:
        return sources.distinct_blocks
    return sources.sketch_blocks if table is SKETCHES else sources.sum_blocks


def grouped_by_dimension(
    sources: Sources, metrics: Iterable[str], by: Dimension | None
) -> dict[tuple[str, str], list[str]]:
    """`metrics` grouped by the SQL that gives their rows' value of `by` (`dimension_of`): one
    group, unless a source derives `by` from an entity table."""
    out: dict[tuple[str, str], list[str]] = {}
    for m in metrics:
        derived = sources.source_of(m).derived.get(str(by)) if by is not None else None
        out.setdefault(dimension_of(by, derived), []).append(m)
    return out


Within = tuple[Dimension, Sequence[str]]
"""Only rows whose value of this dimension is one of these (a scoped token's part)."""


def _filter(sources: Sources, metric: str, within: Within | None) -> tuple[str, str]:
    """The WHERE clause and join that keep only `within`'s rows ($6 holds the values)."""
    if within is None:
        return "", ""
    dim = within[0]
    col, join = dimension_of(dim, sources.source_of(metric).derived.get(str(dim)))
    return f"\nWHERE {col} = ANY($6::text[])", join


async def _window_blocks(
    conn: Conn,
    names: Sequence[str],
    start: datetime,
    end: datetime,
    by: Dimension | None,
    ctx: KpiContext,
    within: Within | None = None,
) -> dict[tuple[str, str], Blocks]:
    """Blocks summed over [start, end) per (area, dimension value): only those `names` read.
    With `within` (totals only), only the rows of those dimension values count."""
    if within is not None and by is not None:
        raise ValueError("a filtered read gives totals only")
    sources = ctx.sources
    wanted = [formula_blocks(sources, n) for n in names]
    h1, h2 = split_by_hours(start, end)
    out: defaultdict[tuple[str, str], Blocks] = defaultdict(Blocks)
    for table in TABLES:
        metrics = [m for m in blocks_of(sources, table) if any(m in w.of(table) for w in wanted)]
        for (col, join), group in grouped_by_dimension(sources, metrics, by).items():
            where, filter_join = _filter(sources, group[0], within)
            sql = _WINDOW.format(
                col=col,
                join=join or filter_join,
                where=where,
                extra=table.extra,
                value=table.value,
                aggregate=table.aggregate,
                minutes=table.rows("minute"),
                hours=table.rows("hour"),
            )
            args = (group, start, h1, h2, end) if within is None else (group, start, h1, h2, end, within[1])
            for r in await conn.fetch(sql, *args):
                table.add(out[(area_of(r["metric"]), r["d"])], r["metric"], r)
    return out


def divisor_by(sources: Sources, state: str, by: Dimension | None) -> Dimension | None:
    """The breakdown a formula's state divisor is read by: `by` where the state KPI has it,
    else its total (teams active by activity kind divide by all teams)."""
    return by if by is not None and by in sources.kpis[state].breakdowns else None


async def _add_states(
    conn: Conn,
    names: Sequence[str],
    blocks: dict[tuple[str, str], Blocks],
    as_of: datetime,
    by: Dimension | None,
    ctx: KpiContext,
) -> None:
    """Give the blocks of formulas that divide by a state KPI that KPI's value, and a block
    for every value it has (a market with merchants and no payment is at 0 %, not null)."""
    sources = ctx.sources
    for state in dict.fromkeys(s for n in names for s in formula_blocks(sources, n).states):
        area, state_by = area_of(state), divisor_by(sources, state, by)
        values = (await kpi_values(conn, [state], as_of=as_of, window="1h", by=state_by, ctx=ctx))[state]
        # every value the answer lists gets a block, so a divisor with no events gives 0 %
        keys = (
            values
            if state_by is not None
            else (await breakdown_keys(conn, area, by, ctx) if by is not None else {TOTAL})
        )
        for key in keys:
            blocks.setdefault((area, key), Blocks())
        for (a, key), blk in blocks.items():
            if a == area:
                blk.states[state] = values.get(key if state_by is not None else TOTAL)


async def breakdown_keys(conn: Conn, area: str, dim: Dimension, ctx: KpiContext) -> set[str]:
    """Every value a breakdown of `area` lists: the registry's, every value seen, and what the
    source adds (e.g. `unknown` while something is counted under it: contract, "Breakdowns")."""
    source = ctx.sources.by_name[area]
    keys = source.registry_values(dim, ctx.registry)
    if source.breakdown_extras is not None:
        keys |= await source.breakdown_extras(conn, dim, ctx)
    rows = await conn.fetch(
        "SELECT value FROM dimension_values WHERE area = $1 AND dimension = $2", area, str(dim)
    )
    return keys | {r["value"] for r in rows}


def _complete(values: Values, universe: Iterable[str], *, zero: float | None) -> Values:
    out = {k: zero for k in universe}
    out.update(values)
    return out


def is_additive(sources: Sources, name: str) -> bool:
    """Whether `name` counts or sums, so it is 0 where nothing happened (and, but for distinct
    counts, its values over a breakdown add up to its total); a percentile is null there."""
    kpi = sources.kpis[name]
    if kpi.kind is Kind.STATE:
        return True
    if kpi.unit not in ("count", "vnd", "hours"):
        return False
    return name not in sources.formulas or not formula_blocks(sources, name).sketches


async def kpi_values(
    conn: Conn,
    names: Sequence[str],
    *,
    as_of: datetime,
    window: str,
    by: Dimension | None,
    ctx: KpiContext,
) -> dict[str, Values]:
    """Values of `names` (all of one breakdown) at `as_of`; without `by`, {"" : total}."""
    sources = ctx.sources
    out: dict[str, Values] = {}
    windowed = [n for n in names if n in sources.formulas]
    if windowed:
        start, end = window_range(as_of, window)
        blocks = await _window_blocks(conn, windowed, start, end, by, ctx)
        await _add_states(conn, windowed, blocks, as_of, by, ctx)
        for n in windowed:
            area, formula = area_of(n), sources.formulas[n]
            out[n] = {k: formula(blk) for (a, k), blk in blocks.items() if a == area}
    for n in names:
        source = sources.source_of(n)
        if (computed := source.computed.get(n)) is not None:
            start, end = computed.range(as_of, window)
            out[n] = await computed.values(conn, start, end, by, ctx, as_of)
        elif (state := source.state.get(n)) is not None:
            out[n] = dict(await state(conn, by, ctx, as_of))
    universes: dict[str, set[str]] = {}
    for n in names:
        area = area_of(n)
        if area not in universes:
            universes[area] = await breakdown_keys(conn, area, by, ctx) if by is not None else {TOTAL}
        out[n] = _complete(out.get(n, {}), universes[area], zero=0.0 if is_additive(sources, n) else None)
    return out


async def all_kpis(conn: Conn, *, as_of: datetime, window: str, ctx: KpiContext) -> dict[str, float | None]:
    """Every KPI's total at `as_of` (state KPIs ignore the window)."""
    names = list(ctx.sources.kpis)
    values = await kpi_values(conn, names, as_of=as_of, window=window, by=None, ctx=ctx)
    return {n: values[n][TOTAL] for n in names}


async def window_total_within(
    conn: Conn, name: str, *, as_of: datetime, window: str, within: Within, ctx: KpiContext
) -> float | None:
    """A windowed KPI's value over only `within`'s rows: a district's share of on-time documents
    from its agencies' blocks, exact for ratios and percentiles alike (blocks merge, values do
    not). Formulas that divide by a state KPI are not filtered this way."""
    if formula_blocks(ctx.sources, name).states:
        raise ValueError(f"{name} divides by a state KPI; it has no filtered total")
    start, end = window_range(as_of, window)
    blocks = await _window_blocks(conn, [name], start, end, None, ctx, within)
    block = blocks.get((area_of(name), TOTAL))
    return ctx.sources.formulas[name](block if block is not None else Blocks())
