"""Duplicate memory for one partition: event-id fingerprints accepted in the last 25 hours.

A duplicate always lands on the same partition as its original (same key, the entity id), so
each partition's memory is independent and moves with the partition on a rebalance. Ids are
kept as 64-bit fingerprints (8 bytes of BLAKE2b): for n distinct ids the chance that any two
collide is about n² / 2⁶⁵, 3·10⁻⁴ for 10⁸ ids held at once, so a distinct event is dropped as a
duplicate practically never; a dropped one is counted as a duplicate.

A country's heartbeats are 180 M ids a day, so the memory holds most of them in 13–14 bits:
- the current hour, and any hour whose ids the database still holds batch by batch, are exact:
  the newest ids in a set (the hot loop asks it one id at a time), the rest in sorted arrays
  (8 B an id) searched a batch at a time (`held_among`);
- hours the database holds in their sealed, bucketed form (streams/dedupe_store.py) are kept as
  truncated fingerprints (streams/idfilter.py, ≈ 1.7 B an id): an id found there is only
  *perhaps* held (`suspects`), and is a duplicate only once the database confirms it. So the
  memory stays exact: nothing genuine is ever dropped on the compact structure's word.
An hour is sealed by the worker once it is over (`seal_hours`, then `sealed`), and taken out of
the compact structure 25 hours later with its ids read back from the database (`forget`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

from streams.idfilter import CompactIds

_blake2b = hashlib.blake2b
_from_bytes = int.from_bytes

_Ids: TypeAlias = npt.NDArray[np.int64]

RECENT_MAX: Final = 1 << 14
"""Ids a partition's set holds before they move to its sorted arrays (a set costs ~70 B an id)."""

RUN_MAX: Final = 1 << 20
"""Ids a sorted run of an hour reaches at most by merging: a merge needs its size again beside
it, so this bounds that to 8 MB; a national hour is then a dozen runs, searched per batch."""


def pack(fingerprints: list[int] | _Ids) -> bytes:
    """Fingerprints as the database keeps them (accepted_fingerprints.packed): 8 bytes each,
    big-endian, so that a batch's are handed over as one value, not an array of numbers."""
    return np.asarray(fingerprints, dtype=">i8").tobytes()


def unpack(packed: bytes) -> _Ids:
    return np.frombuffer(packed, dtype=">i8").astype(np.int64)


