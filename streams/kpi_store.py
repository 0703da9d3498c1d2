"""Writes of a batch's effects: KPI building blocks, presence, entity rows, held contributions.

Every write is an upsert that adds (sums, sketches), ORs (presence) or merges (entities), so
the order of batches does not matter for the result, and each runs inside the sink's
transaction with the offsets it covers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ioc.db.pool import Conn
from streams.aggregate import Dims, Effects, Pending
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
            (r["district"], "", r["agency"], r["service_level"]),
        )
        for r in rows
    ]


# A batch's minute rows, and their hourly rollup computed from the same rows in the same
# statement: one round trip and one set of arrays for both tables. Hours are UTC hours.
_KEY = "metric, bucket, district, site_level, agency, service_level"

_SUMS_SQL = f"""
WITH batch AS (
    SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[],
                         $6::text[], $7::float8[])
        AS r(bucket, metric, district, site_level, agency, service_level, value)
), minutes AS (
    INSERT INTO kpi_minute AS t (bucket, metric, district, site_level, agency, service_level, value)
    SELECT * FROM batch
    ON CONFLICT ({_KEY}) DO UPDATE SET value = t.value + EXCLUDED.value
)
INSERT INTO kpi_hour AS t (bucket, metric, district, site_level, agency, service_level, value)
SELECT date_trunc('hour', bucket, 'UTC'), metric, district, site_level, agency, service_level,
       sum(value)
FROM batch GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(value) <> 0
ON CONFLICT ({_KEY}) DO UPDATE SET value = t.value + EXCLUDED.value
"""

_SKETCH_SQL = f"""
WITH batch AS (
    SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[],
                         $6::text[], $7::int[], $8::float8[])
        AS r(bucket, metric, district, site_level, agency, service_level, bin, count)
), minutes AS (
    INSERT INTO kpi_sketch_minute AS t
        (bucket, metric, district, site_level, agency, service_level, bin, count)
    SELECT * FROM batch
    ON CONFLICT ({_KEY}, bin) DO UPDATE SET count = t.count + EXCLUDED.count
)
INSERT INTO kpi_sketch_hour AS t (bucket, metric, district, site_level, agency, service_level, bin, count)
SELECT date_trunc('hour', bucket, 'UTC'), metric, district, site_level, agency, service_level, bin,
       sum(count)
FROM batch GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(count) <> 0
ON CONFLICT ({_KEY}, bin) DO UPDATE SET count = t.count + EXCLUDED.count
"""


async def _write_sums(conn: Conn, rows: dict[tuple[str, datetime, Dims], float]) -> None:
    """kpi_minute and kpi_hour."""
    items = [(k, v) for k, v in rows.items() if v != 0]
    if not items:
        return
    await conn.execute(
        _SUMS_SQL,
        [k[1] for k, _ in items],
        [k[0] for k, _ in items],
        *([k[2][i] for k, _ in items] for i in range(4)),
        [v for _, v in items],
    )


async def _write_sketches(conn: Conn, rows: dict[tuple[str, datetime, Dims, int], float]) -> None:
    """kpi_sketch_minute and kpi_sketch_hour."""
    items = [(k, v) for k, v in rows.items() if v != 0]
    if not items:
        return
    await conn.execute(
        _SKETCH_SQL,
        [k[1] for k, _ in items],
        [k[0] for k, _ in items],
        *([k[2][i] for k, _ in items] for i in range(4)),
        [k[3] for k, _ in items],
        [v for _, v in items],
    )


async def _write_presence(conn: Conn, presence: dict[tuple[str, datetime], list[Any]]) -> None:
    if not presence:
        return
    keys = list(presence)
    await conn.execute(
        """INSERT INTO vc_presence AS t (endpoint_id, hour, district, site_level, minutes)
           SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::bigint[])
           ON CONFLICT (hour, endpoint_id) DO UPDATE
           SET minutes = t.minutes | EXCLUDED.minutes,
               district = EXCLUDED.district, site_level = EXCLUDED.site_level""",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [presence[k][0] for k in keys],
        [presence[k][1] for k in keys],
        [presence[k][2] for k in keys],
    )


# Entity tables: key column, merged columns. A column the batch did not set is NULL and keeps
# the stored value; vc_endpoints instead takes the whole row when the event is newer.
_ENTITY_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "vc_meetings": ("meeting_id", ("ended_at",)),
    "eoffice_documents": ("document_id", ("agency", "received_at", "due_at", "processed_at")),
    "portal_applications": (
        "application_id",
        ("district", "agency", "service_level", "service_code", "submitted_at", "due_at", "resolved_at"),
    ),
}


def _merge_sql(table: str, key: str, columns: tuple[str, ...]) -> str:
    cols = ", ".join((key, *columns))
    params = ", ".join(f"${i}" for i in range(1, len(columns) + 2))
    sets = ",\n    ".join(f"{c} = COALESCE(EXCLUDED.{c}, t.{c})" for c in columns)
    return (
        f"INSERT INTO {table} AS t ({cols}) VALUES ({params})\nON CONFLICT ({key}) DO UPDATE SET\n    {sets}"
    )


_MERGE_SQL = {table: _merge_sql(table, key, cols) for table, (key, cols) in _ENTITY_COLUMNS.items()}

# A meeting's start fields come together from its latest start event (by event time).
_MEETING_START_SQL = """
INSERT INTO vc_meetings AS t (meeting_id, started_at, organiser, title, planned_endpoints)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (meeting_id) DO UPDATE
SET started_at = EXCLUDED.started_at, organiser = EXCLUDED.organiser, title = EXCLUDED.title,
    planned_endpoints = EXCLUDED.planned_endpoints
