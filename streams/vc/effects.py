"""What video-conference events change: heartbeat KPIs, endpoint presence and state, meetings.

Heartbeats are most of the country's events (every endpoint, every 10 s), so `Telemetry` sums
them per minute and dimensions over the whole batch and hands `Effects` one contribution per
row at the end, instead of four per event.
"""

from __future__ import annotations

from datetime import datetime

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
    """The batch's ioc.vc.telemetry handlers: heartbeats summed per minute, endpoints' latest state."""

    def __init__(self) -> None:
        self._minutes: dict[tuple[datetime, str, str], _Minute] = {}
        # endpoint_id -> (district, site_level, last_event_at, last_offline)
        self._latest: dict[str, tuple[str, str, datetime, bool]] = {}

    def heartbeat(self, e: VcHeartbeat, fx: Effects) -> None:
        at = e.occurred_at
        key = (at.replace(second=0, microsecond=0), e.district, e.site_level)
        acc = self._minutes.get(key)
        if acc is None:
            acc = self._minutes[key] = _Minute()
        acc.count += 1.0
        acc.jitter += e.jitter_ms
        acc.loss += e.packet_loss_pct
        bins = acc.rtt_bins
        rtt_bin = bin_of(e.rtt_ms)
        bins[rtt_bin] = bins.get(rtt_bin, 0.0) + 1.0
        fx.present(e.endpoint_id, at, e.district, e.site_level)
        self._keep_latest(e.endpoint_id, e.district, e.site_level, at, offline=False)

    def status(self, e: VcStatus, fx: Effects) -> None:
        fx.seen(e.type, (e.district, e.site_level, "", ""))
        self._keep_latest(
            e.endpoint_id, e.district, e.site_level, e.occurred_at, offline=e.status == "offline"
        )

    def _keep_latest(
        self, endpoint_id: str, district: str, level: str, at: datetime, *, offline: bool
    ) -> None:
        """Keep the endpoint's latest event by event time (a tie goes to the later arrival)."""
        row = self._latest.get(endpoint_id)
        if row is None or at >= row[2]:
            self._latest[endpoint_id] = (district, level, at, offline)

    def flush(self, fx: Effects) -> None:
        """Hand the batch's sums and endpoint rows to `fx`."""
        for (minute, district, level), acc in self._minutes.items():
            dims: Dims = (district, level, "", "")
            fx.add(b.VC_HEARTBEATS, minute, dims, acc.count)
            fx.add(b.VC_JITTER_SUM, minute, dims, acc.jitter)
            fx.add(b.VC_LOSS_SUM, minute, dims, acc.loss)
            fx.observe_bins(b.VC_RTT, minute, dims, acc.rtt_bins)
        for endpoint_id, (district, level, at, offline) in self._latest.items():
            fx.entity("vc_endpoints", endpoint_id).update(
                district=district, site_level=level, last_event_at=at, last_offline=offline
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


def meeting_ended(e: VcMeetingEnded, fx: Effects) -> None:
    fx.entity("vc_meetings", e.meeting_id)["ended_at"] = e.occurred_at
