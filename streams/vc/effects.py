"""What video-conference events change: heartbeat KPIs, endpoint presence and state, meetings."""

from __future__ import annotations

from ioc.kpi import blocks as b
from schemas.events import VcHeartbeat, VcMeetingEnded, VcMeetingStarted, VcStatus
from streams.aggregate import Effects


def heartbeat(e: VcHeartbeat, fx: Effects) -> None:
    dims = (e.district, e.site_level, "", "")
    at = e.occurred_at
    fx.add(b.VC_HEARTBEATS, at, dims)
    fx.add(b.VC_JITTER_SUM, at, dims, e.jitter_ms)
    fx.add(b.VC_LOSS_SUM, at, dims, e.packet_loss_pct)
    fx.observe(b.VC_RTT, at, dims, e.rtt_ms)
    fx.present(e.endpoint_id, at, e.district, e.site_level)
    _latest(fx, e, offline=False)


def status(e: VcStatus, fx: Effects) -> None:
    fx.seen(e.type, (e.district, e.site_level, "", ""))
    _latest(fx, e, offline=e.status == "offline")


def _latest(fx: Effects, e: VcHeartbeat | VcStatus, *, offline: bool) -> None:
    """Keep the endpoint's latest event by event time (a tie goes to the later arrival)."""
    row = fx.entity("vc_endpoints", e.endpoint_id)
    if not row or e.occurred_at >= row["last_event_at"]:
        row.update(
            district=e.district,
            site_level=e.site_level,
            last_event_at=e.occurred_at,
            last_offline=offline,
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
