"""The engine's schedule of future events and the life-cycle runner every profile's entities go through.

A profile (``sources/<name>/simulator.py``) only says when entities appear, what their
stages are and what each stage's event says; ``Lifecycles`` here schedules the stages,
builds the events lazily (memory stays small at national scale) and, on demand,
delivers one stage out of order. One ``Scheduler`` serves the whole run, so the order
of events with the same time is fixed by the order they were scheduled in.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from ioc.simulation import Entity, Handler, Item, Profile


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


class Lifecycles:
    """Runs one profile's entities through their stages, with out-of-order delivery on demand.

    Out of order: for the requested share of entities one stage is held back and sent
    just after the next one. The two must be at most ``max_disorder_ms`` apart, so that
    the pipeline's grace period covers the straggler; an entity with no such pair has
    its next stage brought forward (a document processed within the hour), which keeps
    the share exact for every source.
    """

    def __init__(
        self,
        source: Profile,
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
