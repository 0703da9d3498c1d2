"""A mergeable percentile sketch: counts in logarithmic bins, stored as rows and merged by SQL.

A value v > 0 falls in bin i = ceil(log_γ v) with γ = (1 + α) / (1 − α); the bin's
representative 2γⁱ / (γ + 1) is within α of every value in it (relative), so a nearest-rank
percentile read from the bins is within α of the exact one. With α = 1 % that is well inside
the contract's 2 %. Zero (and anything below 1e-9) has a bin of its own. Bins are plain
integers, so merging sketches across minutes, dimensions and workers is a SQL `sum ... GROUP
BY bin`, and a partial minute can be added to or subtracted from (re-attribution) exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
ZERO_BIN = -(2**31)
_MIN_POSITIVE = 1e-9


def bin_of(value: float) -> int:
    """The bin a non-negative value is counted in."""
    if value < _MIN_POSITIVE:
        return ZERO_BIN
    return math.ceil(math.log(value) / _LOG_GAMMA)


def representative(bin_: int) -> float:
    """The value a bin stands for (relative error at most ALPHA)."""
    if bin_ == ZERO_BIN:
        return 0.0
    return 2 * GAMMA**bin_ / (GAMMA + 1)


def percentile(bins: Iterable[tuple[int, float]], p: float) -> float | None:
    """Nearest-rank percentile (the ⌈p·n⌉-th smallest value) of (bin, count) pairs; None if empty."""
    merged: dict[int, float] = {}
    for b, c in bins:
        merged[b] = merged.get(b, 0) + c
    ordered = sorted((b, c) for b, c in merged.items() if c > 0)
    n = sum(c for _, c in ordered)
    if n <= 0:
        return None
    rank = max(1, math.ceil(p * n - 1e-9))
    seen = 0.0
    for b, c in ordered:
        seen += c
        if seen >= rank:
            return representative(b)
    return representative(ordered[-1][0])
