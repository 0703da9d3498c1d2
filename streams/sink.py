"""The database sink: one transaction per batch holds its effects and the offsets they cover.

Because the offsets and the effects commit together, a batch is either wholly in the database
or not at all, and a worker that takes over a partition resumes exactly after the last stored
batch: replaying records never counts anything twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from ioc.contributions import Effects
from ioc.db import stored
from ioc.db.pool import Conn
from ioc.db.writes import Writes
from ioc.sources import Lookups
from sources import SOURCES
from streams import dedupe_store, kpi_store
from streams.admit import BatchResult, PartitionState
from streams.dedupe import pack
from streams.dimsets import DimensionSets
from streams.effects import batch_effects


async def load_partition(
    conn: Conn, *, group: str, topic: str, partition: int, since_hour: int
) -> PartitionState:
    """The stored position, newest event time and duplicate memory of one partition, read in
    one snapshot (an hour sealed meanwhile is seen in one form, streams/dedupe_store.py)."""
    state = PartitionState(topic, partition)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        row = await conn.fetchrow(
            "SELECT next_offset, newest_event_at FROM ingest_offsets"
            " WHERE consumer_group = $1 AND topic = $2 AND partition = $3",
            group,
            topic,
            partition,
        )
        if row is not None:
            state.next_offset = row["next_offset"]
            state.newest_event_at = row["newest_event_at"]
        await dedupe_store.restore(conn, state.seen, topic, partition, since_hour)
    return state


class Prepared(NamedTuple):
    """A batch's effects and its one statement, built ahead of its write (`prepare`)."""

    effects: Effects
    statement: Writes


def prepare(
    result: BatchResult, *, group: str, arrival_minute: datetime, hour: int, sets: DimensionSets
) -> Prepared | None:
    """The batch's effects and statement, if they need nothing from the database.

    Most batches (heartbeats, documents, meetings) need no lookups, so they can be built while
    the previous batch is still being written, not after it. None for a batch that does
    (portal events, whose sources' `Lookups` read the database): `store_batch` builds it once
    the previous batch is stored.
    """
    events = result.events
    if events and _lookups(events):
        return None
    fx = batch_effects(events, fast_sums=result.heartbeats)
    if sets.missing(fx):  # a dimension set seen for the first time: its id is asked for first
        return None
    return Prepared(fx, _statement(fx, group, result, arrival_minute, hour, sets))


async def store_batch(
    conn: Conn,
    *,
    group: str,
    result: BatchResult,
    arrival_minute: datetime,
    hour: int,
    sending: Callable[[], object] | None = None,
    again: bool = False,
    prepared: Prepared | None = None,
    sets: DimensionSets | None = None,
) -> None:
    """Write one batch's effects and positions atomically.

    Everything but a few rare writes goes out as one statement (ioc/db/writes.py), `prepared`
    already if the caller had it built (`prepare`); `sending` is called just before it goes,
    so the caller can judge the next batch while the database works. A batch that needs no
    lookups and no row writes is that one statement, its own transaction.

    `again` marks a retry. A connection lost during the write (or a timeout) leaves unknown
    whether it committed, and a second copy would add the batch's sums twice; so a retry first
    looks for the batch's token among the stored positions, and stops if it is there.
    """
    if again and await _stored(conn, group, result):
        return
    if prepared is not None:
        await _write(conn, prepared.effects, prepared.statement, sending)
        return
    events = result.events
    lookups = _lookups(events) if events else []
    async with contextlib.AsyncExitStack() as atomic:
        if lookups:  # a lookup may take rows (held contributions): only with the write
            await atomic.enter_async_context(conn.transaction())
        found = {name: await lookup.load(conn, events) for name, lookup in lookups}
        fx = batch_effects(events, lookups=found, fast_sums=result.heartbeats)
        sets = sets if sets is not None else DimensionSets()
        if missing := sets.missing(fx):
            await sets.learn(conn, missing)
        await _write(conn, fx, _statement(fx, group, result, arrival_minute, hour, sets), sending)


def _lookups(events: list[Any]) -> list[tuple[str, Lookups]]:
    """The sources whose lookups this batch's events need, by name."""
    return [(s.name, s.lookups) for s in SOURCES.all if s.lookups is not None and s.lookups.needed(events)]


