"""Writes of a batch's effects: KPI building blocks, dimension values, and each source's tables.

Every write is an upsert that adds (sums, sketches), ORs (presence bits), names a member once
(distinct counts) or merges (entities),
so the order of batches does not matter for the result, and each runs inside the sink's
transaction with the offsets it covers. The sources' own tables are written by their stores
(sources/*: `Store`), as parts of the same statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ioc.clock import micros
from ioc.contributions import Dims, Effects
from ioc.db.pool import Conn
from ioc.db.writes import Writes
from ioc.kpi.tables import DISTINCT, SKETCHES, SUMS
from sources import SOURCES
from streams.dimsets import DimensionSets

# A batch's minute rows, and their hourly rollup computed from the same rows in the same
# statement: one set of arrays for both tables. Hours are UTC hours. Each constant is a part of
# the batch's one statement (ioc/db/writes.py), with its own placeholders and CTE names.
#
# Rows travel dictionary-encoded: each row is its unix minute, the index (1-based) of its
# metric and dimension set among the batch's distinct ones, and its number(s). The driver
# checks and encodes every array element on its own, and a batch has thousands of rows but a
# few dozen (metric, dimension set): 4 elements a row instead of 8, and no datetimes to encode.
# A row's dimension set travels as its id in `dimension_sets` (streams/dimsets.py).
_KEY = "metric, bucket, dim_set"

_KEYS = """unnest({}::text[], {}::int[]) WITH ORDINALITY AS k(metric, dim_set, key)"""


_SUMS_CTES = f"""
sums AS (
    SELECT to_timestamp(r.minute * 60) AS bucket, k.metric, k.dim_set, r.value
    FROM unnest($1::bigint[], $2::bigint[], $3::float8[]) AS r(minute, key, value)
    JOIN {_KEYS.format("$4", "$5")} USING (key)
), sums_minute AS (
    INSERT INTO {SUMS.table("minute")} AS t (bucket, metric, dim_set, value)
    SELECT * FROM sums
    ON CONFLICT ({_KEY}) DO UPDATE SET value = t.value + EXCLUDED.value
), sums_hour AS (
    INSERT INTO {SUMS.table("hour")} AS t (bucket, metric, dim_set, value)
    SELECT date_trunc('hour', bucket, 'UTC'), metric, dim_set, sum(value)
    FROM sums GROUP BY 1, 2, 3 HAVING sum(value) <> 0
    ON CONFLICT ({_KEY}) DO UPDATE SET value = t.value + EXCLUDED.value
)"""

# Sketches: the bins travel as rows (minute, key, bin, count) and are stored as one row per
# (metric, bucket, dimension set) holding them as arrays, ascending by bin (migration 0070:
# a tenth of the rows). A row that exists already takes the new bins added per bin; a bin whose
# count comes to 0 (a held contribution moved away) is left out.
_MERGE_BINS = """(
        SELECT COALESCE(array_agg(bin ORDER BY bin), '{}'), COALESCE(array_agg(n ORDER BY bin), '{}')
        FROM (SELECT bin, sum(count) AS n
              FROM unnest(t.bins || EXCLUDED.bins, t.counts || EXCLUDED.counts) AS u(bin, count)
              GROUP BY bin HAVING sum(count) <> 0) merged)"""

_SKETCH_CTES = f"""
sketches AS (
    SELECT to_timestamp(r.minute * 60) AS bucket, k.metric, k.dim_set, r.bin, r.count
    FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::float8[]) AS r(minute, key, bin, count)
    JOIN {_KEYS.format("$5", "$6")} USING (key)
), sketches_minute AS (
    INSERT INTO {SKETCHES.table("minute")} AS t (bucket, metric, dim_set, bins, counts)
    SELECT bucket, metric, dim_set, array_agg(bin ORDER BY bin), array_agg(count ORDER BY bin)
    FROM sketches GROUP BY bucket, metric, dim_set
    ON CONFLICT ({_KEY}) DO UPDATE SET (bins, counts) = {_MERGE_BINS}
), sketches_hour AS (
    INSERT INTO {SKETCHES.table("hour")} AS t (bucket, metric, dim_set, bins, counts)
    SELECT hour, metric, dim_set, array_agg(bin ORDER BY bin), array_agg(n ORDER BY bin)
    FROM (SELECT date_trunc('hour', bucket, 'UTC') AS hour, metric, dim_set, bin, sum(count) AS n
          FROM sketches GROUP BY 1, 2, 3, 4 HAVING sum(count) <> 0) h
    GROUP BY hour, metric, dim_set
    ON CONFLICT ({_KEY}) DO UPDATE SET (bins, counts) = {_MERGE_BINS}
)"""

# Distinct counts: a member named again (a replay, a second payment) changes nothing.
_DISTINCT_CTES = f"""
members AS (
    SELECT to_timestamp(r.minute * 60) AS bucket, k.metric, k.dim_set, r.member
    FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS r(minute, key, member)
    JOIN {_KEYS.format("$4", "$5")} USING (key)
), members_minute AS (
    INSERT INTO {DISTINCT.table("minute")} (bucket, metric, dim_set, member)
    SELECT * FROM members ON CONFLICT DO NOTHING
), members_hour AS (
    INSERT INTO {DISTINCT.table("hour")} (bucket, metric, dim_set, member)
    SELECT DISTINCT date_trunc('hour', bucket, 'UTC'), metric, dim_set, member FROM members
    ON CONFLICT DO NOTHING
)"""


class _Encoded:
    """Minute rows as the statement takes them: unix minutes, keys into the distinct
    (metric, dimensions), and those, column by column."""

    def __init__(self) -> None:
        self.minutes: list[int] = []
        self.keys: list[int] = []
        self._minute_of: dict[datetime, int] = {}
        self._key_of: dict[tuple[str, Dims], int] = {}

    def row(self, metric: str, bucket: datetime, dims: Dims, times: int = 1) -> None:
        """`times` rows of the same minute, metric and dimensions (a sketch's bins)."""
        minute = self._minute_of.get(bucket)
        if minute is None:
            minute = self._minute_of[bucket] = micros(bucket) // 60_000_000
        key = self._key_of.get((metric, dims))
        if key is None:
            key = self._key_of[(metric, dims)] = len(self._key_of) + 1
        if times == 1:
            self.minutes.append(minute)
            self.keys.append(key)
        else:
            self.minutes.extend([minute] * times)
            self.keys.extend([key] * times)

    def key_columns(self, sets: DimensionSets) -> tuple[list[str], list[int]]:
        names = list(self._key_of)
        return [m for m, _ in names], [sets.ids[d] for _, d in names]


def _add_sums(writes: Writes, rows: dict[tuple[str, datetime, Dims], float], sets: DimensionSets) -> None:
    """kpi_minute and kpi_hour."""
    encoded, values = _Encoded(), []
    for (metric, bucket, dims), value in rows.items():
        if value != 0:
            encoded.row(metric, bucket, dims)
            values.append(value)
    if values:
        writes.add(_SUMS_CTES, encoded.minutes, encoded.keys, values, *encoded.key_columns(sets))


def _add_sketches(
    writes: Writes, rows: Mapping[tuple[str, datetime, Dims], Mapping[int, float]], sets: DimensionSets
) -> None:
    """kpi_sketch_minute and kpi_sketch_hour: a row per minute (hour), metric and dimensions."""
    encoded, bins, counts = _Encoded(), list[int](), list[float]()
    for (metric, bucket, dims), row in rows.items():
        kept = row
        if 0 in row.values():  # a held contribution moved away (ioc/contributions.py)
            kept = {b: c for b, c in row.items() if c != 0}
        if kept:
            encoded.row(metric, bucket, dims, len(kept))
            bins.extend(kept)
            counts.extend(kept.values())
    if counts:
        writes.add(_SKETCH_CTES, encoded.minutes, encoded.keys, bins, counts, *encoded.key_columns(sets))


def _add_distinct(writes: Writes, rows: set[tuple[str, datetime, Dims, str]], sets: DimensionSets) -> None:
    """kpi_distinct_minute and kpi_distinct_hour."""
    if rows:
        encoded, members = _Encoded(), []
        for metric, bucket, dims, member in rows:
            encoded.row(metric, bucket, dims)
            members.append(member)
        writes.add(_DISTINCT_CTES, encoded.minutes, encoded.keys, members, *encoded.key_columns(sets))


_DIMENSIONS_CTE = """
dimensions AS (
    INSERT INTO dimension_values (area, dimension, value)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING
)"""


def add_effects(writes: Writes, fx: Effects, sets: DimensionSets) -> None:
    """Add the upserts of `fx` to the batch's statement; `write_rows` writes the rest. Every
    dimension set of `fx` must have its id in `sets` (`sets.missing(fx)` is empty)."""
    _add_sketches(writes, fx.sketches, sets)
    _add_sums(writes, fx.sums, sets)
    _add_distinct(writes, fx.distinct, sets)
    for source in SOURCES.all:
        if source.store is not None:
            source.store.add_parts(writes, fx)
    if fx.dimension_values:
        dims = sorted(fx.dimension_values)
        writes.add(_DIMENSIONS_CTE, *([d[i] for d in dims] for i in range(3)))


def has_rows(fx: Effects) -> bool:
    """Whether `fx` holds rare writes made row by row (`write_rows`), outside the one statement."""
    return any(s.store is not None and s.store.has_rows(fx) for s in SOURCES.all)


async def write_rows(conn: Conn, fx: Effects) -> None:
    """The writes `add_effects` leaves out: each source's rare rows (meeting starts, held
    contributions)."""
    for source in SOURCES.all:
        if source.store is not None:
            await source.store.write_rows(conn, fx)
