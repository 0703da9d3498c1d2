"""Duplicate memory for one partition: event-id fingerprints accepted in the last 25 hours.

A duplicate always lands on the same partition as its original (same key, the entity id), so
each partition's memory is independent and moves with the partition on a rebalance. Ids are
kept as 64-bit fingerprints (8 bytes of BLAKE2b): for n distinct ids the chance that any two
collide is about n² / 2⁶⁵, 3·10⁻⁴ for 10⁸ ids held at once, so a distinct event is dropped as a
duplicate practically never; a dropped one is counted as a duplicate.

Memory is bounded by time and kept small, because a country's heartbeats are 180 M ids a day:
- the current hour's fingerprints sit in a set, which answers one id at a time cheaply;
- earlier hours are sealed into one sorted array (8 B an id) with each id's hour beside it
  (4 B), looked up a batch at a time (`sealed_among`);
- every hour the set is merged into the array, and ids older than the retention are cut off.
So an id costs about 12 B once its hour is over, against ≈ 126 B in a set (bench/FINDINGS.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

_blake2b = hashlib.blake2b
_from_bytes = int.from_bytes

_Ids: TypeAlias = npt.NDArray[np.int64]
_Hours: TypeAlias = npt.NDArray[np.int32]


def pack(fingerprints: list[int]) -> bytes:
    """Fingerprints as the database keeps them (accepted_fingerprints.packed): 8 bytes each,
    big-endian, so that a batch's are handed over as one value, not an array of numbers."""
    return np.array(fingerprints, dtype=">i8").tobytes()


def fingerprint(event_id: str) -> int:
    """A stable signed 64-bit fingerprint (fits PostgreSQL's bigint)."""
    return _from_bytes(_blake2b(event_id.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


class DedupeMemory:
    """Fingerprints of accepted events: the current hour in a set, earlier hours in sorted arrays."""

    __slots__ = ("_hour", "_sealed", "_sealed_hours", "recent", "retention_hours")

    def __init__(self, retention_hours: int = 25) -> None:
        self.retention_hours = retention_hours
        self.recent: set[int] = set()  # accepted during `_hour`; read-only outside this class
        self._hour = -1
        self._sealed: _Ids = np.empty(0, dtype=np.int64)  # sorted
        self._sealed_hours: _Hours = np.empty(0, dtype=np.int32)  # the hour of each sealed id

    def __len__(self) -> int:
        return len(self.recent) + len(self._sealed)

    def __contains__(self, fp: int) -> bool:
        return fp in self.recent or bool(self.sealed_among([fp]))

    def sealed_among(self, fps: list[int] | _Ids) -> set[int]:
        """Those of `fps` held from earlier hours. One call per batch: the hot loop then asks
        only sets (`recent`, and this answer)."""
        sealed = self._sealed
        if not len(fps) or not len(sealed):
            return set()
        wanted = np.array(fps, dtype=np.int64)
        at = np.searchsorted(sealed, wanted)
        at[at == len(sealed)] = 0
        found: list[int] = wanted[sealed[at] == wanted].tolist()
        return set(found)

    def add(self, fp: int, *, hour: int) -> None:
        """Remember `fp`, accepted during epoch hour `hour` (unix seconds // 3600)."""
        if hour != self._hour:
            self.start_hour(hour)
        self.recent.add(fp)

    def start_hour(self, hour: int) -> None:
        """Make `hour` the current hour: the previous hour's ids are sealed, expired ids dropped."""
        if hour == self._hour:
            return
        if self.recent:
            self._seal(np.fromiter(self.recent, dtype=np.int64, count=len(self.recent)), self._hour)
            self.recent = set()
        self._hour = hour
        self._expire(hour)

    def load(self, rows: Iterable[tuple[bytes, int]]) -> None:
        """Restore (packed fingerprints, hour) rows read back from the database: 8 bytes an id,
        big-endian (accepted_fingerprints.packed)."""
        ids: list[_Ids] = []
        hours: list[_Hours] = []
        for packed, hour in rows:
            if packed:
                ids.append(np.frombuffer(packed, dtype=">i8").astype(np.int64))
                hours.append(np.full(len(ids[-1]), hour, dtype=np.int32))
        if ids:
            self._merge(np.concatenate(ids), np.concatenate(hours))
            self._expire(max(int(h[0]) for h in hours))

    def _seal(self, fps: _Ids, hour: int) -> None:
        self._merge(fps, np.full(len(fps), hour, dtype=np.int32))

    def _merge(self, fps: _Ids, hours: _Hours) -> None:
        order = np.argsort(fps, kind="stable")
        fps, hours = fps[order], hours[order]
        at = np.searchsorted(self._sealed, fps)
        self._sealed = np.insert(self._sealed, at, fps)
        self._sealed_hours = np.insert(self._sealed_hours, at, hours)

    def _expire(self, hour: int) -> None:
        """Drop the ids of hours `retention_hours` or more before `hour`. Measured from the hour
        given, not the newest ever seen: one wrong clock reading far ahead must not make every
        later hour forget its predecessors."""
        cutoff = hour - self.retention_hours
        if len(self._sealed_hours) and int(self._sealed_hours.min()) <= cutoff:
            keep = self._sealed_hours > cutoff
            self._sealed, self._sealed_hours = self._sealed[keep], self._sealed_hours[keep]
        if self._hour <= cutoff and self.recent:
            self.recent = set()
