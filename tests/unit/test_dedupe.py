"""Duplicate memory: exact for what it holds, bounded by time."""

from __future__ import annotations

from streams.dedupe import DedupeMemory, fingerprint, pack


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
    assert mem.recent == {9}  # hour 102 is the current one; 100 and 101 are sealed
    assert mem.sealed_among([5, 6, -3, 2**63 - 1, -(2**63), 9, 0]) == {5, -3, 2**63 - 1, -(2**63)}
    assert mem.sealed_among([]) == set()
    assert len(mem) == 5


def test_expiry_drops_whole_hours_from_the_sealed_ids_and_keeps_the_rest() -> None:
    mem = DedupeMemory(retention_hours=3)
    for hour in range(10, 16):
        for i in range(50):
            mem.add(hour * 1000 + i, hour=hour)
    mem.start_hour(16)
    # as in the first test: an hour is dropped `retention_hours` after it, so 14 and 15 stay
    assert len(mem) == 100
    kept = mem.sealed_among([h * 1000 + i for h in range(10, 16) for i in range(50)])
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
    assert loaded.sealed_among(probe) == built.sealed_among(probe) == {fp for fp, _ in rows}
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
