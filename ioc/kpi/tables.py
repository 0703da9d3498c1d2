"""The three aggregate kinds' tables, so every read and write of them is written once.

Sums (counts, totals) live in `kpi_minute` and `kpi_hour` as one `value` per row; percentile
sketches in `kpi_sketch_minute` and `kpi_sketch_hour` as arrays of bins and their counts, read
as one `count` per bin through the views `kpi_sketch_bins_minute` and `..._hour`; distinct counts
in `kpi_distinct_minute` and `kpi_distinct_hour` as one row per `member` named. All are keyed
by (metric, bucket, dim_set), the sketches also by `bin`, the distinct counts by `member`.
Sums and sketches add up over rows; distinct counts count the members of their union.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ioc.kpi.formulas import Blocks


@dataclass(frozen=True)
class BlockTable:
    """One aggregate kind: its tables' prefix, its number column and its extra key column."""

    prefix: str  # kpi_minute / kpi_hour, kpi_sketch_minute / ..., kpi_distinct_minute / ...
    value: str  # the column aggregated: `value`, `count` or `member`
    extra: str  # the extra key column, with its comma (", bin"), or ""
    aggregate: str  # how rows of one key combine over a window: a sum, or a distinct count
    read_prefix: str = ""  # the views read instead of the tables, where the tables differ

    def table(self, suffix: str) -> str:
        """`minute` -> kpi_minute (or kpi_sketch_minute); `hour` -> the hourly rollup."""
        return f"{self.prefix}_{suffix}"

    def rows(self, suffix: str) -> str:
        """What reads name for `table(suffix)`: a row per key with its `value` (and `extra`)."""
        return f"{self.read_prefix or self.prefix}_{suffix}"

    def add(self, blk: Blocks, metric: str, row: Any) -> None:
        """Put a read row's sum (`v`, and `bin`) into a window's or step's blocks."""
        if self.extra:
            blk.sketches.setdefault(metric, []).append((row["bin"], row["v"]))
        elif self is DISTINCT:
            blk.distinct[metric] = float(row["v"])
        else:
            blk.sums[metric] = row["v"]


SUMS = BlockTable("kpi", "value", "", "sum(value)")
SKETCHES = BlockTable("kpi_sketch", "count", ", bin", "sum(count)", read_prefix="kpi_sketch_bins")
DISTINCT = BlockTable("kpi_distinct", "member", "", "count(DISTINCT member)")
