"""Contract-valid events for every event type, for any test (and the decode benchmark).

Events are plain JSON-ready dicts in wire form (timestamps as RFC 3339 strings),
because most tests want to break them before encoding. ``FIELD_KINDS`` is the
contract's field table (shared/contract/EVENTS.md) transcribed by hand, so tests
can check the models against the contract rather than against themselves.

    event = valid_event("vc.heartbeat", rtt_ms=12.5)
    topic, key, value = topic_of("vc.heartbeat"), key_of(event), encode(event)
    valid_event("vc.status", reason=DROP)  # DROP removes a field
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

import orjson
from hypothesis import strategies as st

from schemas.topics import SCHEMA_VERSION
from sources import SOURCE_TOPICS

ICT: Final = timezone(timedelta(hours=7), "ICT")
"""The province's offset: sources send ``+07:00``."""

BASE_TIME: Final = datetime(2025, 3, 3, 9, 30, tzinfo=ICT)
"""Default ``occurred_at``: a fixed Monday morning, so tests are reproducible."""

EVENT_TYPES: Final[tuple[str, ...]] = tuple(t for topic in SOURCE_TOPICS for t in topic.types)
_TOPIC: Final = {t: topic for topic in SOURCE_TOPICS for t in topic.types}

ENVELOPE_KINDS: Final[dict[str, str]] = {
    "event_id": "string",
    "type": "string",
    "occurred_at": "timestamp",
    "source": "string",
    "schema_version": "integer",
}
_ENDPOINT: Final = {"endpoint_id": "string", "site_level": "enum", "district": "string"}
_MERCHANT: Final = {
    "merchant_id": "string",
    "market": "string",
    "district": "string",
    "commune": "string",
    "provider": "enum",
}

FIELD_KINDS: Final[dict[str, dict[str, str]]] = {
    "vc.heartbeat": {
        **_ENDPOINT,
        "in_meeting": "boolean",
        "rtt_ms": "number",
        "jitter_ms": "number",
        "packet_loss_pct": "number",
        "bitrate_kbps": "number",
    },
    "vc.status": {**_ENDPOINT, "status": "enum", "reason": "optional string"},
    "vc.meeting.started": {
        "meeting_id": "string",
        "title": "string",
        "organiser": "string",
        "planned_endpoints": "string array",
    },
    "vc.meeting.ended": {"meeting_id": "string"},
    "document.received": {
        "document_id": "string",
        "agency": "string",
        "direction": "enum",
        "urgency": "enum",
        "due_at": "timestamp",
    },
    "document.processed": {
        "document_id": "string",
        "agency": "string",
        "received_at": "timestamp",
        "due_at": "timestamp",
        "digitally_signed": "boolean",
    },
    "application.submitted": {
        "application_id": "string",
        "service_code": "string",
        "service_level": "integer",
        "agency": "string",
        "district": "string",
        "channel": "enum",
        "due_at": "timestamp",
    },
    "application.resolved": {
        "application_id": "string",
        "service_code": "string",
        "agency": "string",
        "district": "string",
        "submitted_at": "timestamp",
        "due_at": "timestamp",
        "outcome": "enum",
    },
    "application.paid": {"application_id": "string", "amount_vnd": "integer", "method": "enum"},
    "application.rated": {"application_id": "string", "score": "integer"},
    "merchant.onboarded": {**_MERCHANT},
    "merchant.offboarded": {**_MERCHANT},
    "payment.completed": {"payment_id": "string", **_MERCHANT, "amount_vnd": "integer"},
    "team.registered": {
        "team_id": "string",
        "level": "enum",
        "district": "string",
        "commune": "string",
        "members": "integer",
    },
    "team.members_changed": {
        "team_id": "string",
        "district": "string",
        "commune": "string",
        "members": "integer",
    },
    "activity.reported": {
        "activity_id": "string",
        "team_id": "string",
        "district": "string",
        "commune": "string",
        "kind": "enum",
        "citizens_helped": "integer",
        "hours": "number",
    },
}
"""Per type, its own fields (the envelope's are in ``ENVELOPE_KINDS``) and their JSON kind."""

ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "site_level": ("province", "department", "district", "commune"),
    "status": ("online", "degraded", "offline"),
    "direction": ("incoming", "outgoing"),
    "urgency": ("normal", "urgent", "express"),
    "channel": ("online", "counter", "postal"),
    "outcome": ("approved", "rejected"),
    "method": ("cashless", "cash"),
    "provider": ("vnpt_money", "viettel_money", "bank_qr", "other"),
    "level": ("commune", "village"),
    "kind": ("account_setup", "app_install", "online_service_help", "cashless_help", "training"),
}

