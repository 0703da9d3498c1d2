"""The database sink: one transaction per batch holds its effects and the offsets they cover.

Because the offsets and the effects commit together, a batch is either wholly in the database
or not at all, and a worker that takes over a partition resumes exactly after the last stored
batch: replaying records never counts anything twice.
"""

from __future__ import annotations

from datetime import datetime

from ioc.db.pool import Conn
from schemas.wire import Event
from streams import kpi_store
from streams.effects import batch_effects
from streams.ingest.batch import BatchResult, PartitionState
from streams.portal.effects import lookups_needed


async def load_partition(
    conn: Conn, *, group: str, topic: str, partition: int, since_hour: int
) -> PartitionState:
    """The stored position, newest event time and duplicate memory of one partition."""
    state = PartitionState(topic, partition)
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
    rows = await conn.fetch(
        "SELECT unnest(fingerprints), accepted_hour FROM accepted_fingerprints"
        " WHERE topic = $1 AND partition = $2 AND accepted_hour >= $3",
        topic,
        partition,
        since_hour,
    )
    state.seen.load((r[0], r[1]) for r in rows)
    return state


async def store_batch(
    conn: Conn,
    *,
    group: str,
    result: BatchResult,
    arrival_minute: datetime,
    hour: int,
) -> None:
    """Write one batch's effects and positions atomically."""
    async with conn.transaction():
        if result.events:
            await _store_effects(conn, result.events)
        if result.outcomes:
            keys = list(result.outcomes)
            await conn.execute(
                """INSERT INTO ingest_minute (topic, bucket, outcome, records)
                   SELECT t, $1, o, n FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(t, o, n)
                   ON CONFLICT (topic, bucket, outcome)
                   DO UPDATE SET records = ingest_minute.records + EXCLUDED.records""",
                arrival_minute,
                [k[0] for k in keys],
                [k[1] for k in keys],
                [result.outcomes[k] for k in keys],
            )
        for (topic, partition), fps in result.fingerprints.items():
            if fps:
                await conn.execute(
                    "INSERT INTO accepted_fingerprints (topic, partition, accepted_hour, fingerprints)"
                    " VALUES ($1, $2, $3, $4::bigint[])",
                    topic,
                    partition,
                    hour,
                    fps,
                )
        touched = result.positions
        await conn.execute(
            """INSERT INTO ingest_offsets
                   (consumer_group, topic, partition, next_offset, newest_event_at, high_watermark)
               SELECT $1, t, p, o, n, h
               FROM unnest($2::text[], $3::int[], $4::bigint[], $5::timestamptz[], $6::bigint[])
                    AS u(t, p, o, n, h)
               ON CONFLICT (consumer_group, topic, partition) DO UPDATE
               SET next_offset = EXCLUDED.next_offset,
                   newest_event_at = EXCLUDED.newest_event_at,
                   high_watermark = EXCLUDED.high_watermark,
                   updated_at = now()""",
            group,
            [s.topic for s in touched],
            [s.partition for s in touched],
            [s.next_offset for s in touched],
            [s.newest_event_at for s in touched],
            [s.high_watermark for s in touched],
        )


async def _store_effects(conn: Conn, events: list[Event]) -> None:
    """Look up what the batch needs from stored state, compute its effects, write them."""
    needed, own = lookups_needed(events)
    known = await kpi_store.known_applications(conn, needed) if needed else {}
    known.update(own)
    held = await kpi_store.take_held(conn, own) if own else []
    fx = batch_effects(events, known_applications=known, held=held, submitted_now=own)
    await kpi_store.write_effects(conn, fx)
