"""What a KPI is (contract/KPIS.md): kinds, units, better direction, breakdowns, labels; windows.

The catalogue itself is the sources' (each source declares its KPIs: sources/*/kpis.py, and
`sources.SOURCES.kpis` gathers them); the names are the public interface (wall page, Grafana
panels, alert rules).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Literal

Window = Literal["5m", "15m", "1h", "6h", "24h", "7d"]
"""A window's name, as routes and alert rules take it."""
WINDOWS: dict[str, int] = {"5m": 5, "15m": 15, "1h": 60, "6h": 360, "24h": 1440, "7d": 10080}
"""Window name -> minutes."""
DEFAULT_WINDOW: Window = "1h"

Step = Literal["1m", "5m", "15m", "1h", "1d"]
"""A series step's name."""
STEPS: dict[str, int] = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 1440}
"""Series step name -> minutes (`1d` aligns to days in IOC_TIMEZONE)."""
DEFAULT_STEP: Step = "1m"
MAX_POINTS = 10_000


class Kind(enum.StrEnum):
    WINDOW = "window"
    STATE = "state"


class Better(enum.StrEnum):
    HIGHER = "higher"
    LOWER = "lower"
    NEITHER = "neither"


class Dimension(str):
    """The name of a breakdown dimension (`district`, `agency`, `commune`, `market`, ...).

    Dimensions are data: each source declares the ones its KPIs break down by (sources/*), and
    a KPI row carries its values as a dimension set. The constants below are the dimensions of
    the registry of places, which several sources share.
    """

    __slots__ = ()

    DISTRICT: ClassVar[Dimension]
    COMMUNE: ClassVar[Dimension]
    AGENCY: ClassVar[Dimension]
    ENDPOINT: ClassVar[Dimension]

    @property
    def value(self) -> str:
        """The name itself (as the enum this replaced spelled it)."""
        return str(self)


Dimension.DISTRICT = Dimension("district")
Dimension.COMMUNE = Dimension("commune")
Dimension.AGENCY = Dimension("agency")
Dimension.ENDPOINT = Dimension("endpoint")

UNKNOWN = "unknown"
"""The breakdown value of an event whose entity never told us the dimension."""


@dataclass(frozen=True, slots=True)
class Kpi:
    name: str
    kind: Kind
    unit: str  # "count", "percent", "ms", "hours", "vnd", "score"
    better: Better
    breakdowns: tuple[Dimension, ...]
    label_vi: str
    label_en: str

    @property
    def area(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def prometheus_name(self) -> str:
        """`ioc_` + the name with dots as underscores and units in base units (seconds)."""
        stem = self.name.replace(".", "_")
        stem = stem.replace("_ms_", "_seconds_").replace("_hours_", "_seconds_")
        if stem.endswith("_ms"):
            stem = stem[: -len("_ms")] + "_seconds"
        elif stem.endswith("_hours"):  # community.hours -> ioc_community_seconds
            stem = stem[: -len("_hours")] + "_seconds"
        return "ioc_" + stem

    @property
    def prometheus_scale(self) -> float:
        """Multiply the KPI's value by this for its Prometheus gauge."""
        return {"ms": 0.001, "hours": 3600.0}.get(self.unit, 1.0)


def status_of(kpi: Kpi, value: float | None, thresholds: tuple[float, float] | None) -> str:
    """`ok`, `warn`, `bad` or `none` (no value or no thresholds), by the KPI's better direction."""
    if value is None or thresholds is None or kpi.better is Better.NEITHER:
        return "none"
    warn, bad = thresholds
    if kpi.better is Better.HIGHER:
        return "bad" if value < bad else "warn" if value < warn else "ok"
    return "bad" if value > bad else "warn" if value > warn else "ok"
