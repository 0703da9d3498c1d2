"""Any KPI, any window, any breakdown, any series step, read from the database.

Windowed KPIs add up building blocks (ioc/kpi/blocks.py) over the window, reading whole hours
from the hourly rollups and only the ragged edges per minute; state KPIs are computed at query
time from entity tables, because they depend on the clock ("online" means a recent event).
Every function returns values per dimension value; without a breakdown the key is "".
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ioc.db.pool import Queryable as Conn
from ioc.kpi import blocks as b
from ioc.kpi.windows import availability_range, split_by_hours, window_range
from ioc.registry import Registry, load_registry
from ioc.settings import KpiSettings
from schemas.kpis import BY_NAME, UNKNOWN, Dimension, Kind

Values = dict[str, float | None]
TOTAL = ""


@dataclass(frozen=True)
class KpiContext:
    """What KPI definitions depend on besides the data: settings and the registry."""

    registry: Registry
    offline_after: timedelta = timedelta(seconds=60)
    meeting_max_duration: timedelta = timedelta(hours=12)
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))

    def registry_values(self, dim: Dimension) -> set[str]:
        reg = self.registry
        if dim is Dimension.DISTRICT:
            return set(reg.district_codes)
        if dim is Dimension.SITE_LEVEL:
            return {s.site_level for s in reg.sites}
        if dim is Dimension.AGENCY:
            return set(reg.agency_codes)
        if dim is Dimension.SERVICE_LEVEL:
            return {str(level) for level in reg.service_levels}
        return set(reg.endpoint_ids)


def context_from(settings: KpiSettings) -> KpiContext:
    """The KPI context the settings describe (loads the registry file once)."""
    return KpiContext(
        registry=load_registry(settings.registry_file),
        offline_after=settings.offline_after,
        meeting_max_duration=settings.meeting_max_duration,
        timezone=ZoneInfo(settings.timezone),
    )


_SUMS = """
SELECT metric, {col} AS d, sum(value) AS v FROM (
    SELECT metric, dims, value FROM kpi_minute
    WHERE metric = ANY($1::text[])
      AND ((bucket >= $2 AND bucket < $3) OR (bucket >= $4 AND bucket < $5))
    UNION ALL
    SELECT metric, dims, value FROM kpi_hour
    WHERE metric = ANY($1::text[]) AND bucket >= $3 AND bucket < $4
) x GROUP BY metric, d
HAVING sum(value) <> 0  -- a contribution moved out of `unknown` leaves a zero row behind
"""

_SKETCHES = """
SELECT metric, {col} AS d, bin, sum(count) AS c FROM (
    SELECT metric, dims, bin, count FROM kpi_sketch_minute
    WHERE metric = ANY($1::text[])
      AND ((bucket >= $2 AND bucket < $3) OR (bucket >= $4 AND bucket < $5))
    UNION ALL
    SELECT metric, dims, bin, count FROM kpi_sketch_hour
    WHERE metric = ANY($1::text[]) AND bucket >= $3 AND bucket < $4
) x GROUP BY metric, d, bin
HAVING sum(count) <> 0
"""

_PRESENCE = """
SELECT {col} AS d, sum(bit_count((p.minutes & (
        ((1::bigint << (CASE WHEN $2 >= p.hour + interval '1 hour' THEN 60
                             ELSE extract(minute FROM $2 - p.hour)::int END)) - 1)
        & ~((1::bigint << (CASE WHEN $1 <= p.hour THEN 0
                               ELSE extract(minute FROM $1 - p.hour)::int END)) - 1)
    ))::bit(64)))::bigint AS n
