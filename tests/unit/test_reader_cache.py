"""The API's answer cache: stale-while-revalidate, single flight, failures never cached.

A stand-in timer drives expiry, so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from api.reader import TtlCache

TTL = 1.0


class Timer:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Source:
    """A computation that counts its calls; each call takes its outcome from `outcomes`."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0
        self.gate: asyncio.Event | None = None  # when set: every call waits for it

    async def __call__(self) -> object:
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if self.gate is not None:
            await self.gate.wait()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


async def test_first_requests_wait_for_one_shared_computation() -> None:
    cache, source = TtlCache(TTL, timer=Timer()), Source("v1")
    source.gate = asyncio.Event()
    waiting = [asyncio.create_task(cache.get("k", source)) for _ in range(5)]
    await asyncio.sleep(0)
    assert not any(t.done() for t in waiting)  # no answer yet: they wait
    source.gate.set()
    assert await asyncio.gather(*waiting) == ["v1"] * 5
    assert source.calls == 1


async def test_a_fresh_answer_is_not_recomputed() -> None:
    timer = Timer()
    cache, source = TtlCache(TTL, timer=timer), Source("v1")
    assert await cache.get("k", source) == "v1"
    timer.now += 0.9 * TTL
    assert await cache.get("k", source) == "v1"
    assert source.calls == 1


async def test_a_stale_good_answer_is_served_at_once_while_exactly_one_recompute_runs() -> None:
    timer = Timer()
    cache, source = TtlCache(TTL, timer=timer), Source("v1", "v2")
    assert await cache.get("k", source) == "v1"
    timer.now += 1.5 * TTL
    source.gate = asyncio.Event()  # the refresh is slow: it waits until the test lets it go
    served = await asyncio.wait_for(asyncio.gather(*(cache.get("k", source) for _ in range(20))), 1)
    assert served == ["v1"] * 20
    await asyncio.sleep(0)
    assert source.calls == 2  # one refresh for twenty stale hits
    assert await cache.get("k", source) == "v1"  # still refreshing: still the old answer, no new call
    assert source.calls == 2
    source.gate.set()
    await cache.settle()
    assert await cache.get("k", source) == "v2"
    assert source.calls == 2


async def test_an_answer_older_than_one_more_interval_is_not_served() -> None:
    timer = Timer()
    cache, source = TtlCache(TTL, timer=timer), Source("v1", "v2")
    assert await cache.get("k", source) == "v1"
    timer.now += 2 * TTL
    assert await cache.get("k", source) == "v2"  # waited for the recomputation
    assert source.calls == 2


async def test_a_failed_computation_is_not_cached() -> None:
    cache, source = TtlCache(TTL, timer=Timer()), Source(RuntimeError("db down"), "v1")
    source.gate = asyncio.Event()
    waiting = [asyncio.create_task(cache.get("k", source)) for _ in range(3)]
    await asyncio.sleep(0)
    source.gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert source.calls == 1  # its waiters shared the one failure
    assert await cache.get("k", source) == "v1"  # the next request computes again and waits
    assert source.calls == 2


async def test_a_failing_refresh_keeps_the_previous_answer_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    timer = Timer()
    cache = TtlCache(TTL, timer=timer)
    source = Source("v1", RuntimeError("db down"), RuntimeError("still down"), RuntimeError("down"), "v2")
    assert await cache.get("k", source) == "v1"
    timer.now += 1.5 * TTL
    with caplog.at_level(logging.ERROR, logger="ioc.api.reader"):
        assert await cache.get("k", source) == "v1"
        await cache.settle()
    failures = [r for r in caplog.records if r.name == "ioc.api.reader" and r.exc_info]
    assert len(failures) == 1
    exc_info = failures[0].exc_info
    assert exc_info is not None and isinstance(exc_info[1], RuntimeError)
    assert await cache.get("k", source) == "v1"  # the previous answer stays; another refresh behind
    await cache.settle()
    assert source.calls == 3
    timer.now += TTL  # now too old to serve: requests wait, and see the failure as before
    with pytest.raises(RuntimeError, match="down"):
        await cache.get("k", source)
    assert await cache.get("k", source) == "v2"


async def test_a_cancelled_request_leaves_the_computation_to_the_others() -> None:
    cache, source = TtlCache(TTL, timer=Timer()), Source("v1")
    source.gate = asyncio.Event()
    first = asyncio.create_task(cache.get("k", source))
    second = asyncio.create_task(cache.get("k", source))
    await asyncio.sleep(0)
    first.cancel()
    source.gate.set()
    assert await second == "v1"
    assert source.calls == 1
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_full_cache_drops_answers_too_old_to_serve_first() -> None:
    timer = Timer()
    cache = TtlCache(TTL, max_entries=2, timer=timer)
    assert await cache.get("old", Source("a")) == "a"
    timer.now += 0.5 * TTL
    assert await cache.get("stale", Source("b")) == "b"
    timer.now += 1.6 * TTL  # "old" can no longer be served, "stale" still can
    assert await cache.get("new", Source("c")) == "c"
    refresh = Source("b2")
    assert await cache.get("stale", refresh) == "b"  # kept, served stale
    await cache.settle()
    again = Source("a2")
    assert await cache.get("old", again) == "a2"  # dropped: computed again
    assert again.calls == 1
