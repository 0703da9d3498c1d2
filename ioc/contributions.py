"""What accepted events change, accumulated per batch before one write.

Each source's arithmetic (sources/*/arithmetic.py) turns events into contributions through
the small vocabulary here: add to a sum or a sketch, or name a member of a distinct count, in a
minute bucket under a dimension set,
merge an entity row, hold a contribution until its entity tells its dimensions, or keep
something only that source writes (`part`). Many events collapse into few rows, so the sink
writes per batch what changed, not per event. Pure: no I/O, so sources and tests use it freely.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ioc.kpi.sketch import bin_of
from schemas.kpis import UNKNOWN

Dims = tuple[tuple[str, str], ...]
"""A dimension set: (dimension, value) pairs sorted by dimension, only those the row carries.

Dimensions are data: a source declares the ones its rows carry, and the KPI tables key rows by
the set (a `jsonb` column), so a new dimension is a new pair, not a new column.
"""


def dims_of(**values: str) -> Dims:
    """The dimension set of `values` (dimension name -> value), in its canonical order."""
    return tuple(sorted(values.items()))


_T = TypeVar("_T")


def minute_of(at: datetime) -> datetime:
    # most callers pass a minute already (a batch's sums): no new datetime for those
    return at.replace(second=0, microsecond=0) if at.second or at.microsecond else at


@dataclass(slots=True)
class Pending:
    """A contribution held under 'unknown' dimensions until its entity tells the real ones."""

    entity_id: str
    bucket: datetime
    metric: str
    bin: int | None
    value: float
    dims: Dims


@dataclass(slots=True)
class Effects:
    """Everything one batch of accepted events changes, merged per row."""

    sums: defaultdict[tuple[str, datetime, Dims], float] = field(default_factory=lambda: defaultdict(float))
    # (metric, minute, dims) -> bin -> count: a sketch row per bin, grouped by what all the
    # bins of a row share, so a batch's thousands of bins are keyed and encoded once per group
    sketches: defaultdict[tuple[str, datetime, Dims], defaultdict[int, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float))
    )
    # distinct counts: (metric, minute, dims, member) of every member seen (a set: a member counts once)
    distinct: set[tuple[str, datetime, Dims, str]] = field(default_factory=set)
    # what only one source writes (its own tables), by a name the source chooses
    parts: dict[str, Any] = field(default_factory=dict)
    # entity tables: id -> column values; merged with the stored row by the sink's SQL
    entities: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    pending: list[Pending] = field(default_factory=list)
    # (area, dimension, value) of every dimension value the batch carries
    dimension_values: set[tuple[str, str, str]] = field(default_factory=set)
    # (name, dims) pairs already recorded in dimension_values: most events repeat one
    _seen: set[tuple[str, Dims]] = field(default_factory=set)

    def add(self, metric: str, at: datetime, dims: Dims, value: float = 1.0) -> None:
        self.sums[(metric, minute_of(at), dims)] += value
        self.seen(metric, dims)

    def observe(self, metric: str, at: datetime, dims: Dims, value: float, count: float = 1.0) -> None:
        self.sketches[(metric, minute_of(at), dims)][bin_of(value)] += count
        self.seen(metric, dims)

    def count_distinct(self, metric: str, at: datetime, dims: Dims, member: str) -> None:
        """Name `member` (a merchant, a team) as seen in the minute: windows count each once."""
        self.distinct.add((metric, minute_of(at), dims, member))
        self.seen(metric, dims)

    def observe_bins(self, metric: str, at: datetime, dims: Dims, bins: dict[int, float]) -> None:
        """Add sketch bins counted elsewhere (see sources/vc/arithmetic.py) in one go."""
        row = self.sketches[(metric, minute_of(at), dims)]
        if row:
            for bin_, count in bins.items():
                row[bin_] += count
        else:
            row.update(bins)
        self.seen(metric, dims)

    def part(self, name: str, new: type[_T]) -> _T:
        """The batch's accumulator `name`, made by `new()` on first use: for what only one
        source writes (video-conference presence, say), so the vocabulary stays generic."""
        acc = self.parts.get(name)
        if acc is None:
            acc = self.parts[name] = new()
        return acc

    def hold(self, pending: Pending) -> None:
        """Count under the held dimensions now and remember it, to move it later."""
        if pending.bin is None:
            self.sums[(pending.metric, pending.bucket, pending.dims)] += pending.value
        else:
            self.sketches[(pending.metric, pending.bucket, pending.dims)][pending.bin] += pending.value
        self.seen(pending.metric, pending.dims)
        self.pending.append(pending)

    def move(self, held: Pending, to: Dims) -> None:
        """Re-attribute a held contribution: out of its held dimensions, into `to`."""
        if held.bin is None:
            self.sums[(held.metric, held.bucket, held.dims)] -= held.value
            self.sums[(held.metric, held.bucket, to)] += held.value
        else:
            self.sketches[(held.metric, held.bucket, held.dims)][held.bin] -= held.value
            self.sketches[(held.metric, held.bucket, to)][held.bin] += held.value
        self.seen(held.metric, to)

    def entity(self, table: str, entity_id: str) -> dict[str, Any]:
        """The batch's pending changes to one entity row (created empty)."""
        rows = self.entities[table]
        row = rows.get(entity_id)
        if row is None:
            row = rows[entity_id] = {}
        return row

    def seen(self, name: str, dims: Dims) -> None:
        """Record the dimension values carried in the area of `name` (a metric or event type).

        `unknown` is not recorded: it is listed only while something is held under it.
        """
        if (name, dims) in self._seen:
            return
        self._seen.add((name, dims))
        area = name.split(".", 1)[0]
        for dim, value in dims:
            if value and value != UNKNOWN:
                self.dimension_values.add((area, dim, value))


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0
