"""Out-of-order delivery of the events a profile makes itself, for the run's share of entities.

The engine reorders the stages of the entities a profile ``spawn``s (the run's ``out_of_order``
fault). A profile that makes its events itself in ``emit`` (a market's traders, the community's
teams) makes its own disorder with a ``Holdback`` (``Holdback.of_run(ctx, rand)``: the run's
share, ``max_disorder`` and end) and exposes its count as ``reordered``, which the run's fault
counts add to the engine's.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Generic, Literal, TypeVar

from ioc.simulation.profile import ProfileContext
from ioc.simulation.world import Payload

Events = list[tuple[int, int, bytes, Payload]]
"""A window's events as made: (arrival ms, occurred ms, key, payload); they differ only for an
event held back."""
S = TypeVar("S")
MIN_HOLD_MS = 1000
"""An event that could be held back less than this (just before the run's end) goes at once."""


class Holdback(Generic[S]):
    """Holds an entity's first event back until the entity's next event, or at most ``max_disorder``.

    For the run's ``share`` of entities, the first event (a trader's onboarding, a team's
    registration) is held back and arrives just after the entity's next event if one comes
    within ``max_disorder_ms`` (``sent``); if none does, it arrives then (``due``), followed by
    two state changes made up for the quiet span (``pair``: offboarded, then onboarded again),
    the later of which arrives first. Occurred times stay as they are; nothing arrives more than
    ``max_disorder_ms`` (shorter than the grace period) after it occurred, so nothing is late;
    nothing is held past the run's end (``end_ms``; None: open-ended).

    Events held till the same ms arrive by key, or (``ties="held"``) in the order they were held.
    An entity's key has one first event.
    """

    def __init__(
        self,
        share: float,
        max_disorder_ms: int,
        end_ms: int | None,
        rand: Callable[[], float],
        *,
        ties: Literal["key", "held"] = "key",
    ) -> None:
        self.share = share
        self.max_disorder_ms = max_disorder_ms
        self.end_ms = end_ms
        self.rand = rand
        self.by_key = ties == "key"
        self.held: dict[bytes, tuple[int, int, Payload, S]] = {}  # key: (occurred, due, event, subject)
        self._due: list[tuple[int, bytes, bytes]] = []  # (due, tie-break, key)
        self._count = 0
        self.reordered = 0
        """Entities delivered out of order so far."""

    @classmethod
    def of_run(
        cls, ctx: ProfileContext, rand: Callable[[], float], *, ties: Literal["key", "held"] = "key"
    ) -> Holdback[S]:
        """The run's out-of-order share, ``max_disorder`` and end; ``rand`` draws from the profile's
        own stream, so its traffic's draws stay as in a clean run."""
        return cls(ctx.fault("out_of_order"), ctx.max_disorder_ms, ctx.end_ms, rand, ties=ties)

    def first(self, subject: S, key: bytes, at: int, payload: Payload, events: Events) -> None:
        """An entity's first event: sent when it occurs or, for the run's share, held back."""
        if self.share and self.rand() < self.share:
            due = at + self.max_disorder_ms
            if self.end_ms is not None:
                due = min(due, self.end_ms - 1)
            if due - at >= MIN_HOLD_MS:
                self.held[key] = (at, due, payload, subject)
                self._count += 1
                tie = key if self.by_key else self._count.to_bytes(8, "big")
                heapq.heappush(self._due, (due, tie, key))
                return
        events.append((at, at, key, payload))

    def sent(self, key: bytes, at: int, events: Events) -> None:
        """An event of ``key`` occurring at ``at`` was just made: a first event held back for it
        arrives just after it."""
        held = self.held.get(key) if self.held else None
        if held is not None and at <= held[1]:
            del self.held[key]
            events.append((at, held[0], key, held[2]))
            self.reordered += 1

    def due(
        self, until_ms: int, events: Events, pair: Callable[[S, Payload], tuple[Payload, Payload]]
    ) -> None:
        """The first events still held whose time is up before ``until_ms``, each with ``pair``'s
        two state changes (the earlier first; given the subject and its held event) in its quiet
        span, the later one arriving first."""
        queue, rand = self._due, self.rand
        while queue and queue[0][0] < until_ms:
            due, _, key = heapq.heappop(queue)
            held = self.held.pop(key, None)
            if held is None:
                continue  # it went with the entity's next event
            at, _, payload, subject = held
            t1 = at + 1 + int((due - at) * (0.1 + 0.4 * rand()))
            t2 = t1 + 1 + int((due - t1 - 1) * (0.1 + 0.8 * rand()))
            earlier, later = pair(subject, payload)
            events += [(due, at, key, payload), (due, t2, key, later), (due, t1, key, earlier)]
            self.reordered += 1
