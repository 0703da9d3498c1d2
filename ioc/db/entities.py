"""Entity rows merged column-wise into a source's table, as a part of the batch's statement.

A source names its tables, key column and merged columns with their SQL types; a column the
batch did not set travels as NULL and keeps the stored value, so batches may arrive in any
order and each event fills in what it knows.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from ioc.contributions import Effects
from ioc.db.writes import Writes

MergedTables = Mapping[str, tuple[str, tuple[tuple[str, str], ...]]]
"""table -> (key column, ((column, SQL type), ...))."""


@functools.cache
def _merge_cte(table: str, key: str, columns: tuple[tuple[str, str], ...]) -> str:
    names = ", ".join((key, *(c for c, _ in columns)))
    arrays = ", ".join(f"${i}::{t}[]" for i, t in enumerate(("text", *(t for _, t in columns)), start=1))
    sets = ",\n        ".join(f"{c} = COALESCE(EXCLUDED.{c}, t.{c})" for c, _ in columns)
    return (
        f"\nmerge_{table} AS (\n    INSERT INTO {table} AS t ({names})\n    SELECT * FROM unnest({arrays})"
        f"\n    ON CONFLICT ({key}) DO UPDATE SET\n        {sets}\n)"
    )


def merge_entities(writes: Writes, fx: Effects, tables: MergedTables) -> None:
    """Add one merge part per table of `tables` the batch changed (names are the source's own)."""
    for table, (key, columns) in tables.items():
        rows = [
            (k, r)
            for k, r in fx.entities.get(table, {}).items()
            if any(r.get(c) is not None for c, _ in columns)
        ]
        if rows:
            writes.add(
                _merge_cte(table, key, columns),
                [k for k, _ in rows],
                *([r.get(c) for _, r in rows] for c, _ in columns),
            )
