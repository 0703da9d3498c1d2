"""The high-volume path: a Faust service that consumes the source topics in batches.

Per-event Faust streams top out near 5,000 events/s here while aiokafka's `getmany` delivers
~300,000 (shared/ENVIRONMENT.md), so ingest consumes batches itself and ties partition
ownership, offsets and state together: on assignment it resumes from the offsets stored in
the database; on revocation it finishes the batch in hand first; every batch is stored with
its offsets in one transaction (streams/sink.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import mode
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from ioc.clock import Clock, SystemClock
from ioc.db.pool import Conn
from ioc.settings import Settings
from schemas.topics import DEADLETTER
from sources import SOURCES
from streams import sink
from streams.ingest.batch import BatchResult, PartitionState, admit
from streams.metrics import WorkerMetrics

SOURCE_TOPICS = tuple(t.name for t in SOURCES.topics)

log = logging.getLogger("ioc.streams.ingest")
T = TypeVar("T")

# Records judged between two turns of the event loop: well under a millisecond of work here.
_JUDGE_SLICE = 250


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, service: IngestService) -> None:
        self.service = service

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.service.release(list(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self.service.acquire(list(assigned))


class IngestService(mode.Service):
    """Consume, judge, dead-letter and store the source topics, batch by batch."""

    def __init__(
        self,
        settings: Settings,
        *,
        metrics: WorkerMetrics,
        clock: Clock | None = None,
        topics: tuple[str, ...] = SOURCE_TOPICS,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.settings = settings
        self.metrics = metrics
        self.clock: Clock = clock or SystemClock()
        self.topics = topics
        self.group = settings.broker.consumer_group
        self.states: dict[tuple[str, int], PartitionState] = {}
        self._lock = asyncio.Lock()
        self._pool: asyncpg.Pool | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._storing: asyncio.Future[None] | None = None  # the batch being written, if any
        self._crash_task: asyncio.Future[None] | None = None

    @property
    def consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("ingest service not started")
        return self._consumer

    async def on_start(self) -> None:
        from ioc.db.pool import create_pool

        self._pool = await create_pool(self.settings.database, batch_writer=True)
        bootstrap = self.settings.broker.bootstrap_servers
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=5, client_id="ioc-deadletter"
        )
        await self._producer.start()
        session_ms = int(self.settings.broker.session_timeout_s * 1000)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=self.group,
            client_id="ioc-ingest",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(1000, session_ms // 3),
            rebalance_timeout_ms=session_ms,
            max_poll_interval_ms=3_600_000,  # a database outage pauses consumption, not membership
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_bytes=32 * 1024 * 1024,
        )
        self.consumer.subscribe(list(self.topics), listener=_Rebalance(self))
        await self.consumer.start()

    async def on_stop(self) -> None:
        try:
            async with self._lock:  # the loop sees should_stop under this lock: no batch starts after
                await self._settle(reported=True)
        finally:
            if self._consumer is not None:
                await self.consumer.stop()  # leaves the group: the partitions move on at once
            if self._producer is not None:
                await self._producer.stop()
            if self._pool is not None:
                await self._pool.close()

    # -- partition ownership -------------------------------------------------------------

    async def acquire(self, assigned: list[TopicPartition]) -> None:
        """Take partitions over from the positions stored in the database."""
        since = int(self.clock.now().timestamp()) // 3600 - 25
        async with self._lock:
            await self._settle(reported=True)
            for tp in assigned:
                state = await self._with_db(
                    functools.partial(
                        sink.load_partition,
                        group=self.group,
                        topic=tp.topic,
                        partition=tp.partition,
                        since_hour=since,
                    )
                )
                self.states[(tp.topic, tp.partition)] = state
                self.consumer.seek(tp, state.next_offset)
            self.metrics.partitions.set(len(self.states))
        log.info("assigned %d partitions", len(assigned))

    async def release(self, revoked: list[TopicPartition]) -> None:
        """Give partitions up once the batch in hand is stored."""
        async with self._lock:
            try:
                await self._settle(reported=True)  # the batch being written covers these partitions
            finally:
                for tp in revoked:
                    self.states.pop((tp.topic, tp.partition), None)
                    with contextlib.suppress(KeyError):
                        self.metrics.lag.remove(tp.topic, str(tp.partition))
                self.metrics.partitions.set(len(self.states))
        log.info("revoked %d partitions", len(revoked))

    # -- the loop ----------------------------------------------------------------------------

    @mode.Service.task
    async def _consume(self) -> None:
        ingest = self.settings.ingest
        while not self.should_stop:
            batch = await self.consumer.getmany(
                timeout_ms=ingest.batch_max_wait_ms, max_records=ingest.batch_max_records
            )
            async with self._lock:
                if self.should_stop:
                    break
                records = []
                for tp in self.consumer.assignment():
                    if (tp.topic, tp.partition) in self.states:
                        records.extend(self._from_stored_position(tp, batch.get(tp, [])))
                if records:
                    await self._handle(records)
                self._update_lag()

    def _from_stored_position(self, tp: TopicPartition, fetched: list[Any]) -> list[Any]:
        """The fetched records of `tp` that come after the stored position.

        Records below it were fetched from the broker's (informational, older) committed offset
        before `acquire` moved the position to the database's: they are stored already. A
        stored position above the partition's high watermark (from fetch responses) means the
        broker lost its log (the embedded broker keeps nothing across runs): the partition is
        read again from its beginning.
        """
        state = self.states[(tp.topic, tp.partition)]
        hw = self.consumer.highwater(tp)
        if fetched:
            state.high_watermark = hw
        if hw is None or hw >= state.next_offset:
            return [r for r in fetched if r.offset >= state.next_offset]
        log.warning(
            "broker log of %s[%d] ends at offset %d below the stored %d: broker was reset,"
            " reading the partition from its beginning",
            tp.topic,
            tp.partition,
            hw,
            state.next_offset,
        )
        self.metrics.broker_resets.labels(tp.topic).inc()
        state.next_offset = 0
        state.newest_event_at = None
        if fetched and fetched[0].offset == 0:
            return fetched
        self.consumer.seek(tp, 0)
        return []

    async def _handle(self, records: list[object]) -> None:
        """Judge a batch, then write it in the background while the loop judges the next.

        Judging is the worker's CPU and writing is mostly the database's, so overlapping them
        keeps both busy (bench/REPORT.md). At most one batch is being written, and batches
        are written in order: a batch's write starts once the previous one has committed,
        since its lookups (portal submissions) must see it. Each write carries the positions
        its batch reached (`BatchResult.positions`), not the live ones the next batch moves.
        """
        started = time.perf_counter()
        now = self.clock.now()
        ingest = self.settings.ingest
        result = BatchResult()
        for i in range(0, len(records), _JUDGE_SLICE):
            if i:
                # Let the loop send the previous batch's statement (it may not fit the socket's
                # buffer in one go), read the database's answer and the broker's next fetch.
                await asyncio.sleep(0)
            admit(
                records[i : i + _JUDGE_SLICE],  # type: ignore[arg-type]
                self.states,
                now=now,
                grace=ingest.grace_period,
                future_tolerance=ingest.future_tolerance,
                into=result,
            )
        arrival_minute, hour = now.replace(second=0, microsecond=0), int(now.timestamp()) // 3600
        # Built while the previous batch is still being written, where nothing is to look up.
        prepared = sink.prepare(result, group=self.group, arrival_minute=arrival_minute, hour=hour)
        await self._settle()  # first: if the previous write failed, nothing of this batch goes out
        await self._send_deadletters(result)
        # The write's lookups and aggregation need this loop to themselves; its statement needs
        # only short turns of it (to be sent and answered: see the slices above). So the loop
        # goes back to judging once that statement is on its way (or the write has ended).
        sent = asyncio.get_running_loop().create_future()
        self._storing = storing = asyncio.ensure_future(
            self._store(result, arrival_minute, hour, prepared, started, sent)
        )
        storing.add_done_callback(self._stored)
        await asyncio.wait((sent, storing), return_when=asyncio.FIRST_COMPLETED)

    def _stored(self, storing: asyncio.Future[None]) -> None:
        """A write that failed (past `_with_db`'s retries) crashes the service at once, as a
        failure in the loop itself would: no further batch is judged or dead-lettered."""
        if not storing.cancelled() and (exc := storing.exception()) is not None:
            log.error("storing a batch failed: %r", exc)
            self._crash_task = asyncio.ensure_future(self.crash(exc))

    async def _settle(self, *, reported: bool = False) -> None:
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
            )

        await self._with_db(write, timed=True)
        # The broker's committed offsets are informational (lag tools); the database is the truth.
        offsets = {
            TopicPartition(p.topic, p.partition): OffsetAndMetadata(p.next_offset, "")
            for p in result.positions
        }
        try:
            await self.consumer.commit(offsets)
        except Exception as exc:  # noqa: BLE001 - a failed informational commit is not fatal
            log.info("broker offset commit failed (database offsets are kept): %s", exc)
        self._count(result)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)

    async def _send_deadletters(self, result: BatchResult) -> None:
        if not result.deadletters:
            return
        if self._producer is None:
            raise RuntimeError("ingest service not started")
        futures = [
            await self._producer.send(DEADLETTER, value=value, key=key) for key, value in result.deadletters
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

    def _update_lag(self) -> None:
        for tp in self.consumer.assignment():
            hw = self.consumer.highwater(tp)
            state = self.states.get((tp.topic, tp.partition))
            if hw is not None and state is not None:
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, hw - state.next_offset))

    async def _with_db(self, work: Callable[[Conn], Awaitable[T]], *, timed: bool = False) -> T:
        """Run `work(conn)` in the database, retrying with backoff until it succeeds or we stop."""
        if self._pool is None:
            raise RuntimeError("ingest service not started")
        delay = 0.2
        while True:
            started = time.perf_counter()
            try:
                async with self._pool.acquire() as conn:
                    out = await work(conn)
                if timed:
                    self.metrics.db_write_seconds.observe(time.perf_counter() - started)
                return out
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                self.metrics.db_write_errors.inc()
                log.warning("database write failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter only
                delay = min(delay * 2, 10.0)
                if self.should_stop:
                    raise
