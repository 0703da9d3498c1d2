"""Duplicate memory: exact for what it holds, bounded by time."""

from __future__ import annotations

from streams.ingest.dedupe import DedupeMemory, fingerprint


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
    mem.load([(7, 10), (8, 11), (9, 12)])
    assert 7 not in mem  # 12 - 2 = 10: too old
    assert 8 in mem and 9 in mem
