"""KPI building blocks summed over a window, and the shapes of formulas made of them.

The worker stores sums (`kpi_minute`), sketches (`kpi_sketch_minute`) and distinct members
(`kpi_distinct_minute`) under block names a source declares; the query side adds them up over a
window and applies the source's formula. A formula may also divide by a state KPI ("now") of
its own source (`market.active_pct`: merchants active in the window ÷ merchants onboarded).
A ratio, average or percentile over nothing is None, never 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ioc.kpi.sketch import percentile

Formula = Callable[["Blocks"], float | None]
"""A windowed KPI from the blocks it reads (only through `Blocks`' methods)."""


@dataclass
class Blocks:
    """Building blocks summed over one window and one dimension value."""

    sums: dict[str, float] = field(default_factory=dict)
    sketches: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    distinct: dict[str, float] = field(default_factory=dict)  # distinct members per block
    states: dict[str, float | None] = field(default_factory=dict)  # state KPIs the formula divides by

    def sum(self, name: str) -> float:
        return self.sums.get(name, 0.0)

    def members(self, name: str) -> float:
        """How many distinct members block `name` named over the window."""
        return self.distinct.get(name, 0.0)

    def state(self, name: str) -> float | None:
        """State KPI `name` ("now") for this block's dimension value, or its total where it
        has no such breakdown."""
        return self.states.get(name)

    def percentile(self, name: str, p: float) -> float | None:
        return percentile(self.sketches.get(name, ()), p)


def ratio_pct(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole > 0 else None


def mean(total: float, n: float) -> float | None:
    return total / n if n > 0 else None


def count(name: str) -> Formula:
    """The sum of block `name` (a count, or a sum such as revenue)."""
    return lambda b: b.sum(name)


def pct(part: str, whole: str) -> Formula:
    """100 × `part` ÷ `whole`; None over no `whole`."""
    return lambda b: ratio_pct(b.sum(part), b.sum(whole))


def avg(total: str, n: str) -> Formula:
    """`total` ÷ `n`; None over no `n`."""
    return lambda b: mean(b.sum(total), b.sum(n))


def pctl(sketch: str, p: float) -> Formula:
    """The nearest-rank `p` percentile of sketch `sketch` (within the sketch's 2 %)."""
    return lambda b: b.percentile(sketch, p)


def distinct(name: str) -> Formula:
    """How many distinct members (merchants, teams) block `name` named in the window."""
    return lambda b: b.members(name)


def pct_of_state(part: str, whole: str) -> Formula:
    """100 × distinct members of block `part` ÷ state KPI `whole`; None when `whole` is 0 or null."""

    def formula(b: Blocks) -> float | None:
        total = b.state(whole)
        return ratio_pct(b.members(part), total) if total is not None else None

    return formula


def area_of(name: str) -> str:
    """The source of a KPI or block name (`vc.heartbeats` -> `vc`): its dimensions are the source's."""
    return name.split(".", 1)[0]
