"""Writes of a batch's effects: KPI building blocks, presence, entity rows, held contributions.

Every write is an upsert that adds (sums, sketches), ORs (presence) or merges (entities), so
the order of batches does not matter for the result, and each runs inside the sink's
transaction with the offsets it covers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson

from ioc.clock import micros
from ioc.db.pool import Conn
from ioc.db.writes import Writes
from streams.aggregate import Dims, Effects, Pending, dims_of
from streams.portal.effects import AppDims


async def known_applications(conn: Conn, ids: Iterable[str]) -> dict[str, AppDims]:
    """Dimensions of applications whose submission is stored."""
    rows = await conn.fetch(
        "SELECT application_id, district, agency, service_level FROM portal_applications"
        " WHERE application_id = ANY($1::text[]) AND submitted_at IS NOT NULL",
        list(ids),
    )
    return {r["application_id"]: (r["district"], r["agency"], r["service_level"]) for r in rows}


async def take_held(conn: Conn, application_ids: Iterable[str]) -> list[Pending]:
    """Remove and return contributions held for applications whose submission just arrived."""
    rows = await conn.fetch(
        "DELETE FROM portal_pending WHERE application_id = ANY($1::text[])"
        " RETURNING application_id, bucket, metric, bin, value, district, agency, service_level",
        list(application_ids),
    )
    return [
        Pending(
            r["application_id"],
            r["bucket"],
            r["metric"],
            r["bin"],
            r["value"],
            dims_of(district=r["district"], agency=r["agency"], service_level=r["service_level"]),
        )
        for r in rows
    ]


# A batch's minute rows, and their hourly rollup computed from the same rows in the same
# statement: one set of arrays for both tables. Hours are UTC hours. Each constant is a part of
# the batch's one statement (ioc/db/writes.py), with its own placeholders and CTE names.
#
# Rows travel dictionary-encoded: each row is its unix minute, the index (1-based) of its
# metric and dimension set among the batch's distinct ones, and its number(s). The driver
# checks and encodes every array element on its own, and a batch has thousands of rows but a
# few dozen (metric, dimension set): 4 elements a row instead of 8, and no datetimes to encode.
# A dimension set travels as JSON text and is stored as `jsonb` (streams/aggregate.py: Dims).
_KEY = "metric, bucket, dims"

_KEYS = """unnest({}::text[], {}::text[]) WITH ORDINALITY AS k(metric, dims, key)"""

_SUMS_CTES = f"""
sums AS (
    SELECT to_timestamp(r.minute * 60) AS bucket, k.metric, k.dims::jsonb AS dims, r.value
    FROM unnest($1::bigint[], $2::bigint[], $3::float8[]) AS r(minute, key, value)
    JOIN {_KEYS.format("$4", "$5")} USING (key)
), sums_minute AS (
    INSERT INTO kpi_minute AS t (bucket, metric, dims, value)
    SELECT * FROM sums
    ON CONFLICT ({_KEY}) DO UPDATE SET value = t.value + EXCLUDED.value
), sums_hour AS (
    INSERT INTO kpi_hour AS t (bucket, metric, dims, value)
    SELECT date_trunc('hour', bucket, 'UTC'), metric, dims, sum(value)
    FROM sums GROUP BY 1, 2, 3 HAVING sum(value) <> 0
    ON CONFLICT ({_KEY}) DO UPDATE SET value = t.value + EXCLUDED.value
)"""

_SKETCH_CTES = f"""
sketches AS (
    SELECT to_timestamp(r.minute * 60) AS bucket, k.metric, k.dims::jsonb AS dims, r.bin, r.count
    FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::float8[]) AS r(minute, key, bin, count)
    JOIN {_KEYS.format("$5", "$6")} USING (key)
), sketches_minute AS (
    INSERT INTO kpi_sketch_minute AS t (bucket, metric, dims, bin, count)
    SELECT * FROM sketches
    ON CONFLICT ({_KEY}, bin) DO UPDATE SET count = t.count + EXCLUDED.count
), sketches_hour AS (
    INSERT INTO kpi_sketch_hour AS t (bucket, metric, dims, bin, count)
    SELECT date_trunc('hour', bucket, 'UTC'), metric, dims, bin, sum(count)
    FROM sketches GROUP BY 1, 2, 3, 4 HAVING sum(count) <> 0
    ON CONFLICT ({_KEY}, bin) DO UPDATE SET count = t.count + EXCLUDED.count
)"""


class _Encoded:
    """Minute rows as the statement takes them: unix minutes, keys into the distinct
    (metric, dimensions), and those, column by column."""

    def __init__(self) -> None:
        self.minutes: list[int] = []
        self.keys: list[int] = []
        self._minute_of: dict[datetime, int] = {}
        self._key_of: dict[tuple[str, Dims], int] = {}

    def row(self, metric: str, bucket: datetime, dims: Dims) -> None:
        minute = self._minute_of.get(bucket)
        if minute is None:
            minute = self._minute_of[bucket] = micros(bucket) // 60_000_000
        key = self._key_of.get((metric, dims))
        if key is None:
            key = self._key_of[(metric, dims)] = len(self._key_of) + 1
        self.minutes.append(minute)
        self.keys.append(key)

    def key_columns(self) -> list[list[str]]:
        names = list(self._key_of)
        return [[m for m, _ in names], [_json(d) for _, d in names]]


def _json(dims: Dims) -> str:
    """A dimension set as the JSON object text the statement casts to `jsonb`."""
    return orjson.dumps(dict(dims)).decode()


def _add_sums(writes: Writes, rows: dict[tuple[str, datetime, Dims], float]) -> None:
    """kpi_minute and kpi_hour."""
    encoded, values = _Encoded(), []
    for (metric, bucket, dims), value in rows.items():
        if value != 0:
            encoded.row(metric, bucket, dims)
            values.append(value)
    if values:
        writes.add(_SUMS_CTES, encoded.minutes, encoded.keys, values, *encoded.key_columns())


def _add_sketches(writes: Writes, rows: dict[tuple[str, datetime, Dims, int], float]) -> None:
    """kpi_sketch_minute and kpi_sketch_hour."""
    encoded, bins, counts = _Encoded(), [], []
    for (metric, bucket, dims, bin_), count in rows.items():
        if count != 0:
            encoded.row(metric, bucket, dims)
            bins.append(bin_)
            counts.append(count)
    if counts:
        writes.add(_SKETCH_CTES, encoded.minutes, encoded.keys, bins, counts, *encoded.key_columns())


_PRESENCE_CTE = """
presence AS (
    INSERT INTO vc_presence AS t (endpoint_id, hour, district, site_level, minutes)
    SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::bigint[])
    ON CONFLICT (hour, endpoint_id) DO UPDATE
    SET minutes = t.minutes | EXCLUDED.minutes,
        district = EXCLUDED.district, site_level = EXCLUDED.site_level
)"""


def _add_presence(writes: Writes, presence: dict[tuple[str, datetime], list[Any]]) -> None:
    if presence:
        keys = list(presence)
        writes.add(
            _PRESENCE_CTE,
            [k[0] for k in keys],
            [k[1] for k in keys],
            [presence[k][0] for k in keys],
            [presence[k][1] for k in keys],
            [presence[k][2] for k in keys],
        )


# Entity tables merged column-wise: key column, then (column, type) of the merged columns. A
# column the batch did not set is NULL and keeps the stored value; vc_endpoints instead takes
# the whole row when the event is newer.
_ENTITY_COLUMNS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "vc_meetings": ("meeting_id", (("ended_at", "timestamptz"),)),
    "eoffice_documents": (
        "document_id",
        (
            ("agency", "text"),
            ("received_at", "timestamptz"),
            ("due_at", "timestamptz"),
            ("processed_at", "timestamptz"),
        ),
    ),
    "portal_applications": (
        "application_id",
        (
            ("district", "text"),
            ("agency", "text"),
            ("service_level", "text"),
            ("service_code", "text"),
            ("submitted_at", "timestamptz"),
            ("due_at", "timestamptz"),
            ("resolved_at", "timestamptz"),
        ),
    ),
}


def _merge_cte(table: str, key: str, columns: tuple[tuple[str, str], ...]) -> str:
    names = ", ".join((key, *(c for c, _ in columns)))
    arrays = ", ".join(f"${i}::{t}[]" for i, t in enumerate(("text", *(t for _, t in columns)), start=1))
    sets = ",\n        ".join(f"{c} = COALESCE(EXCLUDED.{c}, t.{c})" for c, _ in columns)
    return (
        f"\nmerge_{table} AS (\n    INSERT INTO {table} AS t ({names})\n    SELECT * FROM unnest({arrays})"
        f"\n    ON CONFLICT ({key}) DO UPDATE SET\n        {sets}\n)"
    )


_MERGE_CTES = {table: _merge_cte(table, key, cols) for table, (key, cols) in _ENTITY_COLUMNS.items()}

# One part for the batch's endpoints (every endpoint is in most batches).
_ENDPOINT_CTE = """
endpoints AS (
    INSERT INTO vc_endpoints AS t (endpoint_id, district, site_level, last_event_at, last_offline)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bool[])
    ON CONFLICT (endpoint_id) DO UPDATE
    SET district = EXCLUDED.district, site_level = EXCLUDED.site_level,
        last_event_at = EXCLUDED.last_event_at, last_offline = EXCLUDED.last_offline
    WHERE t.last_event_at <= EXCLUDED.last_event_at
)"""


def _add_entities(writes: Writes, entities: dict[str, dict[str, dict[str, Any]]]) -> None:
    endpoints = entities.get("vc_endpoints")
    if endpoints:
        latest = list(endpoints.values())
        writes.add(
            _ENDPOINT_CTE,
            list(endpoints),
            [r["district"] for r in latest],
            [r["site_level"] for r in latest],
            [r["last_event_at"] for r in latest],
            [r["last_offline"] for r in latest],
        )
    for table, (_key, columns) in _ENTITY_COLUMNS.items():
        rows = [
            (k, r)
            for k, r in entities.get(table, {}).items()
            if any(r.get(c) is not None for c, _ in columns)
        ]
        if rows:
            writes.add(
                _MERGE_CTES[table], [k for k, _ in rows], *([r.get(c) for _, r in rows] for c, _ in columns)
            )


_DIMENSIONS_CTE = """
dimensions AS (
    INSERT INTO dimension_values (area, dimension, value)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING
)"""


def add_effects(writes: Writes, fx: Effects) -> None:
    """Add the upserts of `fx` to the batch's statement; `write_rows` writes the rest."""
    _add_sketches(writes, fx.sketches)
    _add_sums(writes, fx.sums)
    _add_presence(writes, fx.presence)
    _add_entities(writes, fx.entities)
    if fx.dimension_values:
        dims = sorted(fx.dimension_values)
        writes.add(_DIMENSIONS_CTE, *([d[i] for d in dims] for i in range(3)))


