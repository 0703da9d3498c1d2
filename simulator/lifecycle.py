"""The machinery every source shares: event envelopes, a schedule of future events, life-cycles.

A document, an application and a meeting are all entities that appear at some
moment and then go through stages at planned later times (received → processed;
submitted → resolved → paid → rated; started → ended). A source only says when
entities appear, what their stages are and what each stage's event says; the
``Lifecycles`` runner here schedules the stages, builds the events lazily (memory
stays small at national scale) and, on demand, delivers one stage out of order.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from ioc.registry import Registry
from schemas.topics import SCHEMA_VERSION
from simulator.config import Volumes
from simulator.rhythm import MINUTE_MS, time_formatter

T = TypeVar("T")
Payload = dict[str, Any]
Item = tuple[int, int, int, "Outlet", bytes, Payload]
"""An event ready for its envelope: (send-order ms, tie-break seq, occurred ms, outlet, key, payload)."""


class Outlet:
    """Where one source's events go: topic, the envelope's ``source``, and its event-id sequence.

    Event ids look like UUIDs: a per-outlet random prefix drawn from the run's seed and
    start, then a counter. They are unique across runs that start at different times,
    so restarting a demo never makes the pipeline see its new events as duplicates.
    """

    __slots__ = ("_count", "_prefix", "enabled", "source", "topic")

    def __init__(self, topic: str, source: str, rng: random.Random, *, enabled: bool = True) -> None:
        self.topic = topic
        self.source = source
        self.enabled = enabled
        h = f"{rng.getrandbits(80):020x}"
        variant = "89ab"[int(h[16], 16) % 4]
        self._prefix = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-"
        self._count = 0

    def next_id(self) -> str:
        self._count += 1
        return f"{self._prefix}{self._count:012x}"

    def envelope(self, type_name: str) -> Payload:
        """A new event of this outlet; ``event_id`` and ``occurred_at`` are filled when it is sent."""
        return {
            "event_id": None,
            "type": type_name,
            "occurred_at": None,
            "source": self.source,
            "schema_version": SCHEMA_VERSION,
        }


class Handler(Protocol):
    def fire(
        self, emit_ms: int, seq: int, occurred_ms: int, subject: Any, stage: int, out: list[Item]
    ) -> None:
        """A scheduled moment has come: change state and/or append events to ``out``."""


class Scheduler:
    """Everything due later (stages, link recoveries), released in time order one window at a time."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, int, Handler, Any, int]] = []
        self._seq = 0

    def reserve(self, n: int) -> int:
        """``n`` consecutive tie-break numbers for items made outside the schedule."""
        first = self._seq
        self._seq += n
        return first

    def at(self, emit_ms: int, occurred_ms: int, handler: Handler, subject: Any, stage: int = 0) -> None:
        """Fire ``handler`` at ``emit_ms``; ``occurred_ms`` differs only for events held back."""
        self._seq += 1
        heapq.heappush(self._heap, (emit_ms, self._seq, occurred_ms, handler, subject, stage))

    def release(self, until_ms: int, out: list[Item]) -> None:
        """Fire everything due before ``until_ms``, including what firing schedules in that span."""
        heap = self._heap
        while heap and heap[0][0] < until_ms:
            emit_ms, seq, occurred_ms, handler, subject, stage = heapq.heappop(heap)
            handler.fire(emit_ms, seq, occurred_ms, subject, stage, out)

    def __len__(self) -> int:
        return len(self._heap)


class Entity:
    """An entity with a life-cycle: its record key and the planned (time, event type) of each stage."""

    __slots__ = ("key", "stages")

    def __init__(self, key: str, stages: list[tuple[int, str]]) -> None:
        self.key = key.encode()
        self.stages = stages


class EntitySource(Protocol):
    """What a life-cycle source tells the machinery."""

    outlet: Outlet

    def spawn(self, start_ms: int, span_ms: int) -> Iterable[Entity]:
        """Entities that appear in the window, their stages planned."""

    def body(self, entity: Any, type_name: str) -> Payload:
        """The event-specific fields of one stage's event."""


