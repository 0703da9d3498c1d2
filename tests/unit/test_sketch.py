"""The percentile sketch answers within 1 % of exact nearest-rank percentiles."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from ioc.kpi.sketch import ALPHA, ZERO_BIN, bin_of, percentile, representative


def exact(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p * len(ordered))) - 1]


def sketch_of(values: list[float]) -> list[tuple[int, float]]:
    return [(bin_of(v), 1) for v in values]


@given(
    st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), min_size=1, max_size=300),
    st.sampled_from([0.5, 0.95, 0.99, 0.01, 1.0]),
)
def test_within_alpha_of_nearest_rank(values: list[float], p: float) -> None:
    got = percentile(sketch_of(values), p)
    want = exact(values, p)
    assert got is not None
    if want < 1e-9:
        assert got == 0.0
    else:
        assert abs(got - want) <= ALPHA * want * 1.0000001


def test_empty_is_none() -> None:
    assert percentile([], 0.95) is None
    assert percentile([(5, 0)], 0.5) is None


def test_merging_and_subtracting_counts() -> None:
    a = sketch_of([10, 20, 30])
    b = sketch_of([40, 50])
    assert percentile(a + b, 0.5) == percentile(sketch_of([10, 20, 30, 40, 50]), 0.5)
    # re-attribution subtracts a value from one sketch: the result is as if it had never been there
    minus = [(bin_of(50), -1)]
    assert percentile(a + b + minus, 1.0) == representative(bin_of(40))


def test_zero_has_its_own_bin() -> None:
    assert bin_of(0) == ZERO_BIN and representative(ZERO_BIN) == 0.0
    assert percentile(sketch_of([0, 0, 5]), 0.5) == 0.0
