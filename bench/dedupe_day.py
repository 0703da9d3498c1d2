"""A national day in the duplicate memory, measured rather than projected.

20,000 endpoints beating every 10 s for the 25 h window are 180 million event ids. Sending
them through the broker would take hours here, so the ids are fed to the worker's structure
directly (`DedupeMemory.remember`, then each hour sealed and, 25 hours on, taken out, as the
worker does): the memory's bytes, the process's RSS and its peak (`VmHWM`) come from that
process alone. Then a takeover: the last 24 hours are sealed in the database through the
worker's own seal (streams/dedupe_store.py), and a fresh process restores a partition from
them as a worker does on assignment, timed, with its peak RSS.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bench.env import Bench, connect, proc_status_kb, progress

HOURS = 25
"""The duplicate window (streams/dedupe.py)."""

_TOPIC = "ioc.vc.telemetry"


@dataclass
class DedupeDay:
    ids_per_hour: int = 0
    held: int = 0  # ids held at the end of the day: the sealed hours of the window
    bytes_per_id: float = 0.0  # the memory's arrays over the ids held
    rss_mb: float = 0.0  # the feeding process's RSS at the end of the day
    peak_rss_mb: float = 0.0  # its VmHWM across the day, seals and expiries included
    base_rss_mb: float = 0.0  # its RSS before the memory existed (interpreter, numpy)
    seal_s: list[float] = field(default_factory=list)  # per hour: exact ids into the compact form
    forget_s: list[float] = field(default_factory=list)  # per expired hour: its ids taken out
    false_positive: float = 0.0  # share of new ids taken for held ones (confirmed in the database)
    lookup_us: float = 0.0  # per id, asked in batches of 5,000
    db_seal_s: list[float] = field(default_factory=list)  # per hour, the worker's seal in PostgreSQL
    db_seal_peak_rss_mb: float = 0.0  # the sealing process's VmHWM
    takeover_s: float = 0.0  # restoring one partition holding the day
    takeover_peak_rss_mb: float = 0.0
    takeover_held: int = 0
    takeover_confirmed: bool = False  # held ids found and confirmed after the restore

    @property
    def median_seal_s(self) -> float:
        return _median(self.seal_s)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _hour_ids(hour: int, n: int) -> npt.NDArray[np.int64]:
    return np.random.default_rng(hour).integers(-(2**63), 2**63 - 1, n, dtype=np.int64)


def _rss_mb(field_name: str = "VmRSS") -> float:
    return proc_status_kb(os.getpid(), field_name) / 1024


def _feed(per_hour: int, hours: int) -> DedupeDay:
    """In a fresh process: a day and a few hours more through one memory."""
    from streams.dedupe import DedupeMemory

    out = DedupeDay(ids_per_hour=per_hour, base_rss_mb=_rss_mb())
    memory = DedupeMemory(retention_hours=hours)
    for h in range(hours + 3):  # three hours past the window: expiry runs too
        memory.remember(_hour_ids(h, per_hour), hour=h)
        memory.start_hour(h + 1)
        for over in memory.to_seal():  # as streams/dedupe_store.py `tend`: in first, then out
            started = time.perf_counter()
            memory.release(over)  # its exact runs go before the seal reads the hour back
            ids = _hour_ids(over, per_hour)
            memory.sealed(over, ids, new=ids, bits=15)
            del ids
            out.seal_s.append(time.perf_counter() - started)
        for gone in memory.expired():
            started = time.perf_counter()
            memory.forget(gone, _hour_ids(gone, per_hour))
            out.forget_s.append(time.perf_counter() - started)
    out.held, out.rss_mb, out.peak_rss_mb = len(memory), _rss_mb(), _rss_mb("VmHWM")
    out.bytes_per_id = memory.nbytes / max(1, len(memory))
    probe = np.random.default_rng(10**6).integers(-(2**63), 2**63 - 1, 1_000_000, dtype=np.int64)
    started = time.perf_counter()
    taken = sum(len(memory.suspects(probe[i : i + 5000])) for i in range(0, len(probe), 5000))
    out.lookup_us = (time.perf_counter() - started) / len(probe) * 1e6
    out.false_positive = taken / len(probe)
    return out


def _seal_day(url: str, per_hour: int, hours: int) -> tuple[list[float], float]:
    """In a fresh process: the window's sealed hours written as a worker writes them (batch rows,
    then the worker's own seal); (seconds per hour, peak MB)."""
    return asyncio.run(_seal_hours(url, per_hour, hours)), _rss_mb("VmHWM")