class Lifecycles:
    """Runs one source's entities through their stages, with out-of-order delivery on demand.

    Out of order: for the requested share of entities one stage is held back and sent
    just after the next one. The two must be at most ``max_disorder_ms`` apart, so that
    the pipeline's grace period covers the straggler; an entity with no such pair has
    its next stage brought forward (a document processed within the hour), which keeps
    the share exact for every source.
    """

    def __init__(
        self,
        source: EntitySource,
        scheduler: Scheduler,
        *,
        end_ms: int | None,
        out_of_order: float,
        max_disorder_ms: int,
        rand: Callable[[], float],
    ) -> None:
        self.source = source
        self.scheduler = scheduler
        self.end_ms = end_ms
        self.out_of_order = out_of_order
        self.max_disorder_ms = max_disorder_ms
        self._rand = rand
        self.created = 0
        self.reordered = 0

    def window(self, start_ms: int, span_ms: int) -> None:
        for entity in self.source.spawn(start_ms, span_ms):
            self.created += 1
            self._schedule(entity)

    def _schedule(self, entity: Entity) -> None:
        held = -1
        if self.out_of_order and self._rand() < self.out_of_order and len(entity.stages) > 1:
            held = self._disorder(entity)
        stages = entity.stages
        if self.end_ms is not None:
            stages = [s for s in stages if s[0] < self.end_ms]
            if held + 1 >= len(stages):
                held = -1
        if held >= 0:
            self.reordered += 1
        at = self.scheduler.at
        for i, (t, _) in enumerate(stages):
            if i != held:
                at(t, t, self, entity, i)
            if i == held + 1 and held >= 0:
                at(t, stages[held][0], self, entity, held)

    def _disorder(self, entity: Entity) -> int:
        """The stage to hold back, bringing its successor forward if none is close enough."""
        stages = entity.stages
        limit = self.max_disorder_ms
        end = self.end_ms
        for i in range(len(stages) - 1):
            if 0 < stages[i + 1][0] - stages[i][0] <= limit and (end is None or stages[i + 1][0] < end):
                return i
        gap = stages[1][0] - stages[0][0]
        forward = gap - (60_000 + int(self._rand() * (limit - 60_000)))
        entity.stages = [stages[0]] + [(t - forward, kind) for t, kind in stages[1:]]
        return 0

    def fire(
        self, emit_ms: int, seq: int, occurred_ms: int, subject: Any, stage: int, out: list[Item]
    ) -> None:
        outlet = self.source.outlet
        if not outlet.enabled:
            return
        type_name = subject.stages[stage][1]
        payload = outlet.envelope(type_name)
        payload.update(self.source.body(subject, type_name))
        out.append((emit_ms, seq, occurred_ms, outlet, subject.key, payload))


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


class World:
    """What every source of one run shares: the registry, scale, local time and id minting."""

    __slots__ = ("fmt", "multiplier", "offset_ms", "registry", "run_tag", "slow", "slow_factor", "volumes")

    def __init__(
        self,
        registry: Registry,
        volumes: Volumes,
        multiplier: float,
        run_tag: str,
        slow: frozenset[str],
        slow_factor: float,
    ) -> None:
        self.registry = registry
        self.volumes = volumes
        self.multiplier = multiplier
        self.run_tag = run_tag
        self.slow = slow
        self.slow_factor = slow_factor
        self.offset_ms = registry.province.utc_offset_minutes * MINUTE_MS
        self.fmt = time_formatter(registry.province.utc_offset_minutes)

    def id_prefix(self, kind: str) -> str:
        """Entity ids such as ``TQ-VB-3fa9c1-0000123``: unique per run, readable per province."""
        return f"{self.registry.province.code}-{kind}-{self.run_tag}-"

    def slowness(self, agency: str) -> float:
        """How much longer an agency takes than it should (1 unless it is falling behind)."""
        return self.slow_factor if agency in self.slow else 1.0
