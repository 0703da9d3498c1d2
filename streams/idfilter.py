"""A compact, approximate set of 64-bit fingerprints: about 13.5 bits an id.

The duplicate memory must hold a national day (180 M ids) in a few hundred megabytes, so the
hours already stored in the database are kept here as *truncated* fingerprints: an answer
"perhaps held" may be wrong (another id shares the truncated bits) and is confirmed against
the stored ids (streams/dedupe_store.py); an answer "not held" is always right. No genuine
event is ever dropped on this structure's word alone.

How it fits: ids are split into 128 shards by their top 7 bits, each shard into 2^B buckets by
the next B bits (B chosen so that a bucket holds 8 to 16 ids), and only the 12 bits after
those are stored (a byte and a nibble), sorted within their bucket. A bucket's start is kept
as 16 bits (modulo 2^16) beside an exact start every 1,024 buckets (fewer when buckets are
fuller): about one bit an id. A lookup is wrong about one time in 2^12 / (ids a bucket), so
0.2 % to 0.4 %. One Bloom filter per hour would do worse: 24 filters' false positives add up
(≈ 6 % at 14 bits a key; bench/FINDINGS.md). The structure keeps no hour per id: ids of an
expired hour are taken out again (`remove`), read back from the database.

Each shard is rebuilt on its own, into its own region of shared buffers that were sized for
the day expected, so merging an hour into a national memory needs a shard's worth of memory
beside it (a 128th), not a second copy; lookups still index all shards at once.
"""

from __future__ import annotations

import sys
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

SHARD_BITS: Final = 7
SHARDS: Final = 1 << SHARD_BITS
REM_BITS: Final = 12
PER_BUCKET: Final = 8  # fewest ids a bucket aims at: the false-positive rate is about 1 to 2× this / 2^12
_MAX_GROUP: Final = 10  # an exact start every 2^10 buckets at most; 16-bit starts between them
_SLACK: Final = 1.02  # room a region keeps beyond its day expected: shards differ by ~0.1 % at scale

_U64: TypeAlias = npt.NDArray[np.uint64]
_I64: TypeAlias = npt.NDArray[np.int64]
_U8: TypeAlias = npt.NDArray[np.uint8]


def bucket_bits(ids: int) -> int:
    """Bucket bits for a shard expected to hold `ids`: PER_BUCKET to 2 × PER_BUCKET a bucket."""
    return max(0, int(np.log2(max(ids, 1) / PER_BUCKET)))


def _unsigned(fps: npt.ArrayLike) -> _U64:
    return np.asarray(fps, dtype=np.int64).view(np.uint64)


_TOP_BYTE: Final = 7 if sys.byteorder == "little" else 0


def shard_of(u: _U64) -> npt.NDArray[np.uint8]:
    """Each id's shard (its top SHARD_BITS bits), read from its top byte: no 8-byte-an-id
    temporary, which for a national hour is 58 MB beside the hour itself."""
    top: npt.NDArray[np.uint8] = u.view(np.uint8)[_TOP_BYTE::8] >> np.uint8(8 - SHARD_BITS)
    return top


def _truncate(u: _U64, bits: int) -> _U64:
    """The bucket (`bits` bits) and 12 remainder bits that follow the shard bits of `u`."""
    return (u << np.uint64(SHARD_BITS)) >> np.uint64(64 - bits - REM_BITS)


class _Buffer:
    """One growable array cut into regions, one per shard."""

    __slots__ = ("at", "cap", "data", "used")

    def __init__(self, dtype: type[np.generic]) -> None:
        self.data: npt.NDArray[np.generic] = np.empty(0, dtype=dtype)
        self.at = np.zeros(SHARDS, dtype=np.int64)
        self.cap = np.zeros(SHARDS, dtype=np.int64)
        self.used = np.zeros(SHARDS, dtype=np.int64)

    @property
    def nbytes(self) -> int:
        return int(self.used.sum()) * self.data.itemsize

    def region(self, s: int) -> npt.NDArray[np.generic]:
        return self.data[self.at[s] : self.at[s] + self.used[s]]

    def put(self, s: int, values: npt.NDArray[np.generic], *, room: int) -> None:
        """Make `values` shard `s`'s region. Outgrowing its room lays every region out again,
        each with room for `room` (the day expected) or what it holds, plus slack; np.empty
        reserves pages without paying for them until they are written."""
        n = len(values)
        if n > self.cap[s]:
            caps = np.maximum(self.used, room)
            caps[s] = max(n, room)
            caps = (caps * _SLACK).astype(np.int64) + 1
            data = np.empty(int(caps.sum()), dtype=self.data.dtype)
            at = np.concatenate(([0], np.cumsum(caps)[:-1])).astype(np.int64)
            for t in range(SHARDS):
                if t != s and self.used[t]:
                    data[at[t] : at[t] + self.used[t]] = self.region(t)
            self.data, self.at, self.cap = data, at, caps
        self.data[self.at[s] : self.at[s] + n] = values
        self.used[s] = n


