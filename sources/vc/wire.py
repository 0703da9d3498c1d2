"""This source's events as the pipeline carries them: msgspec Structs (schemas/wire.py says why).

Each Struct has the same fields and bounds as its model in `events.py`; tests/unit/test_wire.py
holds the two together.
"""

from __future__ import annotations

from typing import ClassVar, Literal, TypeAlias

from schemas.wire import Envelope, NonNegative, Percent

SiteLevel: TypeAlias = Literal["province", "department", "district", "commune"]
EndpointStatus: TypeAlias = Literal["online", "degraded", "offline"]


# --- ioc.vc.telemetry ------------------------------------------------------------


class VcHeartbeat(Envelope, tag="vc.heartbeat", kw_only=True, gc=False):
    type: ClassVar[str] = "vc.heartbeat"
    endpoint_id: str
    site_level: SiteLevel
    district: str
    in_meeting: bool
    rtt_ms: NonNegative
    jitter_ms: NonNegative
    packet_loss_pct: Percent
    bitrate_kbps: NonNegative


class VcStatus(Envelope, tag="vc.status", kw_only=True, gc=False):
    type: ClassVar[str] = "vc.status"
    endpoint_id: str
    site_level: SiteLevel
    district: str
    status: EndpointStatus
    reason: str | None = None


# --- ioc.vc.meetings -------------------------------------------------------------


class VcMeetingStarted(Envelope, tag="vc.meeting.started", kw_only=True, gc=False):
    type: ClassVar[str] = "vc.meeting.started"
    meeting_id: str
    title: str
    organiser: str
    planned_endpoints: list[str]


class VcMeetingEnded(Envelope, tag="vc.meeting.ended", kw_only=True, gc=False):
    type: ClassVar[str] = "vc.meeting.ended"
    meeting_id: str
