"""Duplicate memory for one partition: event-id fingerprints accepted in the last 25 hours.

A duplicate always lands on the same partition as its original (same key, the entity id), so
each partition's memory is independent and moves with the partition on a rebalance. Ids are
kept as 64-bit fingerprints (8 bytes of BLAKE2b): for n distinct ids the chance that any two
collide is about n² / 2⁶⁵, 3·10⁻⁴ for 10⁸ ids held at once, so a distinct event is dropped as a
duplicate practically never; a dropped one is counted as a duplicate. Memory is bounded by
time: fingerprints sit in hourly generations (arrays, for expiry) beside the lookup set, and a
generation older than the retention is dropped whole. The set's entries and int objects are
most of the ≈ 126 B an accepted id costs (bench/FINDINGS.md).
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable

_blake2b = hashlib.blake2b
_from_bytes = int.from_bytes


def fingerprint(event_id: str) -> int:
    """A stable signed 64-bit fingerprint (fits PostgreSQL's bigint)."""
    return _from_bytes(_blake2b(event_id.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


class DedupeMemory:
    """Fingerprints of accepted events; one set for lookups, hourly arrays for expiry."""

    __slots__ = ("_all", "_by_hour", "_current", "_hour", "retention_hours")

    def __init__(self, retention_hours: int = 25) -> None:
        self.retention_hours = retention_hours
        self._all: set[int] = set()
        self._by_hour: dict[int, array[int]] = {}
        self._hour = -1
        self._current: array[int] = array("q")

    def __len__(self) -> int:
        return len(self._all)

    def __contains__(self, fp: int) -> bool:
        return fp in self._all

    @property
    def ids(self) -> set[int]:
        """The fingerprints held, for lookups in a hot loop (read only: use `add`)."""
        return self._all

    def add(self, fp: int, *, hour: int) -> None:
        """Remember `fp`, accepted during epoch hour `hour` (unix seconds // 3600)."""
        if hour != self._hour:
            self._switch(hour)
        self._current.append(fp)
        self._all.add(fp)

    def load(self, rows: Iterable[tuple[int, int]]) -> None:
        """Restore (fingerprint, hour) pairs read back from the database."""
        for fp, hour in rows:
            bucket = self._by_hour.get(hour)
            if bucket is None:
                bucket = self._by_hour[hour] = array("q")
            bucket.append(fp)
            self._all.add(fp)
        if self._by_hour:
            self._expire(max(self._by_hour))
        self._hour = -1

    def _switch(self, hour: int) -> None:
        bucket = self._by_hour.get(hour)
        if bucket is None:
            bucket = self._by_hour[hour] = array("q")
            self._expire(hour)
        self._hour, self._current = hour, bucket

    def _expire(self, newest_hour: int) -> None:
        for h in [h for h in self._by_hour if h <= newest_hour - self.retention_hours]:
            self._all.difference_update(self._by_hour.pop(h))
            if h == self._hour:
                self._hour = -1
