"""The duplicate memory's hours in the database: sealing an hour, confirming a suspect, restoring.

Batches store their accepted fingerprints one row per batch and partition (streams/sink.py):
the cheapest write, but no way to find one id without reading the hour. Once an hour is over,
its owner seals it (`seal_hour`): the hour's ids are rewritten as sorted rows of at most a few
hundred ids, keyed by their top bits, in one transaction with the deletion of its batch rows.
The worker then keeps that hour only as truncated fingerprints (streams/idfilter.py), and a
possible duplicate among them is settled here by primary-key reads (`confirm`).

A crash anywhere leaves each hour in one form or the other, never half: the seal is one
transaction, and a restore reads both forms in one snapshot (`restore`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt
from asyncpg import Record

from ioc.db.pool import Conn
from streams.admit import PartitionState
from streams.dedupe import DedupeMemory, pack, unpack
from streams.idfilter import SHARD_BITS, SHARDS, shard_of

T = TypeVar("T")

_Ids: TypeAlias = npt.NDArray[np.int64]
_Tp: TypeAlias = tuple[str, int]

SEALED = "accepted_fingerprints_sealed"

ROW_IDS = 256
"""Ids a sealed row holds at most on average: a 2 KB read confirms a suspect for one hour."""


def seal_bits(ids: int) -> int:
    """Bucket bits for an hour of `ids`: rows of ROW_IDS / 2 to ROW_IDS ids."""
    return max(0, int(np.ceil(np.log2(max(ids, 1) / ROW_IDS))))


def buckets(ids: _Ids, bits: int) -> npt.NDArray[np.int64]:
    """Each id's bucket: its top `bits` bits, as unsigned."""
    if not bits:
        return np.zeros(len(ids), dtype=np.int64)
    return (ids.view(np.uint64) >> np.uint64(64 - bits)).astype(np.int64)


def _ids(packed: list[bytes]) -> _Ids:
    """The ids of packed rows, in one array filled row by row (a national hour is 58 MB: no
    second copy of it is made on the way)."""
    out = np.empty(sum(len(p) for p in packed) // 8, dtype=np.int64)
    at = 0
    for p in packed:
        n = len(p) // 8
        out[at : at + n] = np.frombuffer(p, dtype=">i8")
        at += n
    return out


def _ids_of(rows: list[Record]) -> _Ids:
    """The ids of fetched rows of fingerprints (batch rows or sealed rows). Empties `rows`: the
    records go before the ids are copied out, only their bytes stay until then."""
    packed = [_packed(r) for r in rows]
    rows.clear()
    return _ids(packed)


def _packed(row: Record) -> bytes:
    """A batch row's ids; `fingerprints` is the array form of rows written before migration 0008."""
    packed: bytes | None = row["packed"]
    return packed if packed is not None else pack(row["fingerprints"])


_INSERT_ROWS = 2048
"""Sealed rows a statement inserts: a national hour is sent 4 MB at a time, not all at once."""


async def seal_hour(conn: Conn, *, topic: str, partition: int, hour: int) -> tuple[_Ids, _Ids, int]:
    """Seal one hour of one partition; returns all its ids, those not sealed before, its bits.

    Idempotent: an hour sealed already (by a previous owner) gains the batch rows written
    since, if any, and is rewritten whole. An id stored twice by batches (two owners for a
    moment) is sealed twice: harmless, and taken out twice 25 hours on.
    """
    key = (topic, partition, hour)
    where = "WHERE topic = $1 AND partition = $2 AND accepted_hour = $3"
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1), $2)", topic, partition)
        rows = await conn.fetch(f"SELECT packed, fingerprints FROM accepted_fingerprints {where}", *key)
        ids = new = _ids_of(rows)
        before = await conn.fetch(f"SELECT packed FROM {SEALED} {where}", *key)
        if before:
            sealed = _ids_of(before)
            ids, new = np.union1d(sealed, ids), np.setdiff1d(ids, sealed)
            await conn.execute(f"DELETE FROM {SEALED} {where}", *key)
        bits = seal_bits(len(ids))
        # rows in unsigned order, so that each bucket is one slice of the sorted ids
        ids.view(np.uint64).sort()
        edges = np.arange(1, 1 << bits, dtype=np.uint64) << np.uint64(64 - bits if bits else 0)
        parts = np.split(ids, np.searchsorted(ids.view(np.uint64), edges))
        numbered = [(b, part) for b, part in enumerate(parts) if len(part)]
        for at in range(0, len(numbered), _INSERT_ROWS):
            chunk = numbered[at : at + _INSERT_ROWS]
            await conn.execute(
                f"INSERT INTO {SEALED} (topic, partition, accepted_hour, bucket_bits, bucket, packed)"
                " SELECT $1, $2, $3, $4, b, p FROM unnest($5::int[], $6::bytea[]) AS u(b, p)",
                *key,
                bits,
                [b for b, _ in chunk],
                [pack(part) for _, part in chunk],
            )
        await conn.execute(f"DELETE FROM accepted_fingerprints {where}", *key)
    return ids, new, bits


