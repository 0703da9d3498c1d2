"""The wire contract's topic names, their event types and their record keys.

Everything that routes, validates or simulates events starts from this table, so
adding a topic or an event type is a change in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

VC_TELEMETRY = "ioc.vc.telemetry"
VC_MEETINGS = "ioc.vc.meetings"
EOFFICE_DOCUMENTS = "ioc.eoffice.documents"
PORTAL_APPLICATIONS = "ioc.portal.applications"
DEADLETTER = "ioc.deadletter"


@dataclass(frozen=True, slots=True)
class SourceTopic:
    """A source topic: its name, the event types it may carry, and the entity-id field that is its key."""

    name: str
    source: str
    key_field: str
    types: tuple[str, ...]


SOURCE_TOPICS: tuple[SourceTopic, ...] = (
    SourceTopic(VC_TELEMETRY, "vc", "endpoint_id", ("vc.heartbeat", "vc.status")),
    SourceTopic(VC_MEETINGS, "vc", "meeting_id", ("vc.meeting.started", "vc.meeting.ended")),
    SourceTopic(EOFFICE_DOCUMENTS, "eoffice", "document_id", ("document.received", "document.processed")),
    SourceTopic(
        PORTAL_APPLICATIONS,
        "portal",
        "application_id",
        ("application.submitted", "application.resolved", "application.paid", "application.rated"),
    ),
)

BY_NAME: dict[str, SourceTopic] = {t.name: t for t in SOURCE_TOPICS}
SOURCE_TOPIC_NAMES: tuple[str, ...] = tuple(t.name for t in SOURCE_TOPICS)
ALL_TOPIC_NAMES: tuple[str, ...] = (*SOURCE_TOPIC_NAMES, DEADLETTER)

SCHEMA_VERSION = 1
MAX_VALUE_BYTES = 64 * 1024
