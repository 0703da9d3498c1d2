"""The pure, deterministic generator: a config and a timeline in, Kafka records out.

No I/O and no clock reads: the same config (seed included) and start give the same
bytes, which is what lets tests, benchmarks and the demo replay a story exactly.
The sources' profiles come from the registry (``simulator.compose``). Time advances in
windows of one heartbeat interval. In each window every profile spawns its new
entities and plans what else begins, everything scheduled for the window fires,
every profile emits its periodic events (each online site beats once), and the
window's events go out in time order with their envelopes, each possibly followed
by a record fault.
"""

from __future__ import annotations

import logging
import random
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from itertools import islice

import orjson

from ioc.clock import Clock, SystemClock
from ioc.errors import ConfigError
from ioc.registry import Registry
from ioc.simulation import Item, Outlet, World
from ioc.simulation.rhythm import time_formatter
from simulator.compose import Streams, compose
from simulator.config import FaultConfig, SimulatorConfig, Timeline, plan
from simulator.faults import RecordFaults
from simulator.lifecycle import Lifecycles, Scheduler
from simulator.records import Record

log = logging.getLogger("ioc.simulator")


class Simulation:
    """One run's world and its record stream (iterate it once)."""

    def __init__(self, config: SimulatorConfig, timeline: Timeline) -> None:
        if config.seed is None:
            raise ConfigError("the generator needs a seed (run_simulator and the command pick one)")
        self.config = config
        self.timeline = timeline
        registry = config.the_registry()
        # One stream per purpose, so a source's traffic does not depend on which others run.
        rng = Streams(f"{config.seed}:{timeline.start_ms}")
        faults = config.faults
        slow = _slow_agencies(registry, faults, rng("slow"))
        if slow:
            log.info("agencies falling behind", extra={"agencies": sorted(slow)})
        self.world = World(
            registry, config.multiplier, f"{rng('tag').getrandbits(24):06x}", slow, faults.slow_factor
        )
        self.scheduler = Scheduler()
        self.interval_ms = config.volumes.heartbeat_interval_s * 1000
        # One max_disorder for the engine's reorders and the profiles' own (whole ms, exact).
        max_disorder_ms = faults.max_disorder // timedelta(milliseconds=1)
        self.profiles = compose(
            config,
            self.world,
            self.scheduler,
            self.interval_ms,
            rng,
            max_disorder_ms=max_disorder_ms,
            end_ms=timeline.end_ms,
        )
        disorder = rng("disorder")
        self.lifecycles = [
            Lifecycles(
                profile,
                self.scheduler,
                end_ms=timeline.end_ms,
                out_of_order=faults.out_of_order,
                max_disorder_ms=max_disorder_ms,
                rand=disorder.random,
            )
            for profile in self.profiles
        ]
        late_ids = Outlet("late", "late", rng("ids:late"))
        fmt = time_formatter(registry.province.utc_offset_minutes)
        self.faults = RecordFaults(faults, rng("faults"), late_ids, fmt)
        self._fmt = time_formatter(registry.province.utc_offset_minutes)
        self._fault_draw = rng("fault-draws").random

    def events_per_day(self) -> float:
        """About how many valid events a day this run sends (what sizes a span for a count)."""
        return sum(profile.events_per_day() for profile in self.profiles)

    @property
    def fault_counts(self) -> Counter[str]:
        """Faults made so far, by kind (``malformed.<kind>``, ``duplicate``, ``late``, ``out_of_order``).

        ``out_of_order`` counts entities: those whose stages the engine reordered, and those the
        profiles that make their own disorder delivered out of order (``Profile``'s ``reordered``).
        """
        counts = Counter(self.faults.counts)
        reordered = sum(lc.reordered for lc in self.lifecycles)
        reordered += sum(int(getattr(profile, "reordered", 0)) for profile in self.profiles)
        if reordered:
            counts["out_of_order"] = reordered
        return counts

    def __iter__(self) -> Iterator[Record]:
        records = self._records()
        if self.config.max_events is not None:
            return islice(records, self.config.max_events)
        return records

    def _window(self, start: int, end: int) -> list[Item]:
        items: list[Item] = []
        for lifecycle in self.lifecycles:
            lifecycle.window(start, end - start)
        for profile in self.profiles:
            profile.plan(start, end - start)
        self.scheduler.release(end, items)
        for profile in self.profiles:
            profile.emit(start, end, items)
        items.sort()
        return items

    def _records(self) -> Iterator[Record]:
        fmt, dumps = self._fmt, orjson.dumps
        faults = self.faults
        faulty = faults.active
        threshold = faults.threshold
        draw = self._fault_draw
        start, end = self.timeline.start_ms, self.timeline.end_ms
        while end is None or start < end:
            stop = start + self.interval_ms if end is None else min(start + self.interval_ms, end)
            for emit_ms, _seq, occurred_ms, outlet, key, payload in self._window(start, stop):
                payload["event_id"] = outlet.next_id()
                payload["occurred_at"] = fmt(occurred_ms)
                record = Record(outlet.topic, key, dumps(payload), occurred_ms)
                if faulty:
                    if faults.pending:
                        yield from faults.resend_due(emit_ms)
                    yield record
                    u = draw()
                    if u < threshold:
                        extra = faults.follow(u, record, payload, emit_ms)
                        if extra is not None:
                            yield extra
                else:
                    yield record
            start = stop
        yield from faults.resend_due(sys.maxsize)


def _slow_agencies(registry: Registry, faults: FaultConfig, rng: random.Random) -> frozenset[str]:
    known = set(registry.agency_codes)
    unknown = [a for a in faults.slow_agencies if a not in known]
    if unknown:
        raise ConfigError(f"slow agency {unknown[0]!r} is not in the registry")
    rest = [a for a in registry.agency_codes if a not in faults.slow_agencies]
    picked = rng.sample(rest, min(faults.slow_agency_count, len(rest)))
    return frozenset(faults.slow_agencies) | frozenset(picked)


def generate(config: SimulatorConfig, *, clock: Clock | None = None) -> Iterator[Record]:
    """The records of ``config``, placed on ``clock``'s now unless ``config.start`` pins them."""
    now = (clock or SystemClock()).now()
    return iter(Simulation(config, plan(config, now)))
