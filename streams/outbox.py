"""The dead-letter outbox: a bad record reaches `ioc.deadletter` once, whatever crashes.

Kafka transactions cannot give that here. The embedded broker (Tansu 0.6.0, memory storage)
answers InitProducerId with an error, so neither an idempotent nor a transactional producer
starts on it (bench/FINDINGS.md); and even where they do, the topic and the database commit
apart, so one of the two orders of commits still loses or repeats a batch's dead letters at a
crash, and a reader left at the default isolation level sees aborted records anyway.

So the database decides, as it does for everything else (DESIGN.md, "Where the truth lives"):

1. the batch's one statement stores its dead letters in `deadletter_outbox` with its effects
   and offsets (streams/sink.py): a batch that did not commit sent nothing, and is judged again;
2. once it has committed, its dead letters are sent and acknowledged, then their rows deleted
   and the acknowledged ends stored (`deadletter_ends`);
3. a crash in between leaves rows that may or may not have reached the topic. The partition's
   next owner reads the topic from the rows' `scan_from` (the acknowledged ends when they were
   stored: any send of theirs came later, so it lies at or after them) and sends only the ones
   it does not find there, by their id (streams/dltopic.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ioc.db.pool import Conn
from ioc.db.writes import Writes
from schemas.topics import DEADLETTER
from streams.dltopic import DeadLetterId, letter_id

Letter = tuple[bytes | None, bytes]
"""A dead letter's record: key and value."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A stored dead letter not known to have been acknowledged."""

    id: DeadLetterId
    key: bytes | None
    value: bytes
    scan_from: tuple[int, ...]


def scan_start(pending: Iterable[Pending]) -> dict[int, int]:
    """Where to read each dead-letter partition from to find any of `pending` that was sent: the
    smallest bound per partition. A partition not in the result (no bound known for some row) is
    read from its beginning."""
    rows = list(pending)
    if not rows:
        return {}
    width = min(len(p.scan_from) for p in rows)
    return {d: min(p.scan_from[d] for p in rows) for d in range(width)}


def unsent(pending: Sequence[Pending], found: Iterable[bytes]) -> list[Pending]:
    """The pending dead letters whose id is in none of the `found` values, in order."""
    present = {i for value in found if (i := letter_id(value)) is not None}
    return [p for p in pending if p.id not in present]


def acked_ends(acks: Iterable[Any]) -> dict[int, int]:
    """Per dead-letter partition, the end of what `acks` (RecordMetadata) confirm."""
    ends: dict[int, int] = {}
    for md in acks:
        ends[md.partition] = max(ends.get(md.partition, 0), md.offset + 1)
    return ends


class Outbox:
    """Sends stored dead letters and remembers how far the topic's partitions were acknowledged."""

    def __init__(self, producer: Any, *, group: str) -> None:
        self.producer = producer
        self.group = group
        self.ends: dict[int, int] = {}  # dead-letter partition -> acknowledged end
        self.ends_loaded = False

    def bounds(self) -> list[int]:
        """`scan_from` for rows stored now, indexed by dead-letter partition (0: unknown)."""
        if not self.ends:
            return []
        return [self.ends.get(d, 0) for d in range(max(self.ends) + 1)]

    def learn(self, stored: dict[int, int]) -> None:
        """Ends stored by the group's workers, where this worker has acknowledged nothing yet."""
        for d, end in stored.items():
            self.ends.setdefault(d, end)
        self.ends_loaded = True

    async def send(self, letters: Sequence[Letter]) -> dict[int, int]:
        """Send `letters` and wait until the broker has them all; returns their acknowledged ends.

        The ends replace older ones rather than taking the larger: after a broker that lost its
        log, the new, smaller ends are the true ones (and a smaller bound is always safe)."""
        if not letters:
            return {}
        futures = [await self.producer.send(DEADLETTER, value=value, key=key) for key, value in letters]
        ends = acked_ends(await asyncio.gather(*futures))
        self.ends.update(ends)
        return ends


# -- the database side ----------------------------------------------------------------------------


async def load_pending(conn: Conn, *, group: str, partitions: Sequence[tuple[str, int]]) -> list[Pending]:
    """The dead letters of `partitions` that were stored but not confirmed (a crash's leftovers)."""
    if not partitions:
        return []
    rows = await conn.fetch(
        'SELECT DISTINCT ON (o.topic, o.partition, o."offset")'
        ' o.topic, o.partition, o."offset", o.key, o.value, o.scan_from'
        " FROM deadletter_outbox o JOIN unnest($2::text[], $3::int[]) AS u(t, p)"
        " ON o.topic = u.t AND o.partition = u.p"
        ' WHERE o.consumer_group = $1 ORDER BY o.topic, o.partition, o."offset"',
        group,
        [t for t, _ in partitions],
        [p for _, p in partitions],
    )
    return [
        Pending((r["topic"], r["partition"], r["offset"]), r["key"], r["value"], tuple(r["scan_from"]))
        for r in rows
    ]


async def load_ends(conn: Conn, *, group: str) -> dict[int, int]:
    rows = await conn.fetch(
        "SELECT partition, acked_end FROM deadletter_ends WHERE consumer_group = $1", group
    )
    return {r["partition"]: r["acked_end"] for r in rows}


_CONFIRM_CTE = """
confirmed AS (
    DELETE FROM deadletter_outbox o
    USING unnest($2::text[], $3::int[], $4::bigint[]) AS u(t, p, n)
    WHERE o.consumer_group = $1 AND o.topic = u.t AND o.partition = u.p AND o."offset" = u.n
)"""

_ENDS_CTE = """
ends AS (
    INSERT INTO deadletter_ends (consumer_group, partition, acked_end)
    SELECT $1, p, e FROM unnest($2::int[], $3::bigint[]) AS u(p, e)
    ON CONFLICT (consumer_group, partition) DO UPDATE SET acked_end = EXCLUDED.acked_end
)"""


def confirm(group: str, ids: Sequence[DeadLetterId], ends: dict[int, int]) -> Writes:
    """One statement: `ids` are in the topic (their rows go), and the ends acknowledged."""
    writes = Writes()
    if ids:
        writes.add(_CONFIRM_CTE, group, [i[0] for i in ids], [i[1] for i in ids], [i[2] for i in ids])
    if ends:
        writes.add(_ENDS_CTE, group, list(ends), list(ends.values()))
    return writes