async def hour_ids(conn: Conn, *, topic: str, partition: int, hour: int) -> _Ids:
    """A sealed hour's ids, read back (to take an expired hour out of a memory)."""
    rows = await conn.fetch(
        f"SELECT packed FROM {SEALED} WHERE topic = $1 AND partition = $2 AND accepted_hour = $3",
        topic,
        partition,
        hour,
    )
    return _ids_of(rows)


async def confirm(
    conn: Conn, suspects: Mapping[_Tp, list[int]], hours: Mapping[_Tp, Mapping[int, int]]
) -> dict[_Tp, set[int]]:
    """Of each partition's `suspects`, those its sealed hours (hour -> bucket bits) hold."""
    keys: set[tuple[str, int, int, int]] = set()
    for (topic, partition), fps in suspects.items():
        wanted = np.asarray(fps, dtype=np.int64)
        for hour, bits in hours.get((topic, partition), {}).items():
            keys.update((topic, partition, hour, b) for b in set(buckets(wanted, bits).tolist()))
    if not keys:
        return {}
    rows = await conn.fetch(
        f"SELECT s.topic, s.partition, s.packed FROM {SEALED} s"
        " JOIN unnest($1::text[], $2::int[], $3::int[], $4::int[]) AS k(t, p, h, b)"
        " ON s.topic = k.t AND s.partition = k.p AND s.accepted_hour = k.h AND s.bucket = k.b",
        *(list(column) for column in zip(*keys, strict=True)),
    )
    stored: dict[_Tp, list[_Ids]] = {}
    for r in rows:
        stored.setdefault((r["topic"], r["partition"]), []).append(unpack(r["packed"]))
    out: dict[_Tp, set[int]] = {}
    for tp, parts in stored.items():
        wanted = np.asarray(suspects[tp], dtype=np.int64)
        held: list[int] = wanted[np.isin(wanted, np.concatenate(parts))].tolist()
        if held:
            out[tp] = set(held)
    return out


RESTORE_PARTS = 64
"""A restore reads the sealed hours in this many parts, each a range of the memory's shards
(streams/idfilter.py) across all hours: each shard is built once, and a national day is read
about 20 MB at a time."""


def _part_ranges(part: int, hours: Mapping[int, int]) -> tuple[list[int], list[int], list[int]]:
    """(hour, first bucket, bucket after) for each hour (hour -> bucket bits), covering the
    shards of restore part `part`. An hour with fewer bucket bits than shard bits has rows that
    span several parts: they are read by each, and their ids filtered."""
    per = SHARDS // RESTORE_PARTS
    first, after = part * per, (part + 1) * per
    out: tuple[list[int], list[int], list[int]] = ([], [], [])
    for hour, bits in hours.items():
        if bits >= SHARD_BITS:
            lo, hi = first << (bits - SHARD_BITS), after << (bits - SHARD_BITS)
        else:
            lo, hi = first >> (SHARD_BITS - bits), ((after - 1) >> (SHARD_BITS - bits)) + 1
        out[0].append(hour)
        out[1].append(lo)
        out[2].append(hi)
    return out