async def _seal_hours(url: str, per_hour: int, hours: int) -> list[float]:
    from streams.dedupe import pack
    from streams.dedupe_store import seal_hour

    took = []
    async with connect(url) as conn:
        for h in range(hours - 1):
            ids = _hour_ids(h, per_hour)
            for part in np.array_split(ids, max(1, len(ids) // 1_000_000)):
                await conn.execute(
                    "INSERT INTO accepted_fingerprints (topic, partition, accepted_hour, packed)"
                    " VALUES ($1, 0, $2, $3)",
                    _TOPIC,
                    h,
                    pack(part),
                )
            del ids
            started = time.perf_counter()
            await seal_hour(conn, topic=_TOPIC, partition=0, hour=h)
            took.append(time.perf_counter() - started)
            progress(f"dedupe: hour {h + 1}/{hours - 1} sealed in the database ({took[-1]:.1f} s)")
    return took


def _takeover(url: str, per_hour: int, hours: int) -> tuple[float, float, int, bool]:
    """In a fresh process: restore the partition as a worker does; (seconds, peak MB, held, ok)."""
    return asyncio.run(_restore(url, per_hour, hours))


async def _restore(url: str, per_hour: int, hours: int) -> tuple[float, float, int, bool]:
    from streams import sink
    from streams.dedupe_store import confirm

    async with connect(url) as conn:
        started = time.perf_counter()
        state = await sink.load_partition(conn, group="bench", topic=_TOPIC, partition=0, since_hour=0)
        seconds = time.perf_counter() - started
        peak = _rss_mb("VmHWM")
        held = _hour_ids(hours - 2, per_hour)[:1000]
        suspected = state.seen.suspects(held)
        found = await confirm(
            conn, suspects={(_TOPIC, 0): suspected}, hours={(_TOPIC, 0): state.seen.sealed_hours}
        )
        ok = len(suspected) == len(held) and found.get((_TOPIC, 0)) == set(held.tolist())
        return seconds, peak, len(state.seen), ok


async def measure(bench: Bench, ids: int) -> DedupeDay:
    per_hour = max(1, ids // HOURS)
    ctx = multiprocessing.get_context("spawn")
    progress(f"dedupe: a day of {ids:,} ids fed to the duplicate memory directly")
    with ctx.Pool(1) as pool:
        out: DedupeDay = pool.apply(_feed, (per_hour, HOURS))
    held, peak = out.bytes_per_id, out.peak_rss_mb
    progress(f"dedupe: {held:.2f} B per id held, RSS {out.rss_mb:,.0f} MB, peak {peak:,.0f} MB")
    url = await bench.new_database("dedupe")
    try:
        progress(f"dedupe: {HOURS - 1} hours sealed in PostgreSQL by the worker's seal, in a fresh process")
        with ctx.Pool(1) as pool:
            out.db_seal_s, out.db_seal_peak_rss_mb = pool.apply(_seal_day, (url, per_hour, HOURS))
        with ctx.Pool(1) as pool:
            took = pool.apply(_takeover, (url, per_hour, HOURS))
        out.takeover_s, out.takeover_peak_rss_mb, out.takeover_held, out.takeover_confirmed = took
        peak = out.takeover_peak_rss_mb
        progress(f"dedupe: takeover of the day in {out.takeover_s:.1f} s, peak {peak:,.0f} MB")
    finally:
        await bench.drop_database(url)
    return out


def report(day: DedupeDay | None, target_rss_mb: float) -> list[str]:
    """The report's rows and words for the national day (bench/report.py, section 6)."""
    if day is None:
        return []
    fmt = "{:,.0f}".format
    rows = [
        ["ids a day (fed directly, not through the broker)", f"{fmt(day.ids_per_hour * HOURS)}"],
        ["ids held at the end of the day (the window's sealed hours)", fmt(day.held)],
        ["**duplicate memory per id held**", f"**{day.bytes_per_id:.2f} B**"],
        [
            "process RSS at the end of the day / before the memory",
            f"{fmt(day.rss_mb)} / {fmt(day.base_rss_mb)} MB",
        ],
        ["**process peak RSS over the day (VmHWM)**", f"**{fmt(day.peak_rss_mb)} MB**"],
        ["an hour sealed into the compact form (median)", f"{day.median_seal_s:.1f} s"],
        [
            "an expired hour taken out (median)",
            f"{_median(day.forget_s):.1f} s",
        ],
        [
            "new ids taken for held ones (confirmed in the database, then accepted)",
            f"{day.false_positive:.3%}",
        ],
        ["lookup per id, in batches of 5,000", f"{day.lookup_us:.2f} µs"],
        [
            "an hour sealed in PostgreSQL by the worker's own seal (median; that process's peak RSS)",
            f"{_median(day.db_seal_s):.1f} s; {fmt(day.db_seal_peak_rss_mb)} MB",
        ],
        ["**takeover: a partition holding the day restored from PostgreSQL**", f"**{day.takeover_s:.1f} s**"],
        [
            "takeover peak RSS / ids restored",
            f"{fmt(day.takeover_peak_rss_mb)} MB / {fmt(day.takeover_held)}",
        ],
        ["held ids found and confirmed after the takeover", "yes" if day.takeover_confirmed else "**NO**"],
    ]
    return [
        "### The duplicate memory over a national day",
        "",
        "| what | value |",
        "|---|---|",
        *(f"| {a} | {b} |" for a, b in rows),
        "",
        "Sealed hours are held as truncated fingerprints (streams/idfilter.py); an id they perhaps "
        "hold is a duplicate only once the database confirms it (streams/dedupe_store.py), so the "
        "memory stays exact. The current hour is exact (8 B an id). The whole day is one partition "
        "here, the hardest case: with the day spread over many partitions, each seal and each "
        f"restore is that much smaller. Target: ≤ 2 B per id and ≤ {target_rss_mb:g} MB RSS.",
        "",
    ]
