"""Consume: a Faust service that reads the source topics in batches and owns their partitions.

Per-event Faust streams top out near 5,000 events/s here while aiokafka's `getmany` delivers
~300,000 (shared/ENVIRONMENT.md), so ingest consumes batches itself and ties partition
ownership, offsets and state together: on assignment it resumes from the offsets stored in
the database; on revocation it finishes the batch in hand first. Each batch is judged here
(streams/admit.py) and handed to the checkpoint (streams/checkpoint.py), which writes it with
its offsets in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Iterable
from typing import Any

import mode
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from ioc.clock import Clock, SystemClock
from ioc.kafka import client_options
from ioc.settings import Settings
from sources import SOURCES
from streams import sink
from streams.admit import BatchResult, PartitionState
from streams.checkpoint import Checkpoint
from streams.judge import judge
from streams.metrics import WorkerMetrics
from streams.outbox import Outbox

SOURCE_TOPICS = tuple(t.name for t in SOURCES.topics)

log = logging.getLogger("ioc.streams.ingest")


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
        self._assignments = 0  # bumped by each `acquire` once it has moved the positions
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._checkpoint: Checkpoint | None = None

    @property
    def consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("ingest service not started")
        return self._consumer

    @property
    def checkpoint(self) -> Checkpoint:
        if self._checkpoint is None:
            raise RuntimeError("ingest service not started")
        return self._checkpoint

    async def on_start(self) -> None:
        from ioc.db.pool import create_pool

        pool = await create_pool(self.settings.database, batch_writer=True)
        kafka = client_options(self.settings.broker)
        self._producer = AIOKafkaProducer(**kafka, acks="all", linger_ms=5, client_id="ioc-deadletter")
        await self._producer.start()
        self._checkpoint = Checkpoint(
            group=self.group,
            pool=pool,
            outbox=Outbox(self._producer, group=self.group),
            client=kafka,
            commit=self._commit,
            metrics=self.metrics,
            should_stop=lambda: self.should_stop,
            crash=self.crash,
        )
        session_ms = int(self.settings.broker.session_timeout_s * 1000)
        self._consumer = AIOKafkaConsumer(
            **kafka,
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
                if self._checkpoint is not None:
                    await self.checkpoint.settle(reported=True)
        finally:
            if self._consumer is not None:
                await self.consumer.stop()  # leaves the group: the partitions move on at once
            if self._producer is not None:
                await self._producer.stop()
            if self._checkpoint is not None:
                await self.checkpoint.pool.close()

    # -- partition ownership -------------------------------------------------------------

    async def acquire(self, assigned: list[TopicPartition]) -> None:
        """Take partitions over from the positions stored in the database, and finish sending
        the dead letters their previous owner stored (streams/outbox.py)."""
        since = int(self.clock.now().timestamp()) // 3600 - 25
        async with self._lock:
            await self.checkpoint.settle(reported=True)
            for tp in assigned:
                state = await self.checkpoint.with_db(
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
            self._assignments += 1  # after the seeks: a batch taken before them is not judged
            # before any new batch of these partitions: what a crashed owner stored but may not
            # have sent. Failing that, the worker stops (as for a failed write) rather than leave
            # them unsent; aiokafka would only log an error raised here.
            try:
                await self.checkpoint.recover_deadletters([(tp.topic, tp.partition) for tp in assigned])
            except Exception as exc:
                log.error("sending the dead letters a previous owner left failed: %r", exc)
                await self.crash(exc)
                raise
            self.metrics.partitions.set(len(self.states))
        log.info("assigned %d partitions", len(assigned))

    async def release(self, revoked: list[TopicPartition]) -> None:
        """Give partitions up once the batch in hand is stored."""
        async with self._lock:
            try:
                await self.checkpoint.settle(reported=True)  # the batch being written covers these partitions
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
            assignments = self._assignments
            batch = await self.consumer.getmany(
                timeout_ms=ingest.batch_max_wait_ms, max_records=ingest.batch_max_records
            )
            async with self._lock:
                if self.should_stop:
                    break
                if assignments != self._assignments:
                    # `acquire` moved the positions while this batch was being fetched: it may
                    # come from the old positions (judging it would leave the consumer's position
                    # and the stored one apart; after a broker reset, records between them were
                    # never read again) or from the new ones, which getmany has now moved past.
                    # Either way it is dropped and every partition is fetched again from where
                    # judging reached.
                    self._rewind()
                    continue
                records = []
                for tp in self.consumer.assignment():
                    if (tp.topic, tp.partition) in self.states:
                        records.extend(self._from_stored_position(tp, batch.get(tp, [])))
                if records:
                    await self._handle(records)
                self._update_lag()

    def _rewind(self) -> None:
        """Set each owned partition's fetch position to the next offset to judge."""
        for tp in self.consumer.assignment():
            state = self.states.get((tp.topic, tp.partition))
            if state is not None:
                self.consumer.seek(tp, state.next_offset)

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
            if not fetched or fetched[0].offset >= state.next_offset:
                return fetched  # in offset order: nearly every fetch, with nothing to drop
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
        """Judge a batch, then hand it to the checkpoint, which writes it in the background
        while the loop judges the next.

        Judging is the worker's CPU and writing is mostly the database's, so overlapping them
        keeps both busy (bench/REPORT.md). Each write carries the positions its batch reached
        (`BatchResult.positions`), not the live ones the next batch moves.
        """
        started = time.perf_counter()
        now = self.clock.now()
        ingest = self.settings.ingest
        result = await judge(
            records,  # type: ignore[arg-type]
            self.states,
            now=now,
            grace=ingest.grace_period,
            future_tolerance=ingest.future_tolerance,
            with_db=self.checkpoint.with_db,
            settle=self.checkpoint.settle,
        )
        await self.checkpoint.flush(result, now, started)

    async def _commit(self, result: BatchResult) -> None:
        """The broker's committed offsets are informational (lag tools); the database is the truth."""
        await self.consumer.commit(
            {
                TopicPartition(p.topic, p.partition): OffsetAndMetadata(p.next_offset, "")
                for p in result.positions
            }
        )

    def _update_lag(self) -> None:
        for tp in self.consumer.assignment():
            hw = self.consumer.highwater(tp)
            state = self.states.get((tp.topic, tp.partition))
            if hw is not None and state is not None:
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, hw - state.next_offset))
