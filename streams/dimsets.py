"""The ids of dimension sets: a KPI row stores its set's id, not its dimensions.

`dimension_sets` holds each set once (as jsonb); its ids never change and its rows are never
deleted, so a worker learns an id once and keeps it. A batch with a set the worker has not seen
yet learns it from the database before its statement is built: a few dozen sets per source (a
few thousand where a set names an entity, as community activities name their team), so after
the first batches every statement is built without asking.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from ioc.contributions import Dims, Effects
from ioc.db.pool import Conn

# Insert the sets not stored yet, then read every set asked for. A set another worker inserts at
# the same moment may be invisible to this statement's snapshot (its insert then does nothing);
# `learn` asks again for what is still missing, with a new snapshot that sees it.
_LEARN = """
WITH given AS (SELECT DISTINCT d FROM unnest($1::jsonb[]) AS u(d)),
new AS (
    INSERT INTO dimension_sets (dims) SELECT d FROM given
    ON CONFLICT (dims) DO NOTHING RETURNING id, dims
)
SELECT id, dims::text AS dims FROM new
UNION ALL
SELECT s.id, s.dims::text FROM dimension_sets s JOIN given g ON s.dims = g.d
"""


def as_json(dims: Dims) -> str:
    """A dimension set as the JSON object text stored as `jsonb`."""
    return orjson.dumps(dict(dims)).decode()


class DimensionSets:
    """Dimension set -> id, for one database (a worker keeps one per pool)."""

    def __init__(self) -> None:
        self.ids: dict[Dims, int] = {}

    def missing(self, fx: Effects) -> list[Dims]:
        """The sets of `fx`'s rows whose ids are not known yet."""
        ids = self.ids
        out: dict[Dims, None] = {}
        for _, _, dims in fx.sums:
            if dims not in ids:
                out[dims] = None
        for _, _, dims in fx.sketches:
            if dims not in ids:
                out[dims] = None
        for _, _, dims, _ in fx.distinct:
            if dims not in ids:
                out[dims] = None
        return list(out)

    async def learn(self, conn: Conn, sets: Iterable[Dims]) -> None:
        """Store the sets not stored yet and remember every one's id."""
        wanted = {as_json(d): d for d in sets}
        for _ in range(3):
            if not wanted:
                return
            for row in await conn.fetch(_LEARN, list(wanted)):
                dims: Dims = tuple(sorted(orjson.loads(row["dims"]).items()))
                self.ids[dims] = row["id"]
                wanted.pop(as_json(dims), None)
        raise RuntimeError(f"dimension sets not stored after three tries: {sorted(wanted)}")
