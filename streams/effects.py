"""Route each accepted event to its source's arithmetic and collect the batch's effects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ioc.contributions import Effects
from ioc.sources import Arithmetic
from schemas.wire import Event
from sources import SOURCES


def batch_effects(
    events: Iterable[Event],
    *,
    lookups: Mapping[str, Any] | None = None,
    fast_sums: Any = None,
) -> Effects:
    """The effects of `events`, of what the fast path summed while they were judged
    (`fast_sums`), and of what each source's lookups found (`lookups`, by source name)."""
    lookups = lookups or {}
    fast = SOURCES.fast_path
    arithmetic: dict[str, Arithmetic] = {}
    by_type: dict[str, Arithmetic] = {}
    for source in SOURCES.all:
        sums = fast_sums if source.fast_path is not None and source.fast_path is fast else None
        arithmetic[source.name] = a = source.arithmetic(lookups.get(source.name), sums)
        for topic in source.topics:
            for type_name in topic.types:
                by_type[type_name] = a
    fx = Effects()
    for i, e in enumerate(events):
        by_type[e.type].event(e, 2 * i + 1, fx)
    for a in arithmetic.values():
        a.flush(fx)
    return fx
