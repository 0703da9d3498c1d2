"""Where the evaluator reads KPI values: a protocol, so evaluation does not care how they are computed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class KpiSource(Protocol):
    """A KPI's current values (contract/KPIS.md), as `GET /api/v1/kpis/{name}` would answer them."""

    async def kpi_values(self, name: str, *, window: str, by: str | None) -> dict[str, float | None]:
        """`by` None -> `{"": total}`; else `{dimension_value: value}` (null where undefined)."""
        ...


class MemoryKpiSource:
    """Values set by hand: for tests and dry runs of a rules file against chosen numbers."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str | None], dict[str, float | None]] = {}
        self.fail: Exception | None = None
        """When set, every read raises it (a database that is down)."""

    def set(
        self, name: str, values: Mapping[str, float | None] | float | None, *, by: str | None = None
    ) -> None:
        """Set a KPI's values: a number (or None) for the total, a mapping for a breakdown."""
        if isinstance(values, Mapping):
            self._values[(name, by)] = dict(values)
        else:
            self._values[(name, None)] = {"": values}

    async def kpi_values(self, name: str, *, window: str, by: str | None) -> dict[str, float | None]:
        if self.fail is not None:
            raise self.fail
        return dict(self._values.get((name, by), {}))
