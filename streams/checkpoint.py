"""The checkpoint: what happens to a judged batch, and in which order.

A consumed batch goes consume -> decode -> admit (streams/admit.py) -> effects
(streams/effects.py) -> write (streams/sink.py). This module owns the order of the last steps,
because exactness depends on it (quix-streams' `Checkpoint` plays the same part):

1. the batch's effects and statement are built while the previous batch is still being
   written, when they need nothing from the database (`sink.prepare`);
2. the previous write must have committed before anything of this batch leaves the process
   (a failed write stops the worker before this batch's dead letters go out);
3. dead letters are sent, and acknowledged by the broker, before the batch's offsets are
   stored: a crash in between re-judges the batch and sends them again, never loses them;
4. effects and offsets commit in one database transaction, retried until it succeeds; a
   retry first checks whether the lost attempt committed (`sink.store_batch(again=True)`);
5. only then are the broker's (informational) offsets committed and the metrics counted.

At most one batch is being written at a time, and batches are written in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from ioc.db.pool import Conn
from ioc.retry import TRANSIENT_DB_ERRORS, backoff
from schemas.topics import DEADLETTER
from streams import sink
from streams.admit import BatchResult
from streams.dimsets import DimensionSets
from streams.metrics import WorkerMetrics

log = logging.getLogger("ioc.streams.ingest")
T = TypeVar("T")

Commit = Callable[[BatchResult], Awaitable[None]]
"""Commits a stored batch's offsets to the broker (informational: the database is the truth)."""


class Checkpoint:
    """Writes judged batches in order, one at a time, each after the previous has committed."""

    def __init__(
        self,
        *,
        group: str,
        pool: asyncpg.Pool,
        producer: Any,
        commit: Commit,
        metrics: WorkerMetrics,
        should_stop: Callable[[], bool],
        crash: Callable[[BaseException], Awaitable[None]],
    ) -> None:
        self.group = group
        self.pool = pool
        self.producer = producer
        self.commit = commit
        self.metrics = metrics
        self.should_stop = should_stop
        self.crash = crash
        self.sets = DimensionSets()  # ids of dimension sets, learned once per database
        self._storing: asyncio.Future[None] | None = None  # the batch being written, if any
        self._crash_task: asyncio.Future[None] | None = None

    async def flush(self, result: BatchResult, now: datetime, started: float) -> None:
        """Hand over a judged batch: its write starts once the previous one is stored, and this
        returns once the write's statement is on its way (or the write has ended), so the loop
        can judge the next batch while the database works."""
        arrival_minute, hour = now.replace(second=0, microsecond=0), int(now.timestamp()) // 3600
        prepared = sink.prepare(
            result, group=self.group, arrival_minute=arrival_minute, hour=hour, sets=self.sets
        )
        await self.settle()  # first: if the previous write failed, nothing of this batch goes out
        await self._send_deadletters(result)
        # The write's lookups and aggregation need this loop to themselves; its statement needs
        # only short turns of it (to be sent and answered). So the loop goes back to judging
        # once that statement is on its way (or the write has ended).
        sent = asyncio.get_running_loop().create_future()
        self._storing = storing = asyncio.ensure_future(
            self._store(result, arrival_minute, hour, prepared, started, sent)
        )
        storing.add_done_callback(self._stored)
        await asyncio.wait((sent, storing), return_when=asyncio.FIRST_COMPLETED)

    async def settle(self, *, reported: bool = False) -> None:
        """Wait until the batch being written (if any) is stored. Its failure is raised here,
        unless `reported`: `_stored` has crashed the service for it already."""
        storing, self._storing = self._storing, None
        if storing is None:
            return
        if reported:
            with contextlib.suppress(Exception):
                await storing
        else:
            await storing

    def _stored(self, storing: asyncio.Future[None]) -> None:
        """A write that failed (past `with_db`'s retries) crashes the service at once, as a
        failure in the loop itself would: no further batch is judged or dead-lettered."""
        if not storing.cancelled() and (exc := storing.exception()) is not None:
            log.error("storing a batch failed: %r", exc)
            self._crash_task = asyncio.ensure_future(self.crash(exc))

    async def _store(
        self,
        result: BatchResult,
        arrival_minute: datetime,
        hour: int,
        prepared: sink.Prepared | None,
        started: float,
        sent: asyncio.Future[None],
    ) -> None:
        def sending() -> None:
            if not sent.done():
                sent.set_result(None)

        attempts = 0

        async def write(conn: Conn) -> None:
            nonlocal attempts
            attempts += 1
            await sink.store_batch(
                conn,
                group=self.group,
                result=result,
                arrival_minute=arrival_minute,
                hour=hour,
                sending=sending,
                again=attempts > 1,  # an earlier attempt may have committed before it failed
                prepared=prepared,
                sets=self.sets,
            )

        await self.with_db(write, timed=True)
        try:
            await self.commit(result)
        except Exception as exc:  # noqa: BLE001 - a failed informational commit is not fatal
            log.info("broker offset commit failed (database offsets are kept): %s", exc)
        self._count(result)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)

    async def _send_deadletters(self, result: BatchResult) -> None:
        if not result.deadletters:
            return
        futures = [
            await self.producer.send(DEADLETTER, value=value, key=key) for key, value in result.deadletters
        ]
        await asyncio.gather(*futures)

    def _count(self, result: BatchResult) -> None:
        m = self.metrics
        for (topic, outcome), n in result.outcomes.items():
            m.consumed.labels(topic).inc(n)
            if outcome == "accepted":
                m.accepted.labels(topic).inc(n)
            elif outcome == "duplicate":
                m.duplicates.labels(topic).inc(n)
            else:
                m.rejected.labels(topic, outcome).inc(n)

    async def with_db(self, work: Callable[[Conn], Awaitable[T]], *, timed: bool = False) -> T:
        """Run `work(conn)` in the database, retrying with backoff until it succeeds or we stop."""
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                async with self.pool.acquire() as conn:
                    out = await work(conn)
                if timed:
                    self.metrics.db_write_seconds.observe(time.perf_counter() - started)
                return out
            except TRANSIENT_DB_ERRORS as exc:
                attempt += 1
                self.metrics.db_write_errors.inc()
                delay = backoff(attempt, initial=0.2, maximum=10.0)
                log.warning("database write failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                if self.should_stop():
                    raise
