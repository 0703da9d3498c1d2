"""Route each accepted event to its source's arithmetic and collect the batch's effects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ioc.contributions import Effects
from schemas.wire import Event
from sources import SOURCES


def batch_effects(
    events: Iterable[Event],
    *,
    lookups: Mapping[str, Any] | None = None,
    fast_sums: Any = None,
) -> Effects:
    """The effects of `events`, of what the fast path summed while they were judged
    (`fast_sums`, for the one source that has a fast path), and of what each source's lookups
    found (`lookups`, by source name)."""
    lookups = lookups or {}
    arithmetic = {
        s.name: s.arithmetic(lookups.get(s.name), fast_sums if s.fast_path is not None else None)
        for s in SOURCES.all
    }
    source_of = SOURCES.source_of_type
    fx = Effects()
    for i, e in enumerate(events):
        arithmetic[source_of[e.type].name].event(e, 2 * i + 1, fx)
    for a in arithmetic.values():
        a.flush(fx)
    return fx
