"""Route each accepted event to its source's handler and collect the batch's effects (pure)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from schemas import wire as ev
from streams.aggregate import Effects, Pending
from streams.eoffice import effects as eoffice
from streams.ingest.fastpath import HeartbeatSums
from streams.portal.effects import AppDims, PortalEffects, move_held
from streams.vc import effects as vc


def batch_effects(
    events: Iterable[ev.Event],
    *,
    known_applications: Mapping[str, AppDims],
    held: Iterable[Pending] = (),
    submitted_now: Mapping[str, AppDims] | None = None,
    heartbeats: HeartbeatSums | None = None,
) -> Effects:
    """The effects of `events` and of the `heartbeats` summed while they were judged, with
    earlier-held portal contributions moved where now known."""
    portal = PortalEffects(known_applications)
    telemetry = vc.Telemetry(heartbeats)
    handlers: dict[type[Any], Callable[[Any, Effects], None]] = {
        ev.VcMeetingStarted: vc.meeting_started,
        ev.VcMeetingEnded: vc.meeting_ended,
        ev.DocumentReceived: eoffice.received,
        ev.DocumentProcessed: eoffice.processed,
        ev.ApplicationSubmitted: portal.submitted,
        ev.ApplicationResolved: portal.resolved,
        ev.ApplicationPaid: portal.paid,
        ev.ApplicationRated: portal.rated,
    }
    fx = Effects()
    for i, e in enumerate(events):
        if isinstance(e, ev.VcHeartbeat):
            telemetry.heartbeat(e, 2 * i + 1)
        elif isinstance(e, ev.VcStatus):
            telemetry.status(e, 2 * i + 1, fx)
        else:
            handlers[type(e)](e, fx)
    telemetry.flush(fx)
    move_held(held, submitted_now or {}, fx)
    return fx
