"""What a source system is to the shared mechanisms, and the registry of them.

A source (the video-conference network, the e-office system, the portal, ...) is one package
under `sources/` that fills in one `Source`: its topics and event models, the dimensions and
KPIs it declares, its per-batch arithmetic, the SQL of its entity tables and state KPIs, and
its area on the wall. The mechanisms (decode, admit, aggregate, write, query, alerts, wall)
read sources only through a `Sources` registry, which the entry points hand them; the kernel
imports no source.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from ioc.contributions import Effects
from ioc.errors import SourceError
from ioc.freshness import ALWAYS, parse_expectation
from ioc.kpi.formulas import Formula
from schemas.kpis import Dimension, Kind, Kpi
from schemas.topics import SourceTopic

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ioc.db.pool import Conn, Queryable
    from ioc.db.writes import Writes
    from ioc.kpi.context import KpiContext
    from ioc.registry import Registry
    from ioc.simulation import ProfileFactory
    from schemas.wire import Envelope

Values = dict[str, float | None]
StateQuery = Callable[["Queryable", Dimension | None, "KpiContext", datetime], Awaitable[dict[str, float]]]
"""A state KPI ("now") computed in SQL from the source's entity tables, per breakdown value."""


class ComputedKpi(Protocol):
    """A windowed KPI that is not a formula over blocks (availability: presence bits against
    the endpoints known), computed by the source's own SQL."""

    def range(self, as_of: datetime, window: str) -> tuple[datetime, datetime]: ...

    async def values(
        self,
        conn: Queryable,
        start: datetime,
        end: datetime,
        by: Dimension | None,
        ctx: KpiContext,
        as_of: datetime,
    ) -> Values: ...

    async def series(
        self,
        conn: Queryable,
        start: datetime,
        end: datetime,
        step: str,
        by: Dimension | None,
        ctx: KpiContext,
        as_of: datetime,
    ) -> tuple[dict[tuple[datetime, str], float | None], dict[str, float]]: ...


class Arithmetic(Protocol):
    """A source's per-batch arithmetic: decoded events in, contributions out (pure)."""

    def event(self, e: Any, order: int, fx: Effects) -> None:
        """Contribute event `e`, the batch's event number `order` (later arrivals higher)."""

    def flush(self, fx: Effects) -> None:
        """Hand over what was summed across the batch (called once, after every event)."""


ArithmeticFactory = Callable[[Any, Any], Arithmetic]
"""`(lookups, fast_sums) -> Arithmetic`: what `Lookups.load` found (or None) and what the
source's fast path summed (or None)."""


class Lookups(Protocol):
    """What a source must read from the database before a batch's effects can be computed
    (portal: the dimensions of applications submitted in earlier batches)."""

    def needed(self, events: Sequence[Any]) -> bool: ...

    async def load(self, conn: Conn, events: Sequence[Any]) -> Any:
        """Read (and take, inside the write's transaction) what the batch needs."""


class Store(Protocol):
    """How a source writes its own tables: parts of the batch's one statement, and rare
    rows that cannot travel in it."""

    def add_parts(self, writes: Writes, fx: Effects) -> None: ...

    def has_rows(self, fx: Effects) -> bool: ...

    async def write_rows(self, conn: Conn, fx: Effects) -> None: ...


class FastPath(Protocol):
    """A native path for one topic's canonical records (the video-conference heartbeats)."""

    topic: str

    def scan(self, records: list[Any]) -> Any: ...

    def judge_run(self, *args: Any) -> tuple[int, int, int, int, bool]: ...

    def new_sums(self) -> Any: ...

    def add(self, sums: Any, event: Any, order: int) -> bool:
        """Sum an event the Python path accepted, if it is one the native path sums."""


BreakdownExtras = Callable[["Queryable", Dimension, "KpiContext"], Awaitable[set[str]]]
"""Breakdown values the source lists beyond the registry's and those seen (e.g. `unknown`)."""


@dataclass(frozen=True)
class Derived:
    """A breakdown a source's rows do not carry but take, at query time, from an entity its
    rows do carry: community activities carry their `team`, and `level` is that team's level
    in `community_teams` (`unknown` until the team's registration arrives). So the answer is
    as if the events had arrived in order once all have, with nothing to re-attribute."""

    via: str  # the dimension in the rows' set naming the entity (`team`)
    table: str  # the source's entity table (`community_teams`)
    key: str  # its key column (`team_id`)
    column: str  # the column holding the breakdown's value (`level`)