WHERE t.started_at IS NULL OR t.started_at <= EXCLUDED.started_at
"""

# One statement for the batch's endpoints (every endpoint is in most batches: a row each
# through executemany cost a round of statement execution per endpoint).
_ENDPOINT_SQL = """
INSERT INTO vc_endpoints AS t (endpoint_id, district, site_level, last_event_at, last_offline)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bool[])
ON CONFLICT (endpoint_id) DO UPDATE
SET district = EXCLUDED.district, site_level = EXCLUDED.site_level,
    last_event_at = EXCLUDED.last_event_at, last_offline = EXCLUDED.last_offline
WHERE t.last_event_at <= EXCLUDED.last_event_at
"""


async def _write_entities(conn: Conn, entities: dict[str, dict[str, dict[str, Any]]]) -> None:
    endpoints = entities.get("vc_endpoints")
    if endpoints:
        latest = list(endpoints.values())
        await conn.execute(
            _ENDPOINT_SQL,
            list(endpoints),
            [r["district"] for r in latest],
            [r["site_level"] for r in latest],
            [r["last_event_at"] for r in latest],
            [r["last_offline"] for r in latest],
        )
    starts = [(mid, r) for mid, r in entities.get("vc_meetings", {}).items() if r.get("started_at")]
    if starts:
        await conn.executemany(
            _MEETING_START_SQL,
            [(mid, r["started_at"], r["organiser"], r["title"], r["planned_endpoints"]) for mid, r in starts],
        )
    for table, (_key, columns) in _ENTITY_COLUMNS.items():
        rows = {
            k: r for k, r in entities.get(table, {}).items() if any(r.get(c) is not None for c in columns)
        }
        if not rows:
            continue
        values = [(eid, *(r.get(c) for c in columns)) for eid, r in rows.items()]
        await conn.executemany(_MERGE_SQL[table], values)


async def _write_pending(conn: Conn, pending: list[Pending]) -> None:
    if not pending:
        return
    await conn.executemany(
        "INSERT INTO portal_pending"
        " (application_id, bucket, metric, bin, value, district, agency, service_level)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [(p.entity_id, p.bucket, p.metric, p.bin, p.value, p.dims[0], p.dims[2], p.dims[3]) for p in pending],
    )


async def write_effects(conn: Conn, fx: Effects) -> None:
    """Store everything in `fx` (inside the caller's transaction)."""
    await _write_sketches(conn, fx.sketches)
    await _write_sums(conn, fx.sums)
    await _write_presence(conn, fx.presence)
    await _write_entities(conn, fx.entities)
    await _write_pending(conn, fx.pending)
    if fx.dimension_values:
        dims = sorted(fx.dimension_values)
        await conn.execute(
            "INSERT INTO dimension_values (area, dimension, value)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING",
            *([d[i] for d in dims] for i in range(3)),
        )
