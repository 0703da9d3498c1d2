"""The sink writes a batch as one statement: atomic without BEGIN, announced by `sending`.

tests/integration/test_kpis_oracle.py checks what the statement computes; these check the two
properties the worker's overlap of judging and writing relies on (streams/consume.py).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from ioc.contributions import Dims, Effects, dims_of
from ioc.db.pool import create_pool
from ioc.db.writes import Writes
from ioc.kpi.sketch import bin_of
from ioc.settings import DatabaseSettings
from streams import kpi_store, sink
from streams.admit import BatchResult, PartitionState, admit
from streams.dimsets import DimensionSets
from tests.factories import Rec, encode, key_of, topic_of, valid_event

pytestmark = pytest.mark.integration

NOW = datetime(2025, 3, 3, 3, 0, tzinfo=UTC)


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(database_url)
    yield c
    await c.close()


def _batch(types: list[str]) -> BatchResult:
    states: dict[tuple[str, int], PartitionState] = {}
    records = []
    for i, type_name in enumerate(types):
        event = valid_event(type_name, occurred_at=(NOW - timedelta(minutes=30 - i)).isoformat())
        topic = topic_of(type_name)
        states.setdefault((topic, 0), PartitionState(topic, 0))
        records.append(Rec(topic, 0, i, key_of(event), encode(event)))
    records.sort(key=lambda r: r.topic)
    result = admit(records, states, now=NOW, grace=timedelta(hours=2), future_tolerance=timedelta(minutes=5))
    assert not result.deadletters
    assert sum(len(fps) for fps in result.fingerprints.values()) == len(types)
    return result


async def test_a_statement_whose_last_part_fails_writes_none_of_its_parts(conn: asyncpg.Connection) -> None:
    """A batch without row writes skips BEGIN/COMMIT: this is why that is safe."""
    writes = Writes()
    writes.add(
        "o AS (INSERT INTO ingest_minute (topic, bucket, outcome, records) VALUES ($1, $2, 'accepted', 1))",
        "t",
        NOW,
    )
    writes.add(
        "p AS (INSERT INTO ingest_offsets (consumer_group, topic, partition, next_offset)"
        " VALUES ($1, 't', 0, $2))",
        None,  # consumer_group is NOT NULL
        5,
    )
    with pytest.raises(asyncpg.NotNullViolationError):
        await writes.execute(conn)
    assert await conn.fetchval("SELECT count(*) FROM ingest_minute") == 0


@pytest.mark.parametrize(
    "types",
    [
        pytest.param(["vc.heartbeat"] * 20, id="heartbeats only: one statement"),
        pytest.param(
            ["vc.heartbeat", "vc.meeting.started", "application.submitted", "application.resolved"],
            id="with lookups and row writes: a transaction",
        ),
    ],
)
async def test_sending_is_called_once_and_the_whole_batch_is_stored(
    conn: asyncpg.Connection, database_url: str, types: list[str]
) -> None:
    """The worker goes back to judging when `sending` is called: once per batch, or it would
    wait for the whole write (never called) or misread a later call."""
    result = _batch(types)
    observer = await asyncpg.connect(database_url)
    calls: list[int] = []

    def sending() -> None:
        calls.append(1)

    try:
        await sink.store_batch(conn, group="g", result=result, arrival_minute=NOW, hour=0, sending=sending)
        stored = await observer.fetchval("SELECT sum(next_offset) FROM ingest_offsets")
        accepted = await observer.fetchval(
            "SELECT sum(records) FROM ingest_minute WHERE outcome = 'accepted'"
        )
    finally:
        await observer.close()
    assert calls == [1]
    assert accepted == len(types)
    assert stored == sum(p.next_offset for p in result.positions)


@pytest.mark.parametrize(
    "types",
    [
        pytest.param(["vc.heartbeat"] * 5, id="one statement"),
        pytest.param(["vc.heartbeat", "application.submitted", "application.resolved"], id="a transaction"),
    ],
)
async def test_a_retry_after_a_write_that_committed_anyway_adds_nothing(
    conn: asyncpg.Connection, types: list[str]
) -> None:
    """A connection lost while the database committed looks like a failure to the worker; its
    retry (`again`) must not count the batch a second time."""
    result = _batch(types)
    await sink.store_batch(conn, group="g", result=result, arrival_minute=NOW, hour=0)
    kpis = await conn.fetch("SELECT * FROM kpi_minute ORDER BY bucket, metric, dim_set")
    fingerprint_rows = await conn.fetchval("SELECT count(*) FROM accepted_fingerprints")
    await sink.store_batch(conn, group="g", result=result, arrival_minute=NOW, hour=0, again=True)
    assert await conn.fetch("SELECT * FROM kpi_minute ORDER BY bucket, metric, dim_set") == kpis
    assert await conn.fetchval("SELECT sum(records) FROM ingest_minute") == len(types)
    assert await conn.fetchval("SELECT count(*) FROM accepted_fingerprints") == fingerprint_rows


async def test_a_retry_after_a_write_that_did_not_commit_writes_the_batch(conn: asyncpg.Connection) -> None:
    earlier, result = _batch(["vc.heartbeat"] * 3), _batch(["vc.heartbeat"] * 4)
    await sink.store_batch(conn, group="g", result=earlier, arrival_minute=NOW, hour=0)
    await sink.store_batch(conn, group="g", result=result, arrival_minute=NOW, hour=0, again=True)
    assert await conn.fetchval("SELECT sum(records) FROM ingest_minute") == 3 + 4


async def test_a_partition_taken_over_remembers_the_ids_its_batches_stored(conn: asyncpg.Connection) -> None:
    """Each partition's fingerprints are its own slice of the batch's packed buffer."""
    result = _batch(["vc.heartbeat", "vc.heartbeat", "document.received", "vc.meeting.started"])
    await sink.store_batch(conn, group="g", result=result, arrival_minute=NOW, hour=0)
    assert len(result.fingerprints) == 3
    for (topic, partition), fps in result.fingerprints.items():
        state = await sink.load_partition(conn, group="g", topic=topic, partition=partition, since_hour=-1)
        assert len(state.seen) == len(fps) and all(fp in state.seen for fp in fps)


async def test_ids_stored_by_the_previous_version_as_an_array_are_still_remembered(
    conn: asyncpg.Connection,
) -> None:
    """Rows written before migration 0008 (or by a worker of that version during a rolling
    upgrade) hold a bigint[] instead of packed bytes."""
    await conn.execute(
        "INSERT INTO accepted_fingerprints (topic, partition, accepted_hour, fingerprints)"
        " VALUES ('ioc.vc.telemetry', 0, 10, $1)",
        [5, -(2**63), 2**63 - 1],
    )
    state = await sink.load_partition(conn, group="g", topic="ioc.vc.telemetry", partition=0, since_hour=-1)
    assert all(fp in state.seen for fp in (5, -(2**63), 2**63 - 1)) and 6 not in state.seen


async def test_a_batch_prepared_ahead_is_stored_like_one_built_at_its_turn(database_url: str) -> None:
    """The worker builds a batch that needs no lookups, and whose dimension sets it knows, while
    the previous one is written."""
    sets = DimensionSets()
    assert (
        sink.prepare(_batch(["application.resolved"]), group="g", arrival_minute=NOW, hour=0, sets=sets)
        is None
    )
    stored = []
    result = _batch(["vc.heartbeat", "vc.status", "vc.heartbeat", "document.received"])
    # Sets never seen: built at its turn, once their ids are learned.
    assert sink.prepare(result, group="g", arrival_minute=NOW, hour=0, sets=sets) is None
    for ahead in (False, True):
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("TRUNCATE kpi_minute, kpi_sketch_minute, vc_presence, vc_endpoints")
            prepared = (
                sink.prepare(result, group="g", arrival_minute=NOW, hour=0, sets=sets) if ahead else None
            )
            assert (prepared is not None) is ahead
            await sink.store_batch(
                conn, group="g", result=result, arrival_minute=NOW, hour=0, prepared=prepared, sets=sets
            )
            stored.append(
                [
                    await conn.fetch(f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4")
                    for table in ("kpi_minute", "kpi_sketch_minute", "vc_presence")
                ]
                + [
                    await conn.fetch(
                        "SELECT endpoint_id, district, last_event_at FROM vc_endpoints ORDER BY 1"
                    )
                ]
            )
        finally:
            await conn.close()
    assert stored[0] == stored[1] and all(stored[0])


async def test_the_workers_pool_sends_a_batch_at_once(database_url: str) -> None:
    """Only the ingest worker's pool (`batch_writer`), on the embedded server's local socket;
    every pool commits durably."""
    settings = DatabaseSettings(database_url=database_url)  # type: ignore[arg-type]
    for batch_writer in (True, False):
        pool = await create_pool(settings, batch_writer=batch_writer)
        try:
            async with pool.acquire() as conn:
                assert await conn.fetchval("SHOW synchronous_commit") == "on"
                sock = conn._con._transport.get_extra_info("socket")  # type: ignore[union-attr]
                assert sock.family == socket.AF_UNIX
                buffer = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
                assert (buffer >= 1024 * 1024) is batch_writer
        finally:
            await pool.close()


async def test_a_dimension_set_two_workers_meet_at_once_gets_one_id(database_url: str) -> None:
    """A set another worker is inserting at that moment is invisible to the statement that
    waited for it; it is asked for again rather than left without an id (rows would be lost)."""
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        dims = (("district", "NEW_DISTRICT"), ("site_level", "commune"))
        mine, theirs = DimensionSets(), DimensionSets()
        writing = first.transaction()
        await writing.start()
        await mine.learn(first, [dims])  # inserted, not yet committed
        learning = asyncio.ensure_future(theirs.learn(second, [dims]))
        await asyncio.sleep(0.3)
        assert not learning.done()  # waits on the uncommitted row
        await writing.commit()
        await asyncio.wait_for(learning, timeout=10)
        assert mine.ids[dims] == theirs.ids[dims]
        assert (
            await second.fetchval(
                "SELECT count(*) FROM dimension_sets WHERE dims->>'district' = 'NEW_DISTRICT'"
            )
            == 1
        )
    finally:
        await first.close()
        await second.close()


async def test_sketch_bins_of_batches_merge_into_one_row_per_minute_and_hour(
    conn: asyncpg.Connection,
) -> None:
    """A sketch is stored as one row per (minute, metric, dimension set) with its bins as arrays
    (migration 0070): later batches add per bin, a bin whose count comes to 0 (a held
    contribution moved away) leaves the arrays, and the hourly row holds the minutes' sum."""
    here, there = dims_of(district="A"), dims_of(district="B")
    first, second = Effects(), Effects()
    for value in (10.0, 10.0, 250.0):
        first.observe("vc.rtt_ms", NOW, here, value)
    first.observe("vc.rtt_ms", NOW + timedelta(minutes=1), here, 40.0)
    first.observe("vc.rtt_ms", NOW, there, 5.0)
    second.observe("vc.rtt_ms", NOW, here, 10.0)
    second.observe("vc.rtt_ms", NOW, here, 3.0)
    second.observe_bins("vc.rtt_ms", NOW, here, {bin_of(250.0): -1.0})
    second.observe_bins("vc.rtt_ms", NOW, there, {bin_of(5.0): -1.0})
    sets = DimensionSets()
    for fx in (first, second):
        await sets.learn(conn, sets.missing(fx))
        writes = Writes()
        kpi_store.add_effects(writes, fx, sets)
        await writes.execute(conn)

    def arrays(table: str, bucket: datetime, dims: Dims) -> Any:
        return conn.fetchrow(
            f"SELECT bins, counts FROM {table} WHERE metric = 'vc.rtt_ms' AND bucket = $1 AND dim_set = $2",
            bucket,
            sets.ids[dims],
        )

    ordered = sorted([bin_of(3.0), bin_of(10.0)])
    assert tuple(await arrays("kpi_sketch_minute", NOW, here)) == (
        ordered,
        [1.0 if b == bin_of(3.0) else 3.0 for b in ordered],
    )
    assert tuple(await arrays("kpi_sketch_minute", NOW + timedelta(minutes=1), here)) == (
        [bin_of(40.0)],
        [1.0],
    )
    assert tuple(await arrays("kpi_sketch_minute", NOW, there)) == ([], [])  # every bin moved away
    hour = sorted([bin_of(3.0), bin_of(10.0), bin_of(40.0)])
    assert tuple(await arrays("kpi_sketch_hour", NOW, here)) == (
        hour,
        [{bin_of(3.0): 1.0, bin_of(10.0): 3.0, bin_of(40.0): 1.0}[b] for b in hour],
    )
    assert await conn.fetchval("SELECT count(*) FROM kpi_sketch_bins_minute") == 3
