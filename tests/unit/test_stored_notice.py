"""A stored batch's notice: cached answers give way to fresh ones, and the snapshot runs now."""

from __future__ import annotations

import asyncio

from api.periodic import Periodic
from api.reader import TtlCache
from ioc.db.writes import Writes


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


async def test_an_answer_computed_before_new_data_is_recomputed_once_old_enough() -> None:
    clock = Clock()
    cache = TtlCache(ttl=1.0, timer=clock, min_age=0.05)
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        return calls

    assert await cache.get("k", compute) == 1
    clock.t += 0.01
    cache.changed()
    assert await cache.get("k", compute) == 1  # younger than min_age: kept (bounds the rate)
    clock.t += 0.05
    assert await cache.get("k", compute) == 2  # computed before the new data: computed again
    clock.t += 0.1
    assert await cache.get("k", compute) == 2  # fresh, and nothing new since
    clock.t += 0.5
    assert await cache.get("k", compute) == 2  # still within ttl without notices


async def test_a_poke_runs_the_work_now_but_never_twice_within_the_gap() -> None:
    runs: list[float] = []
    loop = asyncio.get_running_loop()

    async def work() -> None:
        runs.append(loop.time())

    periodic = Periodic("test", 10.0, work, min_gap=0.05)
    periodic.start()
    try:
        await asyncio.sleep(0.02)
        assert len(runs) == 1
        for _ in range(5):  # a burst of notices
            periodic.poke()
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.2)
        assert len(runs) == 2 and runs[1] - runs[0] >= 0.05  # one more run, after the gap
    finally:
        await periodic.stop()


def test_the_batch_statement_notifies_with_its_commit() -> None:
    writes = Writes()
    writes.add("a AS (INSERT INTO t VALUES ($1))", 1)
    assert writes.sql.endswith("SELECT 1")
    writes.announce("ioc_stored")
    assert writes.sql.endswith("SELECT pg_notify('ioc_stored', '')")
