"""The shape of a consumed Kafka record, as the ingest and a source's fast path read it."""

from __future__ import annotations

from typing import Protocol


class RawRecord(Protocol):
    """The fields of a consumed Kafka record we use (aiokafka's ConsumerRecord has them)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
