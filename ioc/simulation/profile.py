"""The contract between a source's simulator profile and the simulator that runs it.

A source sets ``Source(simulator=profiles)``: a ``ProfileFactory`` the simulator calls once
per run (only when the run asks for one of the source's topics) with a ``ProfileContext``,
and which returns the source's ``Profile``s. The simulator then asks every profile of every
source, in registry order, the same questions each window of the run (one heartbeat
interval):

1. ``spawn``: the entities (life-cycles) that appear in the window; the simulator schedules
   their stages and has ``body`` fill in each stage's event when it is due;
2. ``plan``: anything else that begins in the window (a link failing), put on the schedule;
3. the schedule fires whatever is due in the window;
4. ``emit``: the window's periodic events (heartbeats), appended as they are.

Defaults (volumes, the envelope's ``source``) are the profile's own data; the run may
override them by the source's name, without the simulator knowing what they mean.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from ioc.simulation.world import Entity, Item, Outlet, Payload, World


class Handler(Protocol):
    def fire(
        self, emit_ms: int, seq: int, occurred_ms: int, subject: Any, stage: int, out: list[Item]
    ) -> None:
        """A scheduled moment has come: change state and/or append events to ``out``."""


class Schedule(Protocol):
    """The run's one schedule of future moments, shared by every source (so ties break the same)."""

    def at(self, emit_ms: int, occurred_ms: int, handler: Handler, subject: Any, stage: int = 0) -> None:
        """Fire ``handler`` at ``emit_ms``; ``occurred_ms`` differs only for events held back."""

    def reserve(self, n: int) -> int:
        """``n`` consecutive tie-break numbers for items made outside the schedule (heartbeats)."""


class Profile(Protocol):
    """One part of a source's traffic (the network's heartbeats, its meetings, ...).

    Optionally, ``reordered: int``: a profile that delivers some of the events it makes itself
    out of order (``ioc.simulation.disorder``; the engine reorders only the stages of spawned
    entities) says how many entities so far, and the run's fault counts add it to the engine's
    under ``out_of_order``.
    """

    outlet: Outlet

    def spawn(self, start_ms: int, span_ms: int) -> Iterable[Entity]:
        """Entities that appear in the window, their stages planned."""

    def body(self, entity: Any, type_name: str) -> Payload:
        """The event-specific fields of one stage's event of an entity ``spawn`` made."""

    def plan(self, start_ms: int, span_ms: int) -> None:
        """Schedule what else begins in the window (after every profile has spawned)."""

    def emit(self, start_ms: int, end_ms: int, out: list[Item]) -> None:
        """Append the window's periodic events (after the schedule has fired)."""

    def events_per_day(self) -> float:
        """About how many events a day this sends at the run's scale, averaged over a week
        (0 when its outlet is off): what a run asked for a number of events is sized by."""


class EntityProfile:
    """Base of a profile whose events are all stages of entities: nothing else to plan or emit."""

    def plan(self, start_ms: int, span_ms: int) -> None:
        """Nothing begins but entities."""

    def emit(self, start_ms: int, end_ms: int, out: list[Item]) -> None:
        """No periodic events."""


class ProfileContext(Protocol):
    """What the simulator hands a source's factory for one run."""

    @property
    def world(self) -> World:
        """The registry, scale, local time, id minting and slow agencies every source shares."""

    @property
    def schedule(self) -> Schedule: ...

    @property
    def interval_ms(self) -> int:
        """The window: one heartbeat interval."""

    def rng(self, purpose: str) -> random.Random:
        """The random stream for ``purpose``, from the run's seed and start; one per purpose in the
        whole run (a name used twice is refused), so a source's traffic does not depend on which
        others run. A new source prefixes its purposes with its name."""

    def outlet(self, topic: str, source: str) -> Outlet:
        """The outlet of one of the source's topics; ``source`` is the envelope's default, which
        the run may override by the source's name. It is off when the run did not ask for it."""

    def volumes(self, defaults: Mapping[str, float]) -> dict[str, float]:
        """The source's volume settings for this run: ``defaults`` with the run's overrides for
        the source on top (an override of a setting not in ``defaults`` is refused)."""

    def fault(self, name: str) -> float:
        """The share the run asked of a fault the source makes itself (``dark_site``), 0 if none."""

    @property
    def max_disorder_ms(self) -> int:
        """The run's ``max_disorder``: how late an event delivered out of order may arrive after
        it occurred (``ioc.simulation.disorder``), shorter than the pipeline's grace period."""

    @property
    def end_ms(self) -> int | None:
        """When the run's event time ends (ms, exclusive); None when it is open-ended (live)."""


ProfileFactory = Callable[[ProfileContext], Sequence[Profile]]
"""What ``Source.simulator`` holds: a run's context in, the source's profiles out."""
