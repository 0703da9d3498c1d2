"""What every source profile of one run works with: the shared world, outlets and entities.

A document, an application and a meeting are all entities that appear at some moment and
then go through stages at planned later times (received → processed; submitted → resolved →
paid → rated; started → ended). A profile says when entities appear, what their stages are
and what each stage's event says; the simulator's engine schedules the stages and builds the
events lazily, so memory stays small at national scale.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ioc.simulation.rhythm import MINUTE_MS, time_formatter
from schemas.topics import SCHEMA_VERSION

if TYPE_CHECKING:
    from ioc.registry import Registry

Payload = dict[str, Any]
Item = tuple[int, int, int, "Outlet", bytes, Payload]
"""An event ready for its envelope: (send-order ms, tie-break seq, occurred ms, outlet, key, payload)."""


class Outlet:
    """Where one topic's events go: topic, the envelope's ``source``, and its event-id sequence.

    Event ids look like UUIDs: a per-outlet random prefix drawn from the run's seed and
    start, then a counter. They are unique across runs that start at different times,
    so restarting a demo never makes the pipeline see its new events as duplicates.
    ``enabled`` is false for a topic the run was not asked for: its source still runs
    (a meeting needs the network even when only meetings are sent) but sends nothing there.
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


class Entity:
    """An entity with a life-cycle: its record key and the planned (time, event type) of each stage."""

    __slots__ = ("key", "stages")

    def __init__(self, key: str, stages: list[tuple[int, str]]) -> None:
        self.key = key.encode()
        self.stages = stages


class World:
    """What every source of one run shares: the registry, scale, local time and id minting."""

    __slots__ = ("fmt", "multiplier", "offset_ms", "registry", "run_tag", "slow", "slow_factor")

    def __init__(
        self,
        registry: Registry,
        multiplier: float,
        run_tag: str,
        slow: frozenset[str],
        slow_factor: float,
    ) -> None:
        self.registry = registry
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