async def restore(conn: Conn, memory: DedupeMemory, topic: str, partition: int, since_hour: int) -> None:
    """Fill `memory` with the partition's ids from `since_hour` on: the sealed hours in
    RESTORE_PARTS parts, then the hours still held batch by batch. Call inside a
    repeatable-read transaction, so that a seal committed meanwhile cannot hide an hour from
    both reads."""
    tp = (topic, partition)
    sizes = await conn.fetch(
        "SELECT accepted_hour, min(bucket_bits) AS bits, sum(octet_length(packed)) / 8 AS ids"
        f" FROM {SEALED} WHERE topic = $1 AND partition = $2 AND accepted_hour >= $3"
        " GROUP BY accepted_hour",
        *tp,
        since_hour,
    )
    hours = {s["accepted_hour"]: (int(s["ids"]), int(s["bits"])) for s in sizes}
    counts = [n for n, _ in hours.values()]
    expect = max(sum(counts), max(counts, default=0) * memory.retention_hours)
    memory.load_sealed(hours)
    bits = {hour: b for hour, (_, b) in hours.items()}
    for part in range(RESTORE_PARTS if hours else 0):
        rows = await conn.fetch(
            f"SELECT s.packed FROM {SEALED} s"
            " JOIN unnest($3::int[], $4::int[], $5::int[]) AS r(h, lo, hi)"
            " ON s.topic = $1 AND s.partition = $2 AND s.accepted_hour = r.h"
            " AND s.bucket >= r.lo AND s.bucket < r.hi",
            *tp,
            *_part_ranges(part, bits),
        )
        ids = _ids_of(rows)
        shard = shard_of(ids.view(np.uint64))
        per = SHARDS // RESTORE_PARTS
        ids = ids[(shard >= part * per) & (shard < (part + 1) * per)]
        memory.load_sealed_ids(ids, expect=expect)
    rows = await conn.fetch(
        "SELECT packed, fingerprints, accepted_hour FROM accepted_fingerprints"
        " WHERE topic = $1 AND partition = $2 AND accepted_hour >= $3",
        *tp,
        since_hour,
    )
    memory.load((_packed(r), r["accepted_hour"]) for r in rows)


WithDb: TypeAlias = Callable[[Callable[[Conn], Awaitable[T]]], Awaitable[T]]


async def tend(states: Mapping[_Tp, PartitionState], hour: int, with_db: WithDb[Any]) -> None:
    """Bring each owned partition's memory to `hour`: seal the hours it holds exactly that are
    over, and take expired sealed hours out. Call with no batch being written, so that every
    batch of an hour being sealed is stored (the worker settles its checkpoint first)."""
    for (topic, partition), state in states.items():
        memory = state.seen
        memory.start_hour(hour)
        # the hour over in first (its exact runs go before the seal reads it back), then the
        # expired hour's ids read back and out: a national hour's ids are never held twice
        for h in memory.to_seal():
            memory.release(h)  # every batch of it is stored (see above); a failed seal crashes
            seal = functools.partial(seal_hour, topic=topic, partition=partition, hour=h)
            ids, new, bits = await with_db(seal)
            memory.sealed(h, ids, new=new, bits=bits)
            del ids, new
        for h in memory.expired():
            expired = functools.partial(hour_ids, topic=topic, partition=partition, hour=h)
            memory.forget(h, await with_db(expired))


def due(states: Mapping[_Tp, PartitionState], hour: int) -> bool:
    """Whether `tend` has anything to do (checked before every batch; cheap)."""
    return any(s.seen.due(hour) for s in states.values())
