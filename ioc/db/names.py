"""The registry's names in the database (`dimension_names`), so Grafana's panels show names.

Written by the API at start from the registry it serves; the table then holds exactly those
names (a place removed from the registry leaves it). Several API replicas may write at once:
each write is one transaction of idempotent statements.
"""

from __future__ import annotations

import logging

import asyncpg

from ioc.names import ValueName

log = logging.getLogger("ioc.db.names")


async def store_names(pool: asyncpg.Pool, names: dict[tuple[str, str], ValueName]) -> None:
    """Make `dimension_names` hold exactly `names`; a database not yet migrated is left alone
    (the worker migrates it; the names come with the API's next start)."""
    values = list(names.values())
    columns = (
        [d for d, _ in names],
        [v.code for v in values],
        [v.name_vi for v in values],
        [v.name_en for v in values],
        [v.parent for v in values],
    )
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM dimension_names d WHERE NOT EXISTS (SELECT 1 FROM"
                " unnest($1::text[], $2::text[]) AS n(dimension, code)"
                " WHERE n.dimension = d.dimension AND n.code = d.code)",
                columns[0],
                columns[1],
            )
            await conn.execute(
                "INSERT INTO dimension_names (dimension, code, name_vi, name_en, parent)"
                " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])"
                " ON CONFLICT (dimension, code) DO UPDATE SET name_vi = EXCLUDED.name_vi,"
                " name_en = EXCLUDED.name_en, parent = EXCLUDED.parent",
                *columns,
            )
    except asyncpg.UndefinedTableError:
        log.warning("dimension_names does not exist yet (run `ioc migrate`); Grafana shows codes until then")