@dataclass(frozen=True)
class WallArea:
    """The source's area on the wall, as data the page reads from the API (`/api/v1/wall`).

    `of`: a total shown as "/ N" after a headline value; `aside`: a related KPI named in a
    tile's note; `breakdown`: the worst-first ranking (KPI, dimension).
    """

    headline: tuple[str, ...]
    secondary: tuple[str, ...]
    trend: tuple[str, ...]
    breakdown: tuple[str, Dimension]
    of: Mapping[str, str] = field(default_factory=dict)
    aside: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """Everything particular to one source system."""

    name: str
    label_vi: str
    label_en: str
    topics: tuple[SourceTopic, ...]
    topic_labels: Mapping[str, tuple[str, str]]  # topic -> (Vietnamese, English) on the wall
    models: tuple[type[BaseModel], ...]  # the contract's judge (pydantic)
    structs: tuple[type[Envelope], ...]  # the hot path's (msgspec)
    dimensions: tuple[Dimension, ...]  # every breakdown its KPIs may have
    dimension_labels: Mapping[str, tuple[str, str]]  # dimension -> "by ..." (Vietnamese, English)
    kpis: tuple[Kpi, ...]
    sum_blocks: tuple[str, ...]
    sketch_blocks: tuple[str, ...]
    formulas: Mapping[str, Formula]
    thresholds: Mapping[str, tuple[float, float]]
    state: Mapping[str, StateQuery]
    registry_values: Callable[[Dimension, Registry], set[str]]
    arithmetic: ArithmeticFactory
    wall: WallArea
    distinct_blocks: tuple[str, ...] = ()
    derived: Mapping[str, Derived] = field(default_factory=dict)  # breakdown -> where its value is
    computed: Mapping[str, ComputedKpi] = field(default_factory=dict)
    breakdown_extras: BreakdownExtras | None = None
    lookups: Lookups | None = None
    store: Store | None = None
    fast_path: FastPath | None = None
    migrations: str | None = None  # a package holding `migrations/*.sql` for the source's tables
    simulator: ProfileFactory | None = None  # builds its simulator profiles for a run; None: not simulated
    value_names: Mapping[str, Mapping[str, tuple[str, str]]] = field(default_factory=dict)
    """Names (Vietnamese, English) of the values of its fixed dimensions, the ones the registry
    of places does not hold (site levels, payment providers, ...): dimension -> code -> names."""
    freshness: Mapping[str, str] = field(default_factory=dict)
    """Topic -> when it is expected to speak, `"<every> <when>"` (ioc/freshness.py): `"10s always"`,
    `"15m office"`; a topic without one is stale after IOC_STALE_AFTER_S, around the clock."""

    def check(self) -> None:
        """Refuse a source whose parts disagree (a KPI with no way to compute it, ...)."""
        for kpi in self.kpis:
            if kpi.area != self.name:
                raise SourceError(f"source {self.name}: KPI {kpi.name} must be named {self.name}.*")
            if kpi.kind is Kind.STATE and kpi.name not in self.state:
                raise SourceError(f"source {self.name}: state KPI {kpi.name} has no query")
            if kpi.kind is Kind.WINDOW and kpi.name not in self.formulas and kpi.name not in self.computed:
                raise SourceError(f"source {self.name}: windowed KPI {kpi.name} has no formula")
            unknown = set(kpi.breakdowns) - set(self.dimensions)
            if unknown:
                raise SourceError(
                    f"source {self.name}: {kpi.name} breaks down by undeclared {sorted(unknown)}"
                )
        unlabelled = set(self.dimensions) - set(self.dimension_labels) - {Dimension.ENDPOINT}
        if unlabelled:
            raise SourceError(f"source {self.name}: dimensions without labels: {sorted(unlabelled)}")
        for name, derived in self.derived.items():
            if not all(
                x.isidentifier() for x in (name, derived.via, derived.table, derived.key, derived.column)
            ):
                raise SourceError(f"source {self.name}: derived dimension {name} names a non-identifier")
        for topic in self.topics:
            if topic.source != self.name:
                raise SourceError(f"source {self.name}: topic {topic.name} names source {topic.source}")
        for topic_name, text in self.freshness.items():
            if topic_name not in {t.name for t in self.topics}:
                raise SourceError(f"source {self.name}: freshness of a topic not its own: {topic_name}")
            try:
                parse_expectation(text, office=ALWAYS)
            except ValueError as exc:
                raise SourceError(f"source {self.name}: {exc}") from None