START_FIELDS: Final[dict[str, str]] = {
    "document.processed": "received_at",
    "application.resolved": "submitted_at",
}
"""Types whose ``occurred_at`` is an end that may not precede this start field."""


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Final = _Drop()
"""Override value that removes the field from the event."""

_serial = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Rec:
    """A consumed record as `streams.admit.admit` reads it (aiokafka's ConsumerRecord)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def topic_of(type_name: str) -> str:
    """The source topic that carries ``type_name``."""
    return _TOPIC[type_name].name


def key_field_of(type_name: str) -> str:
    """The field whose value is the record key for ``type_name``."""
    return _TOPIC[type_name].key_field


def rfc3339(moment: datetime) -> str:
    """Wire form of a timestamp (naive datetimes stay naive, i.e. invalid on the wire)."""
    return moment.isoformat()


def valid_event(type_name: str, **overrides: Any) -> dict[str, Any]:
    """A contract-valid event of ``type_name`` as a JSON-ready dict, with ``overrides`` applied.

    Datetime overrides are written as RFC 3339. Start and due times default
    relative to ``occurred_at`` (override it alone and the event stays valid).
    Each call gets a fresh ``event_id`` and entity id unless overridden.
    """
    if type_name not in FIELD_KINDS:
        raise ValueError(f"unknown event type {type_name!r}; one of {EVENT_TYPES}")
    values = {k: rfc3339(v) if isinstance(v, datetime) else v for k, v in overrides.items()}
    occurred = _moment(values.get("occurred_at"), BASE_TIME)
    n = next(_serial)
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "type": type_name,
        "occurred_at": rfc3339(occurred),
        "source": _SOURCE[type_name],
        "schema_version": SCHEMA_VERSION,
        **_body(type_name, n, occurred),
    }
    for name, value in values.items():
        if value is DROP:
            event.pop(name, None)
        else:
            event[name] = value
    return event


def key_of(event: Mapping[str, Any], type_name: str | None = None) -> bytes:
    """The record key the contract expects for ``event`` (its entity id, UTF-8).

    Pass ``type_name`` when the event's own ``type`` has been broken on purpose.
    """
    return str(event[key_field_of(type_name or event["type"])]).encode()


def encode(event: Mapping[str, Any]) -> bytes:
    """Record value bytes of ``event`` (compact JSON, as the sources send)."""
    return orjson.dumps(event)


def record(type_name: str, **overrides: Any) -> tuple[str, bytes, bytes]:
    """``(topic, key, value)`` of a valid record, ready for ``decode(*record(...))``."""
    event = valid_event(type_name, **overrides)
    return topic_of(type_name), key_of(event), encode(event)


_SOURCE: Final = {
    "vc.heartbeat": "vc-mcu-1",
    "vc.status": "vc-mcu-1",
    "vc.meeting.started": "vc-mcu-1",
    "vc.meeting.ended": "vc-mcu-1",
    "document.received": "eoffice",
    "document.processed": "eoffice",
    "application.submitted": "dvc-portal",
    "application.resolved": "dvc-portal",
    "application.paid": "dvc-portal",
    "application.rated": "dvc-portal",
    "merchant.onboarded": "vnpt-money",
    "merchant.offboarded": "vnpt-money",
    "payment.completed": "vnpt-money",
    "team.registered": "cns-community",
    "team.members_changed": "cns-community",
    "activity.reported": "cns-community",
}


def _moment(value: Any, default: datetime) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return default
        return parsed if parsed.tzinfo is not None else default
    return default


def _body(type_name: str, n: int, occurred: datetime) -> dict[str, Any]:
    endpoint = {"endpoint_id": f"TQ-YS-{n:03d}", "site_level": "commune", "district": "YEN_SON"}
    market = {"market": "CHO_YEN_SON", "district": "YEN_SON", "commune": "YS-001", "provider": "vnpt_money"}
    team = {"team_id": f"CT-YS-{n:04d}", "district": "YEN_SON", "commune": "YS-001"}
    start = rfc3339(occurred - timedelta(days=1))
    due = rfc3339(occurred + timedelta(days=2))
    match type_name:
        case "vc.heartbeat":
            return {
                **endpoint,
                "in_meeting": True,
                "rtt_ms": 42.5,
                "jitter_ms": 3.2,
                "packet_loss_pct": 0.4,
                "bitrate_kbps": 1536,
            }
        case "vc.status":
            return {**endpoint, "status": "degraded", "reason": "packet loss above 5 %"}
        case "vc.meeting.started":
            return {
                "meeting_id": f"MT-{n:05d}",
                "title": "Giao ban trực tuyến tuần",
                "organiser": "UBND_TINH",
                "planned_endpoints": ["TQ-PR-001", "TQ-YS-001", "TQ-HY-002"],
            }
        case "vc.meeting.ended":
            return {"meeting_id": f"MT-{n:05d}"}
        case "document.received":
            return {
                "document_id": f"VB-{n:06d}",
                "agency": "SO_TTTT",
                "direction": "incoming",
                "urgency": "normal",
                "due_at": due,
            }
        case "document.processed":
            return {
                "document_id": f"VB-{n:06d}",
                "agency": "SO_TTTT",
                "received_at": start,
                "due_at": due,
                "digitally_signed": True,
            }
        case "application.submitted":
            return {
                "application_id": f"HS-{n:07d}",
                "service_code": "1.001234",
                "service_level": 4,
                "agency": "UBND_YEN_SON",
                "district": "YEN_SON",
                "channel": "online",
                "due_at": due,
            }
        case "application.resolved":
            return {
                "application_id": f"HS-{n:07d}",
                "service_code": "1.001234",
                "agency": "UBND_YEN_SON",
                "district": "YEN_SON",
                "submitted_at": start,
                "due_at": due,
                "outcome": "approved",
            }
        case "application.paid":
            return {"application_id": f"HS-{n:07d}", "amount_vnd": 50_000, "method": "cashless"}
        case "application.rated":
            return {"application_id": f"HS-{n:07d}", "score": 5}
        case "merchant.onboarded" | "merchant.offboarded":
            return {"merchant_id": f"MK-YS-{n:04d}", **market}
        case "payment.completed":
            return {
                "payment_id": f"TT-{n:08d}",
                "merchant_id": f"MK-YS-{n:04d}",
                **market,
                "amount_vnd": 85_000,
            }
        case "team.registered":
            return {**team, "level": "village", "members": 6}
        case "team.members_changed":
            return {**team, "members": 7}
        case "activity.reported":
            return {
                "activity_id": f"HD-{n:07d}",
                **team,
                "kind": "account_setup",
                "citizens_helped": 12,
                "hours": 2.5,
            }
    raise ValueError(type_name)  # pragma: no cover - guarded by valid_event


# --- hypothesis strategies ----------------------------------------------------------

_offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware_datetimes: Final = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=_offsets
)
"""Aware datetimes with any whole-minute offset."""


@st.composite
def rfc3339_strings(draw: st.DrawFn, moment: datetime | None = None) -> str:
    """Valid RFC 3339 spellings of a moment: ``T``/``t``/space, ``Z``/``z``/offset, fractions."""
    when = moment if moment is not None else draw(aware_datetimes)
    base = when.strftime("%Y-%m-%d") + draw(st.sampled_from("Tt ")) + when.strftime("%H:%M:%S")
    if when.microsecond or draw(st.booleans()):
        base += f".{when.microsecond:06d}" + "0" * draw(st.integers(0, 3))
    offset = when.utcoffset()
    if offset == timedelta(0) and draw(st.booleans()):
        return base + draw(st.sampled_from("Zz"))
    return base + when.strftime("%z")[:3] + ":" + when.strftime("%z")[3:]


_ids = st.text(min_size=1, max_size=40)
_non_negative = st.one_of(
    st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=2**53),
)
_extra_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def valid_events(draw: st.DrawFn, type_name: str | None = None) -> dict[str, Any]:
    """Valid events with drawn values (ids, numbers at their bounds, any offsets, extra fields)."""
    kind = type_name if type_name is not None else draw(st.sampled_from(EVENT_TYPES))
    occurred = draw(aware_datetimes)
    event = valid_event(kind, occurred_at=draw(rfc3339_strings(occurred)))
    event["event_id"] = draw(st.text(min_size=1, max_size=64))
    event["source"] = draw(st.text(max_size=20))
    for name, field_kind in FIELD_KINDS[kind].items():
        match field_kind:
            case "string":
                event[name] = draw(_ids)
            case "optional string":
                choice = draw(st.sampled_from(("absent", "null", "text")))
                if choice == "absent":
                    event.pop(name, None)
                else:
                    event[name] = None if choice == "null" else draw(st.text(max_size=40))
            case "enum":
                event[name] = draw(st.sampled_from(ENUMS[name]))
            case "boolean":
                event[name] = draw(st.booleans())
            case "string array":
                event[name] = draw(st.lists(_ids, max_size=5))
            case "timestamp":
                event[name] = draw(rfc3339_strings())
    if kind in START_FIELDS:
        earlier = occurred - draw(st.timedeltas(timedelta(0), timedelta(days=60)))
        event[START_FIELDS[kind]] = draw(rfc3339_strings(earlier.astimezone(draw(_offsets))))
    _draw_numbers(draw, kind, event)
    extras = draw(st.dictionaries(st.text(max_size=10), _extra_values, max_size=3))
    for extra, value in extras.items():
        if extra not in event and extra not in FIELD_KINDS[kind] and extra not in ENVELOPE_KINDS:
            event[extra] = value
    return event


def _draw_numbers(draw: st.DrawFn, kind: str, event: dict[str, Any]) -> None:
    if kind == "vc.heartbeat":
        for name in ("rtt_ms", "jitter_ms", "bitrate_kbps"):
            event[name] = draw(_non_negative)
        event["packet_loss_pct"] = draw(
            st.floats(min_value=0, max_value=100) | st.integers(min_value=0, max_value=100)
        )
    elif kind == "application.submitted":
        event["service_level"] = draw(st.sampled_from((2, 3, 4)))
    elif kind == "application.paid":
        event["amount_vnd"] = draw(st.integers(min_value=0, max_value=2**63 - 1))
    elif kind == "application.rated":
        event["score"] = draw(st.integers(min_value=1, max_value=5))
    elif kind == "payment.completed":
        event["amount_vnd"] = draw(st.integers(min_value=0, max_value=2**63 - 1))
    elif kind in ("team.registered", "team.members_changed"):
        event["members"] = draw(st.integers(min_value=1, max_value=2**63 - 1))
    elif kind == "activity.reported":
        event["citizens_helped"] = draw(st.integers(min_value=0, max_value=2**63 - 1))
        event["hours"] = draw(_non_negative)
