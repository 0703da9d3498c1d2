"""The pure, deterministic generator: a config and a timeline in, Kafka records out.

No I/O and no clock reads: the same config (seed included) and start give the same
bytes, which is what lets tests, benchmarks and the demo replay a story exactly.
Time advances in windows of one heartbeat interval. In each window the sources
spawn their new entities, everything scheduled for the window fires, every online
site beats once, and the window's events go out in time order with their
envelopes, each possibly followed by a record fault.
"""

from __future__ import annotations

import logging
import random
import sys
from collections import Counter
from collections.abc import Iterator
from itertools import islice

import orjson

from ioc.clock import Clock, SystemClock
from ioc.registry import Registry
from simulator.config import ConfigError, FaultConfig, SimulatorConfig, Timeline, plan
from simulator.eoffice import Documents
from simulator.faults import RecordFaults
from simulator.lifecycle import Item, Lifecycles, Outlet, Scheduler, World
from simulator.meetings import Meetings
from simulator.network import Network
from simulator.portal import Applications
from simulator.records import Record
from simulator.rhythm import time_formatter
from sources import EOFFICE_DOCUMENTS, PORTAL_APPLICATIONS, SOURCE_TOPICS, VC_MEETINGS, VC_TELEMETRY

log = logging.getLogger("ioc.simulator")


class Simulation:
    """One run's world and its record stream (iterate it once)."""

    def __init__(self, config: SimulatorConfig, timeline: Timeline) -> None:
        if config.seed is None:
            raise ConfigError("the generator needs a seed (run_simulator and the command pick one)")
        self.config = config
        self.timeline = timeline
        registry = config.the_registry()
        base = f"{config.seed}:{timeline.start_ms}"

        def rng(purpose: str) -> random.Random:
            """One stream per purpose, so a source's traffic does not depend on which others run."""
            return random.Random(f"{base}:{purpose}")  # noqa: S311 (simulation, not security)

        faults = config.faults
        slow = _slow_agencies(registry, faults, rng("slow"))
        if slow:
            log.info("agencies falling behind", extra={"agencies": sorted(slow)})
        self.world = World(
            registry,
            config.volumes,
            config.multiplier,
            f"{rng('tag').getrandbits(24):06x}",
            slow,
            faults.slow_factor,
        )
        topics = set(config.topics)
        self.outlets = {
            t.name: Outlet(
                t.name, config.sources.get(t.source, t.source), rng(f"ids:{t.name}"), enabled=t.name in topics
            )
            for t in SOURCE_TOPICS
        }
        self.scheduler = Scheduler()
        self.interval_ms = config.volumes.heartbeat_interval_s * 1000
        self.network: Network | None = None
        sources: list[Meetings | Documents | Applications] = []
        if topics & {VC_TELEMETRY, VC_MEETINGS}:
            dark = rng("dark")
            self.network = Network(
                registry,
                config.multiplier,
                self.interval_ms,
                self.outlets[VC_TELEMETRY],
                self.scheduler,
                rng("network"),
                dark.random,
            )
            sources.append(
                Meetings(
                    self.world,
                    self.outlets[VC_MEETINGS],
                    rng("meetings"),
                    self.network,
                    dark_site=faults.dark_site,
                    fault_rand=dark.random,
                )
            )
        if EOFFICE_DOCUMENTS in topics:
            sources.append(Documents(self.world, self.outlets[EOFFICE_DOCUMENTS], rng("documents")))
        if PORTAL_APPLICATIONS in topics:
            sources.append(Applications(self.world, self.outlets[PORTAL_APPLICATIONS], rng("applications")))
        disorder = rng("disorder")
        self.lifecycles = [
            Lifecycles(
                source,
                self.scheduler,
                end_ms=timeline.end_ms,
                out_of_order=faults.out_of_order,
                max_disorder_ms=int(faults.max_disorder.total_seconds() * 1000),
                rand=disorder.random,
            )
            for source in sources
        ]
        late_ids = Outlet("late", "late", rng("ids:late"))
        fmt = time_formatter(registry.province.utc_offset_minutes)
        self.faults = RecordFaults(faults, rng("faults"), late_ids, fmt)
        self._fmt = time_formatter(registry.province.utc_offset_minutes)
        self._fault_draw = rng("fault-draws").random

    @property
    def fault_counts(self) -> Counter[str]:
        """Faults made so far, by kind (``malformed.<kind>``, ``duplicate``, ``late``, ``out_of_order``)."""
        counts = Counter(self.faults.counts)
        reordered = sum(lc.reordered for lc in self.lifecycles)
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
        if self.network is not None:
            self.network.plan_window(start, end - start)
        self.scheduler.release(end, items)
        if self.network is not None:
            self.network.heartbeats(start, end, items)
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