FROM vc_presence p
WHERE p.hour >= date_trunc('hour', $1::timestamptz) AND p.hour < $2
GROUP BY d
"""

# Every endpoint known: registry sites joined with what was seen; seen dimensions win.
_KNOWN_ENDPOINTS = """
WITH reg AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS r(endpoint_id, district, site_level)
), known AS (
    SELECT endpoint_id,
           COALESCE(e.district, reg.district) AS district,
           COALESCE(e.site_level, reg.site_level) AS site_level,
           e.last_event_at IS NOT NULL AND NOT e.last_offline
               AND e.last_event_at >= $4::timestamptz - $5::interval AS online
    FROM vc_endpoints e FULL JOIN reg USING (endpoint_id)
)
"""


def column_of(by: Dimension | None) -> str:
    """SQL for the value of breakdown `by` in an entity table: its column of that name."""
    if by is None:
        return "''"
    if by is Dimension.ENDPOINT:
        raise ValueError("windowed KPIs have no endpoint breakdown")
    return by.value  # a fixed enum of column names, never user text


def dimension_of(by: Dimension | None) -> str:
    """SQL for the value of breakdown `by` in a KPI row's dimension set (`dims`, jsonb).

    A row whose set lacks the dimension (written before its source declared it) counts as
    `unknown`, the contract's value for a dimension nobody told us.
    """
    if by is None:
        return "''"
    if by is Dimension.ENDPOINT:
        raise ValueError("windowed KPIs have no endpoint breakdown")
    return f"COALESCE(dims->>'{by.value}', '{UNKNOWN}')"  # a fixed enum of names, never user text


@dataclass
class _ReadRecorder(b.Blocks):
    """Blocks that answer every read as if there were data, and remember what was read."""

    sums_read: set[str] = field(default_factory=set)
    sketches_read: set[str] = field(default_factory=set)

    def sum(self, name: str) -> float:
        self.sums_read.add(name)
        return 1.0

    def percentile(self, name: str, p: float) -> float | None:
        self.sketches_read.add(name)
        return 1.0


@functools.cache
def formula_blocks(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The sum and sketch blocks the formula of windowed KPI `name` reads, in catalogue order.

    Found once by running the formula on a recorder, so that a read fetches only these: a
    heartbeat count no longer pulls its area's 24-hour RTT sketch into Python. This holds as
    long as formulas read blocks only through `Blocks.sum` and `Blocks.percentile` (the
    recorder answers as if there were data, so a `whole > 0` guard takes its data branch).
    """
    recorder = _ReadRecorder()
    b.WINDOW_FORMULAS[name](recorder)
    return (
        tuple(m for m in b.SUM_BLOCKS if m in recorder.sums_read),
        tuple(m for m in b.SKETCH_BLOCKS if m in recorder.sketches_read),
    )


async def _window_blocks(
    conn: Conn, names: Sequence[str], start: datetime, end: datetime, by: Dimension | None
) -> dict[tuple[str, str], b.Blocks]:
    """Blocks summed over [start, end) per (area, dimension value): only those `names` read."""
    wanted = [formula_blocks(n) for n in names]
    sums = [m for m in b.SUM_BLOCKS if any(m in s for s, _ in wanted)]
    sketches = [m for m in b.SKETCH_BLOCKS if any(m in k for _, k in wanted)]
    h1, h2 = split_by_hours(start, end)
    col = dimension_of(by)
    out: defaultdict[tuple[str, str], b.Blocks] = defaultdict(b.Blocks)
    if sums:
        for r in await conn.fetch(_SUMS.format(col=col), sums, start, h1, h2, end):
            out[(b.area_of(r["metric"]), r["d"])].sums[r["metric"]] = r["v"]
    if sketches:
        for r in await conn.fetch(_SKETCHES.format(col=col), sketches, start, h1, h2, end):
            blk = out[(b.area_of(r["metric"]), r["d"])]
            blk.sketches.setdefault(r["metric"], []).append((r["bin"], r["c"]))
    return out


_PLANNED_UNKNOWN = """
SELECT DISTINCT p.endpoint_id FROM (SELECT unnest(planned_endpoints) AS endpoint_id FROM vc_meetings) p
WHERE p.endpoint_id <> ALL($1::text[])
  AND NOT EXISTS (SELECT 1 FROM vc_endpoints e WHERE e.endpoint_id = p.endpoint_id)
"""


