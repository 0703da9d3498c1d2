"""Random draws the profiles share: weighted choices and skewed durations.

Every draw takes the caller's own ``random.Random``, so each source's traffic depends
only on its own stream and the run's seed.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


def cumulative(weights: Iterable[float]) -> list[float]:
    """Running totals, for weighted choice by bisection (``random.choices`` re-sums every call)."""
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return out


class Picker(Generic[T]):
    """Weighted choice among fixed items, O(log n) a draw."""

    __slots__ = ("_items", "_totals")

    def __init__(self, items: Sequence[T], weights: Iterable[float]) -> None:
        self._items = tuple(items)
        self._totals = cumulative(weights)
        if not self._items or len(self._totals) != len(self._items) or self._totals[-1] <= 0:
            raise ValueError("a weighted choice needs items with a positive total weight")

    def __call__(self, rng: random.Random) -> T:
        i = bisect.bisect_right(self._totals, rng.random() * self._totals[-1])
        return self._items[min(i, len(self._items) - 1)]


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    """A positive, right-skewed draw: how long work takes, as a share of the time allowed."""
    return median * math.exp(rng.gauss(0.0, sigma))
