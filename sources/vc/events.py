"""The contract's models of this source's events (contract/EVENTS.md): the judge of bad input.

Strict pydantic models, one per event type; schemas/events.py says why they are strict and
how the cross-field rule is reported.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from schemas.events import Envelope, NonNegative, Percent

SiteLevel: TypeAlias = Literal["province", "department", "district", "commune"]
EndpointStatus: TypeAlias = Literal["online", "degraded", "offline"]


# --- ioc.vc.telemetry ------------------------------------------------------------


class _EndpointFields(Envelope):
    endpoint_id: str
    site_level: SiteLevel
    district: str


class VcHeartbeat(_EndpointFields):
    """Sent every 10 s by a reachable conference endpoint."""

    type: Literal["vc.heartbeat"]
    in_meeting: bool
    rtt_ms: NonNegative
    jitter_ms: NonNegative
    packet_loss_pct: Percent
    bitrate_kbps: NonNegative


class VcStatus(_EndpointFields):
    """A conference endpoint's state change."""

    type: Literal["vc.status"]
    status: EndpointStatus
    # Optional in the contract; an explicit ``null`` is read as absent.
    reason: str | None = None


# --- ioc.vc.meetings -------------------------------------------------------------


class VcMeetingStarted(Envelope):
    """A video conference began."""

    type: Literal["vc.meeting.started"]
    meeting_id: str
    title: str
    organiser: str
    planned_endpoints: list[str]


class VcMeetingEnded(Envelope):
    """A video conference ended."""

    type: Literal["vc.meeting.ended"]
    meeting_id: str