async def breakdown_keys(conn: Conn, area: str, dim: Dimension, ctx: KpiContext) -> set[str]:
    """Every value a breakdown of `area` lists: the registry's, every value seen, and `unknown`
    while something is counted under it (contract: "plus unknown when it applies")."""
    keys = ctx.registry_values(dim)
    if area == "vc":
        planned_unknown = {
            r["endpoint_id"] for r in await conn.fetch(_PLANNED_UNKNOWN, list(ctx.registry.endpoint_ids))
        }
        if dim is Dimension.ENDPOINT:
            rows = await conn.fetch("SELECT endpoint_id FROM vc_endpoints")
            return keys | {r["endpoint_id"] for r in rows} | planned_unknown
        sites = ctx.registry.sites
        keys |= {s.district if dim is Dimension.DISTRICT else s.site_level for s in sites}
        if planned_unknown:
            keys.add(UNKNOWN)
    elif area == "portal":
        held = f"SELECT EXISTS (SELECT 1 FROM portal_pending WHERE {dim.value} = $1)"
        if await conn.fetchval(held, UNKNOWN):
            keys.add(UNKNOWN)
    rows = await conn.fetch(
        "SELECT value FROM dimension_values WHERE area = $1 AND dimension = $2", area, dim.value
    )
    return keys | {r["value"] for r in rows}


def _registry_sites(ctx: KpiContext) -> tuple[list[str], list[str], list[str]]:
    sites = ctx.registry.sites
    return [s.endpoint_id for s in sites], [s.district for s in sites], [s.site_level for s in sites]


async def _availability(
    conn: Conn, start: datetime, end: datetime, by: Dimension | None, ctx: KpiContext, as_of: datetime
) -> Values:
    col = column_of(by)
    sql = _PRESENCE.format(col=f"p.{col}" if by else "''")
    present = {r["d"]: r["n"] for r in await conn.fetch(sql, start, end)}
    known = await endpoint_counts(conn, by, ctx, as_of)
    minutes = (end - start) / timedelta(minutes=1)
    keys = set(present) | set(known)
    return {
        k: (100.0 * present.get(k, 0) / (known.get(k, 0) * minutes) if known.get(k, 0) and minutes else None)
        for k in keys
    }


async def endpoint_counts(
    conn: Conn, by: Dimension | None, ctx: KpiContext, as_of: datetime, *, online: bool = False
) -> dict[str, float]:
    col = "endpoint_id" if by is Dimension.ENDPOINT else column_of(by)
    sql = _KNOWN_ENDPOINTS + (
        f"SELECT {col} AS d, count(*) FILTER (WHERE online OR NOT $6) AS n FROM known GROUP BY d"
    )
    rows = await conn.fetch(
        sql,
        *_registry_sites(ctx),
        as_of,
        ctx.offline_after,
        online,
    )
    return {r["d"]: float(r["n"]) for r in rows}


async def _meeting_endpoints_offline(
    conn: Conn, by: Dimension | None, ctx: KpiContext, as_of: datetime
) -> dict[str, float]:
    if by is None:
        col = "''"
    elif by is Dimension.ENDPOINT:
        col = "m.endpoint_id"
    else:
        col = f"COALESCE(k.{by.value}, $7)"
    sql = _KNOWN_ENDPOINTS + (
        f"""
        , planned AS (
            SELECT DISTINCT unnest(planned_endpoints) AS endpoint_id FROM vc_meetings
            WHERE started_at IS NOT NULL AND ended_at IS NULL AND started_at + $6::interval > $4
        )
        SELECT {col} AS d, count(*) AS n
        FROM planned m LEFT JOIN known k USING (endpoint_id)
        WHERE NOT COALESCE(k.online, false)
        GROUP BY d"""
    )
    rows = await conn.fetch(
        sql,
        *_registry_sites(ctx),
        as_of,
        ctx.offline_after,
        ctx.meeting_max_duration,
        *([UNKNOWN] if "$7" in col else []),
    )
    return {r["d"]: float(r["n"]) for r in rows}


