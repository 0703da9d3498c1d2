"""Retention: what is dropped when, so the database stays bounded at national scale.

Plain SQL deletes work on both PostgreSQL and TimescaleDB (where dropping whole chunks would be
cheaper; `add_retention_policy` can replace these for hypertables in a deployment).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ioc.db.pool import Queryable as Conn


async def purge(
    conn: Conn,
    *,
    now: datetime,
    minute_retention: timedelta,
    dimension_retention: timedelta,
    dedupe_hours: int = 25,
) -> dict[str, int]:
    """Delete expired rows; returns rows deleted per table."""
    steps = {
        "accepted_fingerprints": (
            "DELETE FROM accepted_fingerprints WHERE accepted_hour < $1",
            int(now.timestamp()) // 3600 - dedupe_hours,
        ),
        # written only by workers of versions before migration 0005, kept for rolling upgrades
        "accepted_events": (
            "DELETE FROM accepted_events WHERE accepted_hour < $1",
            int(now.timestamp()) // 3600 - dedupe_hours,
        ),
        "kpi_minute": ("DELETE FROM kpi_minute WHERE bucket < $1", now - minute_retention),
        "kpi_sketch_minute": ("DELETE FROM kpi_sketch_minute WHERE bucket < $1", now - minute_retention),
        "kpi_distinct_minute": ("DELETE FROM kpi_distinct_minute WHERE bucket < $1", now - minute_retention),
        "kpi_state_minute": ("DELETE FROM kpi_state_minute WHERE bucket < $1", now - minute_retention),
        "ingest_minute": ("DELETE FROM ingest_minute WHERE bucket < $1", now - minute_retention),
        "kpi_hour": ("DELETE FROM kpi_hour WHERE bucket < $1", now - 10 * minute_retention),
        "kpi_sketch_hour": ("DELETE FROM kpi_sketch_hour WHERE bucket < $1", now - 10 * minute_retention),
        "kpi_distinct_hour": ("DELETE FROM kpi_distinct_hour WHERE bucket < $1", now - 10 * minute_retention),
        "vc_presence": ("DELETE FROM vc_presence WHERE hour < $1", now - 10 * minute_retention),
        "portal_applications": (
            "DELETE FROM portal_applications WHERE resolved_at < $1",
            now - dimension_retention,
        ),
        "portal_pending": ("DELETE FROM portal_pending WHERE bucket < $1", now - dimension_retention),
        "eoffice_documents": (
            "DELETE FROM eoffice_documents WHERE processed_at < $1 AND received_at IS NOT NULL",
            now - dimension_retention,
        ),
    }
    out = {}
    for table, (sql, arg) in steps.items():
        status = await conn.execute(sql, arg)
        out[table] = int(status.split()[-1])
    return out
