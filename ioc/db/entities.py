"""Entity rows upserted into a source's table, as a part of the batch's statement.

A source names its table, key column and columns with their SQL types, and how a stored row
takes a batch's row: by default column-wise (a column the batch did not set travels as NULL and
keeps the stored value, so batches may arrive in any order and each event fills in what it
knows); a source whose rows follow another rule ("the latest state change wins") gives its
own SET expressions and WHERE condition. One statement part per table either way.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from ioc.contributions import Effects
from ioc.db.pool import Conn
from ioc.db.writes import Writes

MergedTables = Mapping[str, tuple[str, tuple[tuple[str, str], ...]]]
"""table -> (key column, ((column, SQL type), ...))."""


@dataclass(frozen=True)
class Upsert:
    """How a batch's rows of one entity table (`Effects.entities[table]`) reach the table; every
    name is the source's own, never user text (`t` is the stored row, `EXCLUDED` the batch's)."""

    table: str
    key: str
    columns: tuple[tuple[str, str], ...]  # (column, SQL type)
    sets: Mapping[str, str] = field(default_factory=dict)  # column -> expression; default COALESCE
    where: str = ""  # when a stored row takes the batch's at all; "": always

    @cached_property
    def sql(self) -> str:
        names = ", ".join((self.key, *(c for c, _ in self.columns)))
        types = ("text", *(t for _, t in self.columns))
        arrays = ", ".join(f"${i}::{t}[]" for i, t in enumerate(types, start=1))
        sets = ",\n        ".join(
            f"{c} = {self.sets.get(c, f'COALESCE(EXCLUDED.{c}, t.{c})')}" for c, _ in self.columns
        )
        where = f"\n    WHERE {self.where}" if self.where else ""
        return (
            f"\nmerge_{self.table} AS (\n    INSERT INTO {self.table} AS t ({names})"
            f"\n    SELECT * FROM unnest({arrays})"
            f"\n    ON CONFLICT ({self.key}) DO UPDATE SET\n        {sets}{where}\n)"
        )

    def add(self, writes: Writes, fx: Effects) -> None:
        """Add this table's part, if the batch set anything in it."""
        columns = self.columns
        rows = [
            (k, r)
            for k, r in fx.entities.get(self.table, {}).items()
            if any(r.get(c) is not None for c, _ in columns)
        ]
        if rows:
            writes.add(self.sql, [k for k, _ in rows], *([r.get(c) for _, r in rows] for c, _ in columns))


class UpsertStore:
    """A source's `Store` (ioc/sources.py) that only upserts entity rows, in the one statement."""

    def __init__(self, *upserts: Upsert) -> None:
        self.upserts = upserts

    def add_parts(self, writes: Writes, fx: Effects) -> None:
        for upsert in self.upserts:
            upsert.add(writes, fx)

    def has_rows(self, fx: Effects) -> bool:
        return False

    async def write_rows(self, conn: Conn, fx: Effects) -> None:
        return None


@functools.cache
def _merge(table: str, key: str, columns: tuple[tuple[str, str], ...]) -> Upsert:
    return Upsert(table, key, columns)  # its SQL built once, not per batch


def merge_entities(writes: Writes, fx: Effects, tables: MergedTables) -> None:
    """Add one column-wise merge part per table of `tables` the batch changed."""
    for table, (key, columns) in tables.items():
        _merge(table, key, columns).add(writes, fx)
