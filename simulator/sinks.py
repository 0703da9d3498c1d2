"""Where records go: a Kafka topic set (the real thing) or a replayable file.

Sinks take batches, so the driver hands over many records per await and a file
run is not slowed by a coroutine switch per event.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from simulator.records import Record, RecordWriter

log = logging.getLogger("ioc.simulator.sinks")


class SinkError(RuntimeError):
    """Records could not be delivered; the message says where and why."""


class Sink(Protocol):
    async def start(self) -> None: ...

    async def send(self, records: list[Record]) -> None:
        """Accept a batch (it may be delivered later; ``close`` waits for delivery)."""

    async def close(self) -> None: ...


def parse_bootstrap(url: str) -> str:
    """``kafka://host:port[,host:port]`` (each part may repeat the scheme) → aiokafka's ``host:port,...``."""
    hosts = []
    for part in url.split(","):
        scheme, sep, host = part.strip().rpartition("://")
        if (sep and scheme != "kafka") or ":" not in host:
            raise SinkError(f"broker URL {url!r}: expected kafka://host:port[,host:port]")
        hosts.append(host.rstrip("/"))
    return ",".join(hosts)


class FileSink:
    """Writes the record file format (``simulator.records``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._writer: RecordWriter | None = None

    async def start(self) -> None:
        self._writer = RecordWriter(self.path)

    async def send(self, records: list[Record]) -> None:
        if self._writer is None:
            raise SinkError("file sink not started")
        self._writer.write(records)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class KafkaSink:
    """An aiokafka producer fed whole batches: records are grouped per partition (the default
    murmur2 partitioner, as any Kafka client would pick) into ready-made batches, about four
    times faster than one ``send`` per record.

    ``acks="all"`` by default: the simulated sources are the pipeline's only input, so a
    record the broker did not keep is a story with a hole. Delivery errors surface on the
    next ``send`` or at ``close``. The record timestamp is the send time, as a real source's
    would be; the event time is in the value.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        acks: int | str = "all",
        linger_ms: int = 5,
        max_batch_size: int = 1024 * 1024,
        compression_type: str | None = None,
        max_in_flight: int = 1000,
        client_id: str = "ioc-simulator",
        security: Mapping[str, Any] | None = None,
    ) -> None:
        self.bootstrap_servers = parse_bootstrap(bootstrap_servers)
        self._options: dict[str, Any] = {
            **(security or {}),  # ioc.kafka.security_options: TLS and SASL as configured
            "acks": acks,
            "linger_ms": linger_ms,
            "max_batch_size": max_batch_size,
            "max_request_size": max_batch_size + 64 * 1024,
            "compression_type": compression_type,
            "client_id": client_id,
        }
        self._max_in_flight = max_in_flight
        self._producer: Any = None
        self._partitioner: Any = None
        self._partitions: dict[str, list[int]] = {}
        self._in_flight: deque[Any] = deque()

    async def start(self) -> None:
        from aiokafka import AIOKafkaProducer  # file runs do not need it
        from aiokafka.partitioner import DefaultPartitioner

        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers, **self._options)
        try:
            await producer.start()
        except Exception as exc:
            await producer.stop()
            raise SinkError(f"cannot reach the broker at {self.bootstrap_servers}: {exc}") from exc
        self._producer = producer
        self._partitioner = DefaultPartitioner()
        log.info("connected to the broker", extra={"bootstrap_servers": self.bootstrap_servers})

    async def send(self, records: list[Record]) -> None:
        producer = self._producer
        if producer is None:
            raise SinkError("Kafka sink not started")
        partitioner = self._partitioner
        builders: dict[tuple[str, int], Any] = {}
        for record in records:
            partitions = self._partitions.get(record.topic) or await self._discover(record.topic)
            where = (record.topic, partitioner(record.key, partitions, partitions))
            builder = builders.get(where)
            if builder is None:
                builder = builders[where] = producer.create_batch()
            if builder.append(key=record.key, value=record.value, timestamp=None) is None:
                await self._ship(builder, where)
                builder = builders[where] = producer.create_batch()
                if builder.append(key=record.key, value=record.value, timestamp=None) is None:
                    raise SinkError(f"a record of {len(record.value)} bytes exceeds the batch size")
        for where, builder in builders.items():
            if builder.record_count():
                await self._ship(builder, where)

    async def _discover(self, topic: str) -> list[int]:
        try:
            partitions = sorted(await self._producer.partitions_for(topic))
        except Exception as exc:
            raise SinkError(f"no metadata for topic {topic} at {self.bootstrap_servers}: {exc}") from exc
        self._partitions[topic] = partitions
        return partitions

    async def _ship(self, builder: Any, where: tuple[str, int]) -> None:
        try:
            future = await self._producer.send_batch(builder, where[0], partition=where[1])
        except Exception as exc:
            raise SinkError(f"sending to {self.bootstrap_servers} failed: {exc}") from exc
        in_flight = self._in_flight
        in_flight.append(future)
        while in_flight and (in_flight[0].done() or len(in_flight) > self._max_in_flight):
            await self._settle(in_flight.popleft())

    async def _settle(self, future: Any) -> None:
        try:
            await future
        except Exception as exc:
            raise SinkError(f"the broker at {self.bootstrap_servers} did not take a record: {exc}") from exc

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            await producer.flush()
            while self._in_flight:
                await self._settle(self._in_flight.popleft())
        finally:
            await producer.stop()