async def _meetings_active(conn: Conn, ctx: KpiContext, as_of: datetime) -> dict[str, float]:
    n = await conn.fetchval(
        "SELECT count(*) FROM vc_meetings WHERE started_at IS NOT NULL AND ended_at IS NULL"
        " AND started_at + $2::interval > $1",
        as_of,
        ctx.meeting_max_duration,
    )
    return {TOTAL: float(n)}


async def _backlog(
    conn: Conn, table: str, by: Dimension | None, as_of: datetime, *, overdue: bool
) -> dict[str, float]:
    start, end = {
        "eoffice_documents": ("received_at", "processed_at"),
        "portal_applications": ("submitted_at", "resolved_at"),
    }[table]
    col = column_of(by)
    rows = await conn.fetch(
        f"SELECT COALESCE({col}, $2) AS d, count(*) FILTER (WHERE NOT $3 OR due_at < $1) AS n"
        f" FROM {table} WHERE {start} IS NOT NULL AND {end} IS NULL GROUP BY d",
        as_of,
        UNKNOWN,
        overdue,
    )
    return {r["d"]: float(r["n"]) for r in rows}


async def _state(
    conn: Conn, name: str, by: Dimension | None, ctx: KpiContext, as_of: datetime
) -> dict[str, float]:
    if name == "vc.endpoints_known":
        return await endpoint_counts(conn, by, ctx, as_of)
    if name == "vc.endpoints_online":
        return await endpoint_counts(conn, by, ctx, as_of, online=True)
    if name == "vc.meetings_active":
        return await _meetings_active(conn, ctx, as_of)
    if name == "vc.meeting_endpoints_offline":
        return await _meeting_endpoints_offline(conn, by, ctx, as_of)
    table = "eoffice_documents" if name.startswith("eoffice.") else "portal_applications"
    return await _backlog(conn, table, by, as_of, overdue=name.endswith(".overdue"))


def _complete(values: Values, universe: Iterable[str], *, zero: float | None) -> Values:
    out = {k: zero for k in universe}
    out.update(values)
    return out


def is_additive(name: str) -> bool:
    kpi = BY_NAME[name]
    return kpi.kind is Kind.STATE or kpi.unit in ("count", "vnd")


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
    out: dict[str, Values] = {}
    windowed = [n for n in names if BY_NAME[n].kind is Kind.WINDOW and n != "vc.availability_pct"]
    if windowed:
        start, end = window_range(as_of, window)
        blocks = await _window_blocks(conn, windowed, start, end, by)
        for n in windowed:
            area = b.area_of(n)
            out[n] = {k: b.WINDOW_FORMULAS[n](blk) for (a, k), blk in blocks.items() if a == area}
    if "vc.availability_pct" in names:
        start, end = availability_range(as_of, window)
        out["vc.availability_pct"] = await _availability(conn, start, end, by, ctx, as_of)
    for n in names:
        if BY_NAME[n].kind is Kind.STATE:
            out[n] = dict(await _state(conn, n, by, ctx, as_of))
    universes: dict[str, set[str]] = {}
    for n in names:
        area = b.area_of(n)
        if area not in universes:
            universes[area] = await breakdown_keys(conn, area, by, ctx) if by is not None else {TOTAL}
        out[n] = _complete(out.get(n, {}), universes[area], zero=0.0 if is_additive(n) else None)
    return out


async def all_kpis(conn: Conn, *, as_of: datetime, window: str, ctx: KpiContext) -> dict[str, float | None]:
    """Every KPI's total at `as_of` (state KPIs ignore the window)."""
    values = await kpi_values(conn, list(BY_NAME), as_of=as_of, window=window, by=None, ctx=ctx)
    return {n: values[n][TOTAL] for n in BY_NAME}