def fingerprint(event_id: str) -> int:
    """A stable signed 64-bit fingerprint (fits PostgreSQL's bigint)."""
    return _from_bytes(_blake2b(event_id.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


class _Exact:
    """One hour's ids, exact: sorted runs merged as they grow (a few runs, searched per batch)."""

    __slots__ = ("runs",)

    def __init__(self) -> None:
        self.runs: list[_Ids] = []

    def __len__(self) -> int:
        return sum(len(r) for r in self.runs)

    def add(self, ids: _Ids) -> None:
        """Hold `ids` (sorted in place: the caller hands them over)."""
        ids.sort()
        self.runs.append(ids)
        # like a binary counter: a run is merged into the one before while that is not bigger,
        # so an hour of n ids is about log2(n / RECENT_MAX) runs, plus n / RUN_MAX
        while (
            len(self.runs) > 1
            and len(self.runs[-2]) <= 2 * len(self.runs[-1])
            and len(self.runs[-2]) + len(self.runs[-1]) <= RUN_MAX
        ):
            last = self.runs.pop()
            merged = np.concatenate((self.runs.pop(), last))
            merged.sort(kind="stable")  # two sorted runs: a merge
            self.runs.append(merged)

    def among(self, wanted: _Ids) -> npt.NDArray[np.bool_]:
        found = np.zeros(len(wanted), dtype=np.bool_)
        for run in self.runs:
            at = np.searchsorted(run, wanted)
            at[at == len(run)] = 0
            found |= run[at] == wanted
        return found

    def ids(self) -> _Ids:
        return np.sort(np.concatenate(self.runs)) if self.runs else np.empty(0, dtype=np.int64)


class DedupeMemory:
    """Fingerprints of accepted events of the last `retention_hours` hours (see module doc)."""

    __slots__ = ("_compact", "_exact", "_hour", "_sealed", "_sealing", "recent", "retention_hours")

    def __init__(self, retention_hours: int = 25) -> None:
        self.retention_hours = retention_hours
        self.recent: set[int] = set()  # newest ids of `_hour`; the hot loop adds to it directly
        self._hour = -1
        self._exact: dict[int, _Exact] = {}  # hour -> ids, for hours not sealed in the database
        self._compact = CompactIds()  # sealed hours, truncated
        self._sealed: dict[int, tuple[int, int]] = {}  # sealed hour -> (ids, bucket bits in the db)
        self._sealing: set[int] = set()  # hours released for their seal, not sealed yet

    def __len__(self) -> int:
        return len(self.recent) + sum(len(e) for e in self._exact.values()) + len(self._compact)

    def __contains__(self, fp: int) -> bool:
        """Held exactly, or perhaps held in a sealed hour (tests and tools; the worker confirms)."""
        return fp in self.recent or bool(self.held_among([fp])) or bool(self.suspects([fp]))

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays (the set's few thousand ids not counted)."""
        exact = sum(r.nbytes for e in self._exact.values() for r in e.runs)
        return exact + self._compact.nbytes

    @property
    def has_sealed(self) -> bool:
        return bool(self._sealed)

    @property
    def sealed_hours(self) -> dict[int, int]:
        """Sealed hour -> its bucket bits in the database (streams/dedupe_store.py)."""
        return {hour: bits for hour, (_, bits) in self._sealed.items()}

    # -- lookups -----------------------------------------------------------------------------

    def held_among(self, fps: list[int] | _Ids) -> set[int]:
        """Those of `fps` certainly held in earlier runs of ids (not the set `recent`, which the
        hot loop asks itself). One call per batch and partition."""
        self.tidy()
        if self._sealing:
            self._refuse()
        if not len(fps) or not self._exact:
            return set()
        # sorted, each run's binary searches walk it in order: fewer cache misses
        wanted = np.sort(np.asarray(fps, dtype=np.int64))
        found = np.zeros(len(wanted), dtype=np.bool_)
        for exact in self._exact.values():
            found |= exact.among(wanted)
        out: list[int] = wanted[found].tolist()
        return set(out)

    def suspects(self, fps: list[int] | _Ids) -> list[int]:
        """Those of `fps` perhaps held in a sealed hour: duplicates only if the database has them."""
        if self._sealing:
            self._refuse()
        if not len(fps) or not len(self._compact):
            return []
        wanted = np.asarray(fps, dtype=np.int64)
        out: list[int] = wanted[self._compact.maybe_among(wanted)].tolist()
        return out

    # -- changes -----------------------------------------------------------------------------

    def add(self, fp: int, *, hour: int) -> None:
        """Remember `fp`, accepted during epoch hour `hour` (unix seconds // 3600)."""
        if hour != self._hour:
            self.start_hour(hour)
        self.recent.add(fp)
        if len(self.recent) > RECENT_MAX:
            self.tidy()

    def remember(self, ids: _Ids, *, hour: int) -> None:
        """Remember many ids accepted during `hour` at once (tools that replay a day); `ids` is
        handed over (sorted in place, and kept)."""
        if hour != self._hour:
            self.start_hour(hour)
        self._exact_hour(hour).add(ids)

    def tidy(self) -> None:
        """Move the set's ids into the current hour's sorted runs once it has grown large."""
        if len(self.recent) >= RECENT_MAX:
            self._exact_hour(self._hour).add(np.fromiter(self.recent, dtype=np.int64, count=len(self.recent)))
            self.recent = set()

    def start_hour(self, hour: int) -> None:
        """Make `hour` the current hour; ids of hours past the retention are dropped (exact ones
        at once; sealed ones once the worker reads them back: `expired`, `forget`)."""
        if hour == self._hour:
            return
        if self.recent:
            self._exact_hour(self._hour).add(np.fromiter(self.recent, dtype=np.int64, count=len(self.recent)))
            self.recent = set()
        self._hour = hour
        cutoff = hour - self.retention_hours
        for old in [h for h in self._exact if h <= cutoff]:
            del self._exact[old]

    def _exact_hour(self, hour: int) -> _Exact:
        exact = self._exact.get(hour)
        if exact is None:
            exact = self._exact[hour] = _Exact()
        return exact

    def due(self, hour: int) -> bool:
        """Whether moving to `hour` leaves hours to seal or to forget (`to_seal`, `expired`)."""
        cutoff = hour - self.retention_hours
        return (
            bool(self.recent and self._hour < hour)
            or any(h < hour for h in self._exact)
            or any(h <= cutoff for h in self._sealed)
        )

    def to_seal(self) -> list[int]:
        """Hours over and held exactly: the worker seals them in the database (`sealed` after)."""
        return sorted(h for h in self._exact if h < self._hour and h > self._hour - self.retention_hours)

    def expired(self) -> list[int]:
        """Sealed hours past the retention: the worker reads their ids back for `forget`."""
        return sorted(h for h in self._sealed if h <= self._hour - self.retention_hours)

    def release(self, hour: int) -> None:
        """Drop `hour`'s exact runs before it is sealed (`to_seal`), so that a national hour's
        ids are not held twice while the seal reads them back from the database (58 MB each).
        Until `sealed(hour)` the memory answers nothing: an hour held in neither form would let
        its re-sends through, so a seal that fails must end judging with this memory (the
        worker crashes, and its successor restores the hour from the database)."""
        self._exact.pop(hour, None)
        self._sealing.add(hour)

    def _refuse(self) -> None:
        raise RuntimeError(
            f"duplicate memory asked while hours {sorted(self._sealing)} are released for their seal"
            " and not sealed: the seal failed, and this memory must be restored from the database"
        )

    def sealed(self, hour: int, ids: _Ids, *, new: _Ids, bits: int) -> None:
        """`hour` is now sealed in the database, as `ids` with `bits` bucket bits (`new` of them
        not sealed before): its exact runs give way to the compact structure."""
        self._exact.pop(hour, None)  # first: a national hour's runs need not sit beside the rebuild
        self._sealing.discard(hour)
        added = new if hour in self._sealed else ids
        if len(added):
            self._compact.add(added, expect=self._expected(len(ids)))
        self._sealed[hour] = (len(ids), bits)

    def forget(self, hour: int, ids: _Ids) -> None:
        """Take an expired sealed hour's ids (read back from the database) out."""
        self._compact.remove(ids)
        self._sealed.pop(hour, None)

    def _expected(self, hour_ids: int) -> int:
        """A day of ids, as far as known: what the compact structure's buckets are sized for."""
        per_hour = max([hour_ids, *(n for n, _ in self._sealed.values())])
        # sealed at once: the hours before the current one within the retention, and for a
        # moment one more (an hour is sealed before the expired one is taken out)
        return max(len(self._compact) + hour_ids, per_hour * self.retention_hours)

    # -- restore -----------------------------------------------------------------------------

    def load(self, rows: Iterable[tuple[bytes, int]]) -> None:
        """Restore (packed fingerprints, hour) rows of hours held batch by batch (8 bytes an id,
        big-endian: accepted_fingerprints.packed): exact, to be sealed by the worker."""
        hours: dict[int, list[_Ids]] = {}
        for packed, hour in rows:
            if packed:
                hours.setdefault(hour, []).append(unpack(packed))
        for hour, parts in hours.items():
            self._exact_hour(hour).add(np.concatenate(parts))
        if hours:
            self.start_hour(max(*hours, self._hour))

    def load_sealed(self, hours: dict[int, tuple[int, int]]) -> None:
        """Restore which hours are sealed: hour -> (ids, bucket bits in the database); their ids
        come in parts (`load_sealed_ids`)."""
        self._sealed.update(hours)

    def load_sealed_ids(self, ids: _Ids, *, expect: int) -> None:
        """Restore sealed ids read back from the database; `expect`: all ids being loaded."""
        self._compact.add(ids, expect=expect)