class CompactIds:
    """Truncated fingerprints in independently rebuilt shards; a multiset (see module doc)."""

    __slots__ = ("_base", "_bits", "_group", "_hi", "_lo", "_n", "_starts")

    def __init__(self) -> None:
        self._hi = _Buffer(np.uint8)  # a stored remainder's top 8 bits
        self._lo = _Buffer(np.uint8)  # its low 4 bits, two to a byte
        self._starts = _Buffer(np.uint16)  # each bucket's first entry, modulo 2^16
        self._base = _Buffer(np.int64)  # the exact first entry of every 2^group-th bucket
        self._bits = np.zeros(SHARDS, dtype=np.int64)
        self._group = np.zeros(SHARDS, dtype=np.int64)
        self._n = np.zeros(SHARDS, dtype=np.int64)

    def __len__(self) -> int:
        return int(self._n.sum())

    @property
    def nbytes(self) -> int:
        """Bytes written (a region's slack is reserved, not written: the process does not pay
        for its pages until it grows into them)."""
        return sum(b.nbytes for b in (self._hi, self._lo, self._starts, self._base))

    # -- lookups, vectorised over all shards ------------------------------------------------

    def _first(self, shard: _I64, bucket: _I64) -> _I64:
        """Entry index (within the shard) of each bucket's first entry."""
        base: _I64 = self._base.data[self._base.at[shard] + (bucket >> self._group[shard])].astype(np.int64)
        low: _I64 = self._starts.data[self._starts.at[shard] + bucket].astype(np.int64)
        first: _I64 = base + ((low - base) & 0xFFFF)
        return first

    def _rem(self, shard: _I64, at: _I64) -> _I64:
        hi: _I64 = self._hi.data[self._hi.at[shard] + at].astype(np.int64)
        byte: _I64 = self._lo.data[self._lo.at[shard] + (at >> 1)].astype(np.int64)
        rem: _I64 = (hi << 4) | ((byte >> ((at & 1) << 2)) & 0xF)
        return rem

    def maybe_among(self, fps: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """For each of `fps`: False if certainly not held, True if perhaps (to be confirmed)."""
        u = _unsigned(fps)
        found = np.zeros(len(u), dtype=np.bool_)
        if not len(u) or not self._n.any():
            return found
        shard = (u >> np.uint64(64 - SHARD_BITS)).astype(np.int64)
        bits = self._bits[shard]
        tail = (u << np.uint64(SHARD_BITS)) >> (np.uint64(64 - REM_BITS) - bits.astype(np.uint64))
        bucket = (tail >> np.uint64(REM_BITS)).astype(np.int64)
        want = (tail & np.uint64((1 << REM_BITS) - 1)).astype(np.int64)
        live = np.flatnonzero(self._n[shard] > 0)
        shard, bucket, want = shard[live], bucket[live], want[live]
        lo, hi = self._first(shard, bucket), self._first(shard, bucket + 1)
        # sorted within a bucket: a binary search for the first entry not below the wanted one
        while True:
            open_ = lo < hi
            if not open_.any():
                break
            mid = (lo + hi) >> 1
            below = open_ & (self._rem(shard, np.where(open_, mid, 0)) < want)
            lo = np.where(below, mid + 1, lo)
            hi = np.where(open_ & ~below, mid, hi)
        end = self._first(shard, bucket + 1)
        inside = lo < end
        hit = np.zeros(len(live), dtype=np.bool_)
        hit[inside] = self._rem(shard[inside], lo[inside]) == want[inside]
        found[live] = hit
        return found

    # -- changes, one shard at a time --------------------------------------------------------

    def add(self, fps: npt.ArrayLike, *, expect: int = 0) -> None:
        """Hold `fps` too. `expect`: the total the memory is expected to reach (a day of ids),
        so that buckets and regions are sized for it rather than redone at every doubling."""
        u = _unsigned(fps)
        shard = shard_of(u)
        room = expect // SHARDS
        for s in np.unique(shard).tolist():
            part = u[shard == s]
            n = int(self._n[s]) + len(part)
            bits = bucket_bits(max(n, room))
            if self._n[s]:
                bits = min(bits, int(self._bits[s]))  # never finer than the stored bits allow
                keys = np.concatenate(
                    (self._keys(s) >> np.uint64(int(self._bits[s]) - bits), _truncate(part, bits))
                )
            else:
                keys = _truncate(part, bits)
            del part
            keys.sort()
            self._put(s, keys, bits, room)

    def remove(self, fps: npt.ArrayLike) -> None:
        """Take `fps` out, once each: ids of an expired hour, exactly as they were added."""
        u = _unsigned(fps)
        shard = shard_of(u)
        for s in np.unique(shard).tolist():
            if not self._n[s]:
                continue
            bits = int(self._bits[s])
            drop = _truncate(u[shard == s], bits)
            drop.sort()
            self._put(s, _without(self._keys(s), drop), bits, 0)

    def coarse(self) -> bool:
        """True when some shard holds far more ids a bucket than aimed at (traffic grew well past
        the day its buckets were sized for): lookups are then wrong more often, and a rebuild
        from the stored ids with the new day expected brings that back down."""
        return bool(np.any(self._n > 8 * PER_BUCKET << self._bits))

    def _keys(self, s: int) -> _U64:
        """Shard `s`'s sorted truncated ids (bucket << 12 | remainder), for a rebuild."""
        n, bits = int(self._n[s]), int(self._bits[s])
        lo = self._lo.region(s).astype(np.uint8, copy=False)
        nib = np.empty(2 * len(lo), dtype=np.uint8)
        nib[0::2], nib[1::2] = lo & 0xF, lo >> 4
        keys = np.repeat(np.arange(1 << bits, dtype=np.uint64), np.diff(self._starts_of(s)))
        keys <<= np.uint64(REM_BITS)
        keys |= self._hi.region(s).astype(np.uint64) << np.uint64(4)
        keys |= nib[:n]
        return keys

    def _starts_of(self, s: int) -> _I64:
        """Every bucket's first entry in shard `s`, and its end."""
        low = self._starts.region(s).astype(np.int64)
        base = np.repeat(self._base.region(s).astype(np.int64), 1 << int(self._group[s]))[: len(low)]
        starts: _I64 = base + ((low - base) & 0xFFFF)
        return starts

    def _put(self, s: int, keys: _U64, bits: int, room: int) -> None:
        n = len(keys)
        rem = keys & np.uint64((1 << REM_BITS) - 1)
        nib = (rem & np.uint64(0xF)).astype(np.uint8)
        if n % 2:
            nib = np.append(nib, np.uint8(0))
        starts = np.searchsorted(keys >> np.uint64(REM_BITS), np.arange((1 << bits) + 1, dtype=np.uint64))
        group = _MAX_GROUP  # exact starts often enough that no group of buckets spans 2^16 ids
        while group and _widest(starts, 1 << group) >= 1 << 16:
            group -= 1
        self._hi.put(s, (rem >> np.uint64(4)).astype(np.uint8), room=room)
        self._lo.put(s, nib[0::2] | (nib[1::2] << 4), room=(room + 1) // 2)
        self._starts.put(s, (starts & 0xFFFF).astype(np.uint16), room=(1 << bucket_bits(room)) + 1)
        self._base.put(s, starts[:: 1 << group].astype(np.int64), room=0)
        self._bits[s], self._group[s], self._n[s] = bits, group, n


def _widest(starts: _I64, every: int) -> int:
    """The most entries any group of `every` buckets spans."""
    return int(np.max(starts[every::every] - starts[:-every:every], initial=0))


def _without(keys: _U64, drop: _U64) -> _U64:
    """Sorted `keys` less one occurrence of each of sorted `drop` that is present."""
    if not len(drop) or not len(keys):
        return keys
    first = np.searchsorted(keys, drop, side="left")
    rank = np.arange(len(drop)) - np.searchsorted(drop, drop, side="left")  # repeats in `drop`
    at = first + rank
    ok = at < len(keys)
    at = at[ok]
    return np.delete(keys, at[keys[at] == drop[ok]])
