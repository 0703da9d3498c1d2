"""What video-conference events change: heartbeat KPIs, endpoint presence and state, meetings.

Heartbeats are most of the country's events (every endpoint, every 10 s), so `Telemetry` sums
them per minute and dimensions over the whole batch and hands `Effects` one contribution per
row at the end, instead of four per event.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ioc.kpi import blocks as b
from ioc.kpi.sketch import bin_of
from schemas.wire import VcHeartbeat, VcMeetingEnded, VcMeetingStarted, VcStatus
from streams.aggregate import Dims, Effects


class _Minute:
    """One minute's heartbeats under one (district, site_level)."""

    __slots__ = ("count", "jitter", "loss", "rtt_bins")

    def __init__(self) -> None:
        self.count = 0.0
        self.jitter = 0.0
        self.loss = 0.0
        self.rtt_bins: dict[int, float] = {}


class Telemetry:
    """The batch's ioc.vc.telemetry handlers: heartbeats summed per minute, endpoints' latest state.

    Minutes are keyed as integers (unix minutes) while the batch is summed: an aware
    datetime is costly to hash and to truncate, and each heartbeat would make two. They
    become datetimes once per row, in `flush`.
    """

    def __init__(self) -> None:
        self._minutes: dict[tuple[int, str, str], _Minute] = {}
        # (endpoint_id, unix hour) -> [district, site_level, minute bits]; the last event's district
        self._presence: dict[tuple[str, int], list[Any]] = {}
        # endpoint_id -> (district, site_level, last_event_at, last_offline)
        self._latest: dict[str, tuple[str, str, datetime, bool]] = {}

    def heartbeat(self, e: VcHeartbeat, fx: Effects) -> None:
        at = e.occurred_at
        minute = (at - _EPOCH) // _MINUTE  # exact, and floored before 1970 too
        district, level = e.district, e.site_level
        acc = self._minutes.get((minute, district, level))
        if acc is None:
            acc = self._minutes[(minute, district, level)] = _Minute()
        acc.count += 1.0
        acc.jitter += e.jitter_ms
        acc.loss += e.packet_loss_pct
        bins = acc.rtt_bins
        rtt_bin = bin_of(e.rtt_ms)
        bins[rtt_bin] = bins.get(rtt_bin, 0.0) + 1.0
        present = self._presence.get((e.endpoint_id, minute // 60))
        if present is None:
            self._presence[(e.endpoint_id, minute // 60)] = [district, level, 1 << (minute % 60)]
        else:
            present[0], present[1], present[2] = district, level, present[2] | 1 << (minute % 60)
        latest = self._latest.get(e.endpoint_id)
        if latest is None or at >= latest[2]:
            self._latest[e.endpoint_id] = (district, level, at, False)

    def status(self, e: VcStatus, fx: Effects) -> None:
        fx.seen(e.type, (e.district, e.site_level, "", ""))
        latest = self._latest.get(e.endpoint_id)
        if latest is None or e.occurred_at >= latest[2]:  # a tie goes to the later arrival
            self._latest[e.endpoint_id] = (e.district, e.site_level, e.occurred_at, e.status == "offline")

    def flush(self, fx: Effects) -> None:
        """Hand the batch's sums, presence and endpoint rows to `fx`."""
        for (minute, district, level), acc in self._minutes.items():
            at = _instant(minute * 60)
            dims: Dims = (district, level, "", "")
            fx.add(b.VC_HEARTBEATS, at, dims, acc.count)
            fx.add(b.VC_JITTER_SUM, at, dims, acc.jitter)
            fx.add(b.VC_LOSS_SUM, at, dims, acc.loss)
            fx.observe_bins(b.VC_RTT, at, dims, acc.rtt_bins)
        for (endpoint_id, hour), (district, level, bits) in self._presence.items():
            fx.present_bits(endpoint_id, _instant(hour * 3600), district, level, bits)
        for endpoint_id, (district, level, at, offline) in self._latest.items():
            fx.entity("vc_endpoints", endpoint_id).update(
                district=district, site_level=level, last_event_at=at, last_offline=offline
            )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)


def _instant(unix_seconds: int) -> datetime:
    return datetime.fromtimestamp(unix_seconds, UTC)


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


def meeting_ended(e: VcMeetingEnded, fx: Effects) -> None:
    fx.entity("vc_meetings", e.meeting_id)["ended_at"] = e.occurred_at
