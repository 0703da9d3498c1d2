"""Duplicate memory: exact for what it holds, bounded by time."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.dedupe import RECENT_MAX, DedupeMemory, fingerprint, pack
from streams.idfilter import SHARD_BITS, CompactIds, shard_of


def test_fingerprint_is_stable_and_fits_bigint() -> None:
    fp = fingerprint("3f1c7a52-0d7e-4c39-9a76-0d5f0c6b1e01")
    assert fp == fingerprint("3f1c7a52-0d7e-4c39-9a76-0d5f0c6b1e01")
    assert fp != fingerprint("3f1c7a52-0d7e-4c39-9a76-0d5f0c6b1e02")
    assert -(2**63) <= fp < 2**63


def test_remembers_for_the_retention_then_forgets() -> None:
    mem = DedupeMemory(retention_hours=25)
    mem.add(1, hour=100)
    mem.add(2, hour=110)
    assert 1 in mem and 2 in mem
    mem.add(3, hour=124)  # 24 hours after the first: still remembered
    assert 1 in mem
    mem.add(4, hour=125)  # 25 hours after: the first hour's generation is dropped
    assert 1 not in mem
    assert all(fp in mem for fp in (2, 3, 4))
    assert len(mem) == 3


def test_load_restores_and_expires() -> None:
    mem = DedupeMemory(retention_hours=2)
    mem.load([(pack([7]), 10), (pack([8]), 11), (pack([9]), 12)])
    assert 7 not in mem  # 12 - 2 = 10: too old
    assert 8 in mem and 9 in mem


def test_ids_of_earlier_hours_are_found_in_a_batch_lookup() -> None:
    mem = DedupeMemory(retention_hours=25)
    for fp, hour in ((5, 100), (-3, 100), (2**63 - 1, 101), (-(2**63), 101), (9, 102)):
        mem.add(fp, hour=hour)
    assert mem.recent == {9}  # hour 102 is the current one; 100 and 101 are in sorted runs
    assert mem.held_among([5, 6, -3, 2**63 - 1, -(2**63), 9, 0]) == {5, -3, 2**63 - 1, -(2**63)}
    assert mem.held_among([]) == set()
    assert len(mem) == 5


def test_expiry_drops_whole_hours_from_the_sealed_ids_and_keeps_the_rest() -> None:
    mem = DedupeMemory(retention_hours=3)
    for hour in range(10, 16):
        for i in range(50):
            mem.add(hour * 1000 + i, hour=hour)
    mem.start_hour(16)
    # as in the first test: an hour is dropped `retention_hours` after it, so 14 and 15 stay
    assert len(mem) == 100
    kept = mem.held_among([h * 1000 + i for h in range(10, 16) for i in range(50)])
    assert kept == {h * 1000 + i for h in (14, 15) for i in range(50)}


def test_a_loaded_memory_answers_like_one_built_by_adds() -> None:
    rows = [(fp, 200 + fp % 5) for fp in range(-500, 500, 7)]
    loaded = DedupeMemory(retention_hours=25)
    loaded.load((pack([fp]), hour) for fp, hour in rows)
    built = DedupeMemory(retention_hours=25)
    for fp, hour in sorted(rows, key=lambda r: r[1]):
        built.add(fp, hour=hour)
    built.start_hour(205)
    probe = list(range(-510, 510))
    assert loaded.held_among(probe) == built.held_among(probe) == {fp for fp, _ in rows}
    assert len(loaded) == len(built) == len(rows)


def test_one_clock_reading_far_ahead_does_not_make_later_hours_forget() -> None:
    """Found in review: expiry measured from the newest hour ever seen made every hour after a
    bad clock reading forget the one before, until real time caught up with it."""
    mem = DedupeMemory(retention_hours=25)
    mem.add(1, hour=100)
    mem.start_hour(130)  # a clock 30 h ahead, once: hour 100 is forgotten, as after a real 30 h
    mem.add(2, hour=101)  # the clock is right again
    mem.add(3, hour=102)
    mem.add(4, hour=103)
    assert all(fp in mem for fp in (2, 3, 4))


def _ids(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-(2**63), 2**63 - 1, n, dtype=np.int64)


def test_the_set_moves_into_sorted_runs_as_it_grows_and_still_answers() -> None:
    mem = DedupeMemory()
    ids = _ids(3 * RECENT_MAX + 5, 1).tolist()
    for fp in ids:
        mem.add(fp, hour=100)
    assert len(mem.recent) <= RECENT_MAX
    assert mem.held_among(ids) | mem.recent == set(ids)
    assert mem.nbytes < 9 * len(ids)


def test_sealed_hours_are_held_compactly_and_without_false_negatives() -> None:
    """A day of hours, each sealed once over (as the worker does): under 2 bytes an id."""
    mem = DedupeMemory()
    hours = {100 + h: _ids(20_000, h) for h in range(25)}
    for hour, ids in hours.items():
        for fp in ids.tolist():
            mem.add(fp, hour=hour)
        mem.start_hour(hour + 1)
        assert mem.to_seal() == [hour]
        mem.sealed(hour, np.sort(ids), new=ids, bits=3)
    assert mem.to_seal() == [] and sorted(mem.sealed_hours) == sorted(hours)
    everything = np.concatenate(list(hours.values()))
    assert not mem.held_among(everything.tolist())  # no longer exact: suspects, to be confirmed
    assert len(mem.suspects(everything)) == len(everything)
    others = _ids(200_000, 99)
    wrongly = len(mem.suspects(others)) / len(others)
    assert wrongly < 0.005, wrongly  # false positives: confirmed against the database, then kept
    assert mem.nbytes / len(mem) < 2.0, mem.nbytes / len(mem)
    mem.start_hour(125)
    assert mem.expired() == [100]
    mem.forget(100, hours[100])
    assert len(mem) == 24 * 20_000 and len(mem.suspects(hours[100])) < 0.005 * 20_000


def test_an_hour_released_for_its_seal_stops_every_answer_until_it_is_sealed() -> None:
    """Its exact ids go before the seal reads them back (a national hour would be held twice);
    until it is sealed the memory refuses to judge, so a failed seal cannot let re-sends of
    that hour through: the worker must restore the memory from the database."""
    mem = DedupeMemory()
    ids = _ids(5_000, 1)
    mem.remember(ids.copy(), hour=100)
    mem.start_hour(101)
    mem.release(100)
    assert mem.to_seal() == [] and mem.nbytes < 1_000
    with pytest.raises(RuntimeError, match="restored from the database"):
        mem.held_among(ids[:3])
    with pytest.raises(RuntimeError, match="restored from the database"):
        mem.suspects(ids[:3])
    mem.sealed(100, np.sort(ids), new=ids, bits=3)
    assert len(mem.suspects(ids)) == len(ids)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.booleans(), st.lists(st.integers(-(2**63), 2**63 - 1), max_size=60)), max_size=12
    ),
    expect=st.sampled_from([0, 100, 10_000, 10_000_000]),
)
def test_compact_ids_never_answer_no_for_an_id_they_hold(
    steps: list[tuple[bool, list[int]]], expect: int
) -> None:
    """A multiset: whatever sequence of adds and removes, every id held is found."""
    held: list[int] = []
    compact = CompactIds()
    for adding, fps in steps:
        if adding:
            compact.add(fps, expect=expect)
            held += fps
        else:
            gone = []
            for fp in fps[:10]:
                if fp in held:
                    held.remove(fp)
                    gone.append(fp)
            compact.remove(gone)
        assert len(compact) == len(held)
        assert compact.maybe_among(held).all()


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=200))
def test_an_ids_shard_is_its_top_bits(fps: list[int]) -> None:
    """Read from the top byte (no temporary of 8 bytes an id), as the shift would give it."""
    u = np.asarray(fps, dtype=np.int64).view(np.uint64)
    assert shard_of(u).tolist() == (u >> np.uint64(64 - SHARD_BITS)).tolist()
