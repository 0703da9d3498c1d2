"""The checkpoint: what happens to a judged batch, and in which order.

A consumed batch goes consume -> decode -> admit (streams/admit.py) -> effects
(streams/effects.py) -> write (streams/sink.py). This module owns the order of the last steps,
because exactness depends on it (quix-streams' `Checkpoint` plays the same part):

1. the batch's effects and statement are built while the previous batch is still being
   written, when they need nothing from the database (`sink.prepare`);
2. the previous write must have committed before this batch's is sent (a failed write stops
   the worker before anything of this batch is stored);
3. effects, offsets and the batch's dead letters commit in one database transaction, retried
   until it succeeds; a retry first checks whether the lost attempt committed
   (`sink.store_batch(again=True)`);
4. only then are the dead letters sent, acknowledged and confirmed (streams/outbox.py): sent
   before the commit, a crash in between would send them again from the batch judged anew;
   sent after it, the rows a crash leaves tell the next owner what to look for in the topic
   (`recover_deadletters`), so a reader sees each bad record once;
5. then the broker's (informational) offsets are committed and the metrics counted.

At most one batch is being written at a time, and batches are written in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from ioc.db.pool import Conn
from ioc.retry import TRANSIENT_DB_ERRORS, backoff
from schemas.topics import DEADLETTER
from streams import sink
from streams.admit import BatchResult
from streams.dimsets import DimensionSets
from streams.dltopic import read_values
from streams.metrics import WorkerMetrics
from streams.outbox import Outbox, confirm, load_ends, load_pending, scan_start, unsent

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
        outbox: Outbox,
        client: Mapping[str, Any],
        commit: Commit,
        metrics: WorkerMetrics,
        should_stop: Callable[[], bool],
        crash: Callable[[BaseException], Awaitable[None]],
    ) -> None:
        self.group = group
        self.pool = pool
        self.outbox = outbox
        self.client = client  # the Kafka client's settings, for reading the dead-letter topic
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
        if result.deadletters:
            result.deadletter_from = self.outbox.bounds()
        prepared = sink.prepare(
            result, group=self.group, arrival_minute=arrival_minute, hour=hour, sets=self.sets
        )
        await self.settle()  # first: if the previous write failed, nothing of this batch is stored
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
        if result.deadletters:
            ends = await self.outbox.send(result.deadletters)
            await self.with_db(confirm(self.group, result.deadletter_ids, ends).execute)
        try:
            await self.commit(result)
        except Exception as exc:  # noqa: BLE001 - a failed informational commit is not fatal
            log.info("broker offset commit failed (database offsets are kept): %s", exc)
        self._count(result)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)

    async def recover_deadletters(self, partitions: list[tuple[str, int]]) -> None:
        """Send the dead letters a crash left stored but unconfirmed on `partitions`, except
        those the topic already holds (from the rows' `scan_from` on); then confirm them all."""
        if not self.outbox.ends_loaded:
            self.outbox.learn(await self.with_db(functools.partial(load_ends, group=self.group)))
        pending = await self.with_db(functools.partial(load_pending, group=self.group, partitions=partitions))
        if not pending:
            return
        found = await read_values(self.client, DEADLETTER, start=scan_start(pending))
        missing = unsent(pending, found)
        ends = await self.outbox.send([(p.key, p.value) for p in missing])
        await self.with_db(confirm(self.group, [p.id for p in pending], ends).execute)
        log.info(
            "dead letters left by a crash: %d, %d of them already in %s, %d sent now",
            len(pending),
            len(pending) - len(missing),
            DEADLETTER,
            len(missing),
        )

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
