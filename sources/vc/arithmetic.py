"""What video-conference events change: heartbeat KPIs, endpoint presence and state, meetings.

Heartbeats are most of the country's events (every endpoint, every 10 s), so they are summed
per minute and dimensions as they are accepted, mostly in C (sources/vc/fastpath.pyx,
`HeartbeatSums`), and `Telemetry` hands `Effects` one contribution per row at the end, instead
of four per event. Pure: events in, contributions out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ioc.clock import from_micros, micros
from ioc.contributions import Dims, Effects, dims_of
from sources.vc import kpis as k
from sources.vc.fastpath import HeartbeatSums
from sources.vc.wire import VcHeartbeat, VcMeetingEnded, VcMeetingStarted, VcStatus

PRESENCE = "vc.presence"
"""The batch's presence bits: (endpoint_id, hour) -> [district, site_level, minute bits]."""

Presence = dict[tuple[str, datetime], list[Any]]


class Telemetry:
    """The batch's video-conference events: heartbeats summed per minute, endpoints' latest
    state, meetings.

    `order` is an event's place among the batch's events (`2 * i + 1` for the i-th of
    `BatchResult.events`; a heartbeat summed while `2 * k` events were in it gets `2 * k`), so
    that of a heartbeat and a status with the same time, the later arrival wins.

    Statuses are kept apart from `sums` (a batch's, read again if its write is built twice)
    and merged with its latest states in `flush`.
    """

    def __init__(self, lookups: object = None, sums: HeartbeatSums | None = None) -> None:
        self.sums = sums if sums is not None else HeartbeatSums()
        # endpoint_id -> (district, site_level, occurred_at in unix µs, offline, order)
        self._statuses: dict[str, tuple[str, str, int, bool, int]] = {}

    def event(self, e: Any, order: int, fx: Effects) -> None:
        if isinstance(e, VcHeartbeat):
            add_heartbeat(self.sums, e, order)
        elif isinstance(e, VcStatus):
            self.status(e, order, fx)
        elif isinstance(e, VcMeetingStarted):
            meeting_started(e, fx)
        elif isinstance(e, VcMeetingEnded):
            fx.entity("vc_meetings", e.meeting_id)["ended_at"] = e.occurred_at

    def status(self, e: VcStatus, order: int, fx: Effects) -> None:
        fx.seen(e.type, dims_of(district=e.district, site_level=e.site_level))
        at_us = micros(e.occurred_at)
        latest = self._statuses.get(e.endpoint_id)
        if latest is None or (at_us, order) >= (latest[2], latest[4]):
            self._statuses[e.endpoint_id] = (e.district, e.site_level, at_us, e.status == "offline", order)

    def flush(self, fx: Effects) -> None:
        """Hand the batch's sums, presence and endpoint rows to `fx`."""
        sums = self.sums
        for (minute, district, level), acc in sums.minutes.items():
            at = from_micros(minute * 60_000_000)
            dims: Dims = dims_of(district=district, site_level=level)
            fx.add(k.HEARTBEATS, at, dims, acc.count)
            fx.add(k.JITTER_SUM, at, dims, acc.jitter)
            fx.add(k.LOSS_SUM, at, dims, acc.loss)
            fx.observe_bins(k.RTT, at, dims, acc.rtt_bins)
        presence = fx.part(PRESENCE, Presence)
        for (endpoint_id, hour), (district, level, bits) in sums.presence.items():
            key = (endpoint_id, from_micros(hour * 3_600_000_000))
            row = presence.get(key)
            if row is None:
                presence[key] = [district, level, bits]
            else:
                row[0], row[1], row[2] = district, level, row[2] | bits
        latest = dict(sums.latest)
        for endpoint_id, status in self._statuses.items():
            beat = latest.get(endpoint_id)
            if beat is None or (status[2], status[4]) >= (beat[2], beat[4]):
                latest[endpoint_id] = status
        for endpoint_id, (district, level, at_us, offline, _) in latest.items():
            fx.entity("vc_endpoints", endpoint_id).update(
                district=district, site_level=level, last_event_at=from_micros(at_us), last_offline=offline
            )


def add_heartbeat(sums: HeartbeatSums, e: VcHeartbeat, order: int) -> None:
    """Sum a heartbeat decoded by the Python path with those the native path sums itself."""
    sums.add(
        e.endpoint_id,
        e.district,
        e.site_level,
        micros(e.occurred_at),
        e.jitter_ms,
        e.packet_loss_pct,
        e.rtt_ms,
        order,
    )


def meeting_started(e: VcMeetingStarted, fx: Effects) -> None:
    """The latest start (by event time) gives the meeting's start and planned endpoints."""
    row = fx.entity("vc_meetings", e.meeting_id)
    if row.get("started_at") is None or e.occurred_at >= row["started_at"]:
        row.update(
            started_at=e.occurred_at,
            organiser=e.organiser,
            title=e.title,
            planned_endpoints=list(dict.fromkeys(e.planned_endpoints)),
        )
