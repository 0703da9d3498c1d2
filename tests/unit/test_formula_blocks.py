"""Reads of a windowed KPI fetch only the blocks its formula uses, and get the same values.

`formula_blocks` finds them by running each formula once on a recorder; these tests check
that what it found is real (non-empty, existing blocks of the KPI's area) and complete: the
formula gives the same value on only those blocks as on all of them.
"""

from __future__ import annotations

import random

import pytest

from ioc.kpi.formulas import Blocks, area_of
from ioc.kpi.query import formula_blocks, is_additive
from schemas.kpis import Kind
from sources import CATALOG, SOURCES

WINDOWED = sorted(k.name for k in CATALOG if k.kind is Kind.WINDOW and k.name != "vc.availability_pct")


def test_every_windowed_kpi_but_availability_has_a_formula() -> None:
    assert set(WINDOWED) == set(SOURCES.formulas)


@pytest.mark.parametrize("name", WINDOWED)
def test_the_recorded_blocks_are_existing_blocks_of_the_kpis_area(name: str) -> None:
    reads = formula_blocks(SOURCES, name)
    assert reads.sums or reads.sketches or reads.distinct
    assert set(reads.sums) <= set(SOURCES.sum_blocks)
    assert set(reads.sketches) <= set(SOURCES.sketch_blocks)
    assert set(reads.distinct) <= set(SOURCES.distinct_blocks)
    assert {area_of(m) for m in (*reads.sums, *reads.sketches, *reads.distinct)} == {area_of(name)}
    assert formula_blocks(SOURCES, name) is formula_blocks(SOURCES, name)  # recorded once


@pytest.mark.parametrize("name", WINDOWED)
def test_a_formula_divides_only_by_state_kpis_of_its_own_source(name: str) -> None:
    for state in formula_blocks(SOURCES, name).states:
        assert SOURCES.kpis[state].kind is Kind.STATE
        assert area_of(state) == area_of(name)


def _random_blocks(rng: random.Random) -> Blocks:
    """Every block, each absent, zero or some value, like a window's sums."""
    blk = Blocks()
    for m in SOURCES.sum_blocks:
        if rng.random() < 0.8:
            blk.sums[m] = rng.choice([0.0, float(rng.randint(1, 50)), rng.uniform(0, 1e4)])
    for m in SOURCES.sketch_blocks:
        if rng.random() < 0.8:
            blk.sketches[m] = [
                (rng.randint(-5, 400), float(rng.randint(1, 9))) for _ in range(rng.randint(1, 6))
            ]
    for m in SOURCES.distinct_blocks:
        if rng.random() < 0.8:
            blk.distinct[m] = float(rng.randint(0, 40))
    for k in SOURCES.kpis.values():
        if k.kind is Kind.STATE and rng.random() < 0.8:
            blk.states[k.name] = rng.choice([None, 0.0, float(rng.randint(1, 60))])
    return blk


@pytest.mark.parametrize("name", WINDOWED)
def test_the_formula_on_its_blocks_alone_equals_the_formula_on_all(name: str) -> None:
    reads = formula_blocks(SOURCES, name)
    formula = SOURCES.formulas[name]
    rng = random.Random(name)
    for _ in range(200):
        full = _random_blocks(rng)
        only = Blocks(
            sums={m: v for m, v in full.sums.items() if m in reads.sums},
            sketches={m: v for m, v in full.sketches.items() if m in reads.sketches},
            distinct={m: v for m, v in full.distinct.items() if m in reads.distinct},
            states={m: v for m, v in full.states.items() if m in reads.states},
        )
        assert formula(only) == formula(full)


@pytest.mark.parametrize("name", WINDOWED)
def test_a_key_without_any_of_its_blocks_gets_the_value_a_missing_key_gets(name: str) -> None:
    """Where only other blocks of the area had data, the read now has no entry at all; the
    value filled in for a missing entry must be what the formula gave on those blocks."""
    reads = formula_blocks(SOURCES, name)
    others = Blocks(
        sums={m: 3.0 for m in SOURCES.sum_blocks if m not in reads.sums},
        sketches={m: [(7, 2.0)] for m in SOURCES.sketch_blocks if m not in reads.sketches},
        distinct={m: 4.0 for m in SOURCES.distinct_blocks if m not in reads.distinct},
    )
    assert SOURCES.formulas[name](others) == (0.0 if is_additive(SOURCES, name) else None)