async def _write(conn: Conn, fx: Effects, statement: Writes, sending: Callable[[], object] | None) -> None:
    """The rare rows written one by one, then the statement, in a transaction if there are rows."""
    async with contextlib.AsyncExitStack() as atomic:
        if kpi_store.has_rows(fx) and not conn.is_in_transaction():
            await atomic.enter_async_context(conn.transaction())
        await kpi_store.write_rows(conn, fx)  # nothing, mostly
        if sending is not None:
            sending()
        await statement.execute(conn)


_OUTCOMES_CTE = """
outcomes AS (
    INSERT INTO ingest_minute (topic, bucket, outcome, records)
    SELECT t, $1, o, n FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(t, o, n)
    ON CONFLICT (topic, bucket, outcome) DO UPDATE SET records = ingest_minute.records + EXCLUDED.records
)"""

# Each partition's new fingerprints are `n` bytes of one packed buffer, from byte `at` (1-based).
_FINGERPRINTS_CTE = """
fingerprints AS (
    INSERT INTO accepted_fingerprints (topic, partition, accepted_hour, packed)
    SELECT t, p, $1, substring($2::bytea FROM at FOR n)
    FROM unnest($3::text[], $4::int[], $5::int[], $6::int[]) AS u(t, p, at, n)
)"""

# A batch's dead letters, sent only once this statement has committed (streams/outbox.py).
_OUTBOX_CTE = """
deadletters AS (
    INSERT INTO deadletter_outbox (consumer_group, topic, partition, "offset", key, value, scan_from)
    SELECT $1, t, p, o, k, v, $7
    FROM unnest($2::text[], $3::int[], $4::bigint[], $5::bytea[], $6::bytea[]) AS u(t, p, o, k, v)
)"""

_OFFSETS_CTE = """
offsets AS (
    INSERT INTO ingest_offsets
        (consumer_group, topic, partition, next_offset, newest_event_at, high_watermark, batch_token)
    SELECT $1, t, p, o, n, h, $7
    FROM unnest($2::text[], $3::int[], $4::bigint[], $5::timestamptz[], $6::bigint[]) AS u(t, p, o, n, h)
    ON CONFLICT (consumer_group, topic, partition) DO UPDATE
    SET next_offset = EXCLUDED.next_offset,
        newest_event_at = EXCLUDED.newest_event_at,
        high_watermark = EXCLUDED.high_watermark,
        batch_token = EXCLUDED.batch_token,
        updated_at = now()
)"""


async def _stored(conn: Conn, group: str, result: BatchResult) -> bool:
    """Whether `result` is in the database: its token is on a partition it moved (batches of a
    partition are written in order, so no later batch can have replaced it yet)."""
    if not result.positions:
        return False
    first = result.positions[0]
    token = await conn.fetchval(
        "SELECT batch_token FROM ingest_offsets WHERE consumer_group = $1 AND topic = $2 AND partition = $3",
        group,
        first.topic,
        first.partition,
    )
    return bool(token == result.token)


def _statement(
    fx: Effects, group: str, result: BatchResult, arrival_minute: datetime, hour: int, sets: DimensionSets
) -> Writes:
    """The batch's one statement: its effects, outcome counts, fingerprints, dead letters and
    positions."""
    writes = Writes()
    writes.announce(stored.CHANNEL)  # the API hears of the batch when it commits
    kpi_store.add_effects(writes, fx, sets)
    if result.outcomes:
        keys = list(result.outcomes)
        writes.add(
            _OUTCOMES_CTE,
            arrival_minute,
            [k[0] for k in keys],
            [k[1] for k in keys],
            [result.outcomes[k] for k in keys],
        )
    fingerprints: list[int] = []
    slices: list[tuple[str, int, int, int]] = []
    for (topic, partition), fps in result.fingerprints.items():
        if fps:
            slices.append((topic, partition, 8 * len(fingerprints) + 1, 8 * len(fps)))
            fingerprints.extend(fps)
    if slices:
        writes.add(_FINGERPRINTS_CTE, hour, pack(fingerprints), *([s[i] for s in slices] for i in range(4)))
    if ids := result.deadletter_ids:
        writes.add(
            _OUTBOX_CTE,
            group,
            [i[0] for i in ids],
            [i[1] for i in ids],
            [i[2] for i in ids],
            [k for k, _ in result.deadletters],
            [v for _, v in result.deadletters],
            result.deadletter_from,
        )
    if touched := result.positions:
        writes.add(
            _OFFSETS_CTE,
            group,
            [s.topic for s in touched],
            [s.partition for s in touched],
            [s.next_offset for s in touched],
            [s.newest_event_at for s in touched],
            [s.high_watermark for s in touched],
            result.token,
        )
    return writes