class Sources:
    """The registry: every source, and the tables the mechanisms look things up in."""

    def __init__(self, sources: Iterable[Source]) -> None:
        self.all: tuple[Source, ...] = tuple(sources)
        for source in self.all:
            source.check()
        _unique("source", [s.name for s in self.all])
        _unique("topic", [t.name for s in self.all for t in s.topics])
        _unique("KPI", [k.name for s in self.all for k in s.kpis])
        _unique("event type", [t for s in self.all for topic in s.topics for t in topic.types])
        _unique(
            "block",
            [b for s in self.all for b in (*s.sum_blocks, *s.sketch_blocks, *s.distinct_blocks)],
        )
        if len([s for s in self.all if s.fast_path is not None]) > 1:
            raise SourceError("at most one source may have a native fast path")
        self.by_name: dict[str, Source] = {s.name: s for s in self.all}

    @cached_property
    def catalog(self) -> tuple[Kpi, ...]:
        return tuple(k for s in self.all for k in s.kpis)

    @cached_property
    def kpis(self) -> dict[str, Kpi]:
        """KPI name -> KPI, in catalogue order."""
        return {k.name: k for k in self.catalog}

    @cached_property
    def topics(self) -> tuple[SourceTopic, ...]:
        return tuple(t for s in self.all for t in s.topics)

    @cached_property
    def dimensions(self) -> tuple[Dimension, ...]:
        """Every dimension some source declares, first declaration first."""
        return tuple(dict.fromkeys(d for s in self.all for d in s.dimensions))

    @cached_property
    def dimension_labels(self) -> dict[str, tuple[str, str]]:
        """Dimension -> its "by ..." words (Vietnamese, English); the first source's wins."""
        out: dict[str, tuple[str, str]] = {}
        for s in self.all:
            for name, labels in s.dimension_labels.items():
                out.setdefault(name, labels)
        return out

    @cached_property
    def value_names(self) -> dict[str, dict[str, tuple[str, str]]]:
        """Dimension -> code -> names (vi, en) of the sources' fixed values; the first source's wins."""
        out: dict[str, dict[str, tuple[str, str]]] = {}
        for s in self.all:
            for dim, names in s.value_names.items():
                for code, pair in names.items():
                    out.setdefault(dim, {}).setdefault(code, pair)
        return out

    @cached_property
    def thresholds(self) -> dict[str, tuple[float, float]]:
        return {k: v for s in self.all for k, v in s.thresholds.items()}

    @cached_property
    def sum_blocks(self) -> tuple[str, ...]:
        return tuple(b for s in self.all for b in s.sum_blocks)

    @cached_property
    def sketch_blocks(self) -> tuple[str, ...]:
        return tuple(b for s in self.all for b in s.sketch_blocks)

    @cached_property
    def distinct_blocks(self) -> tuple[str, ...]:
        return tuple(b for s in self.all for b in s.distinct_blocks)

    @cached_property
    def formulas(self) -> dict[str, Formula]:
        return {k: v for s in self.all for k, v in s.formulas.items()}

    @cached_property
    def fast_path(self) -> FastPath | None:
        return next((s.fast_path for s in self.all if s.fast_path is not None), None)

    @cached_property
    def source_of_type(self) -> dict[str, Source]:
        """Event type name -> its source."""
        return {t: s for s in self.all for topic in s.topics for t in topic.types}

    @cached_property
    def migrations(self) -> tuple[str, ...]:
        """Packages whose `migrations/` folders the migration runner applies after the kernel's."""
        return tuple(s.migrations for s in self.all if s.migrations is not None)

    def source_of(self, name: str) -> Source:
        """The source of a KPI, block or event-type name's area (`vc.heartbeats` -> vc)."""
        return self.by_name[name.split(".", 1)[0]]


def _unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SourceError(f"two sources declare the {what} {name!r}")
        seen.add(name)