def has_rows(fx: Effects) -> bool:
    """Whether `fx` holds rare writes made row by row (`write_rows`), outside the one statement."""
    return bool(fx.pending) or any(r.get("started_at") for r in fx.entities.get("vc_meetings", {}).values())


# A meeting's start fields come together from its latest start event (by event time). Its
# planned endpoints are an array per row, which unnest cannot carry: meetings are rare.
_MEETING_START_SQL = """
INSERT INTO vc_meetings AS t (meeting_id, started_at, organiser, title, planned_endpoints)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (meeting_id) DO UPDATE
SET started_at = EXCLUDED.started_at, organiser = EXCLUDED.organiser, title = EXCLUDED.title,
    planned_endpoints = EXCLUDED.planned_endpoints
WHERE t.started_at IS NULL OR t.started_at <= EXCLUDED.started_at
"""


def _held_columns(dims: Dims) -> tuple[str, str, str]:
    """portal_pending's (district, agency, service_level) of a held contribution."""
    d = dict(dims)
    return d["district"], d["agency"], d["service_level"]


async def write_rows(conn: Conn, fx: Effects) -> None:
    """The writes `add_effects` leaves out: meeting starts and held contributions (both rare)."""
    meetings = fx.entities.get("vc_meetings", {})
    starts = [(mid, r) for mid, r in meetings.items() if r.get("started_at")]
    if starts:
        await conn.executemany(
            _MEETING_START_SQL,
            [(mid, r["started_at"], r["organiser"], r["title"], r["planned_endpoints"]) for mid, r in starts],
        )
    if fx.pending:
        await conn.executemany(
            "INSERT INTO portal_pending"
            " (application_id, bucket, metric, bin, value, district, agency, service_level)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [(p.entity_id, p.bucket, p.metric, p.bin, p.value, *_held_columns(p.dims)) for p in fx.pending],
        )
