"""A run's profiles, composed from the source registry: the simulator names no source.

Each source that declares a simulator factory (``Source.simulator``) and has a topic the
run asks for is handed a ``ProfileContext`` and returns its profiles, in registry order
(which fixes the order of the run's shared random draws and schedule ties, so the bytes
stay the same run after run). The run's per-source settings reach a source only by its
name: volume overrides (``Volumes.per_source``) and the envelope's ``source``
(``SimulatorConfig.sources``). A source learns the run's ``max_disorder`` and end from its
context, to make its own out-of-order deliveries (``ioc.simulation.disorder``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import fields

from ioc.errors import ConfigError, SourceError
from ioc.simulation import Outlet, Profile, Schedule, World
from ioc.sources import Source
from simulator.config import FaultConfig, SimulatorConfig
from sources import SOURCES

_FAULTS = frozenset(f.name for f in fields(FaultConfig) if isinstance(f.default, float))


class Streams:
    """The run's random streams, one per purpose, each seeded by the run's seed, start and purpose.

    A purpose is handed out once: two sources asking for the same one would otherwise
    share a stream, and one's traffic would change with the other's.
    """

    def __init__(self, base: str) -> None:
        self._base = base
        self._used: set[str] = set()

    def __call__(self, purpose: str) -> random.Random:
        if purpose in self._used:
            raise SourceError(f"the random stream {purpose!r} was asked for twice in one run")
        self._used.add(purpose)
        return random.Random(f"{self._base}:{purpose}")  # noqa: S311 (simulation, not security)


class Context:
    """One source's view of the run (``ioc.simulation.ProfileContext``)."""

    def __init__(
        self,
        source: Source,
        config: SimulatorConfig,
        world: World,
        schedule: Schedule,
        interval_ms: int,
        streams: Streams,
        *,
        max_disorder_ms: int,
        end_ms: int | None,
    ) -> None:
        self.source = source
        self.config = config
        self.world = world
        self.schedule = schedule
        self.interval_ms = interval_ms
        self._streams = streams
        self.max_disorder_ms = max_disorder_ms
        self.end_ms = end_ms

    def rng(self, purpose: str) -> random.Random:
        return self._streams(purpose)

    def outlet(self, topic: str, source: str) -> Outlet:
        if topic not in {t.name for t in self.source.topics}:
            raise SourceError(f"source {self.source.name}: {topic} is not one of its topics")
        envelope_source = self.config.sources.get(self.source.name, source)
        enabled = topic in self.config.topics
        return Outlet(topic, envelope_source, self.rng(f"ids:{topic}"), enabled=enabled)

    def volumes(self, defaults: Mapping[str, float]) -> dict[str, float]:
        overrides = self.config.volumes.per_source.get(self.source.name, {})
        unknown = sorted(set(overrides) - set(defaults))
        if unknown:
            known = ", ".join(defaults) or "none"
            raise ConfigError(f"volumes of {self.source.name}: no setting {unknown[0]!r} (known: {known})")
        return {**defaults, **overrides}

    def fault(self, name: str) -> float:
        if name not in _FAULTS:
            raise SourceError(f"source {self.source.name}: no fault named {name!r}")
        return float(getattr(self.config.faults, name))


def compose(
    config: SimulatorConfig,
    world: World,
    schedule: Schedule,
    interval_ms: int,
    streams: Streams,
    *,
    max_disorder_ms: int,
    end_ms: int | None,
) -> list[Profile]:
    """The profiles of every simulated source with a topic the run asks for, in registry order.

    ``max_disorder_ms`` is the run's as the engine applies it; ``end_ms`` its timeline's end."""
    asked = set(config.topics)
    profiles: list[Profile] = []
    for source in SOURCES.all:
        if source.simulator is None or not asked & {t.name for t in source.topics}:
            continue
        context = Context(
            source,
            config,
            world,
            schedule,
            interval_ms,
            streams,
            max_disorder_ms=max_disorder_ms,
            end_ms=end_ms,
        )
        profiles.extend(source.simulator(context))
    return profiles
