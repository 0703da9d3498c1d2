"""The pydantic models against the contract's tables (transcribed in tests.factories)."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from schemas.events import INCONSISTENT_ERROR, Envelope
from sources import EVENT_ADAPTER, EVENT_MODELS, MODEL_BY_TYPE, SOURCE_TOPICS
from sources.community.events import ActivityReported, TeamMembersChanged, TeamRegistered
from sources.eoffice.events import DocumentProcessed
from sources.market.events import MerchantOnboarded, PaymentCompleted
from sources.vc.events import VcHeartbeat, VcStatus
from tests.factories import (
    ENUMS,
    ENVELOPE_KINDS,
    EVENT_TYPES,
    FIELD_KINDS,
    ICT,
    key_field_of,
    valid_event,
)


def test_every_topic_type_has_exactly_one_model() -> None:
    assert set(MODEL_BY_TYPE) == set(EVENT_TYPES)
    assert len(EVENT_MODELS) == len(EVENT_TYPES)
    assert set(MODEL_BY_TYPE.values()) == set(EVENT_MODELS)  # one model per type, every model registered


@pytest.mark.parametrize("type_name", EVENT_TYPES)
def test_model_fields_are_the_contracts(type_name: str) -> None:
    model = MODEL_BY_TYPE[type_name]
    contract = {**ENVELOPE_KINDS, **FIELD_KINDS[type_name]}
    assert set(model.model_fields) == set(contract)
    required = {name for name, field in model.model_fields.items() if field.is_required()}
    assert required == {name for name, kind in contract.items() if not kind.startswith("optional")}
    assert key_field_of(type_name) in model.model_fields


@pytest.mark.parametrize("type_name", EVENT_TYPES)
def test_enums_are_the_contracts(type_name: str) -> None:
    model = MODEL_BY_TYPE[type_name]
    for name, kind in FIELD_KINDS[type_name].items():
        if kind == "enum":
            annotation: Any = model.model_fields[name].annotation
            # All enums are strings: schemas.decode relies on it to tell type from range.
            assert typing.get_args(annotation) == ENUMS[name]


@pytest.mark.parametrize("type_name", EVENT_TYPES)
def test_valid_event_validates_and_ignores_extras(type_name: str) -> None:
    data = valid_event(type_name, added_by_a_newer_source={"x": [1, 2]})
    event = MODEL_BY_TYPE[type_name].model_validate(data)
    assert isinstance(event, Envelope)
    assert getattr(event, "type") == type_name  # noqa: B009 - each model declares its own
    assert not hasattr(event, "added_by_a_newer_source")
    assert event.occurred_at == datetime.fromisoformat(data["occurred_at"])
    assert event.occurred_at.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize("type_name", EVENT_TYPES)
def test_json_round_trip(type_name: str) -> None:
    event = EVENT_ADAPTER.validate_python(valid_event(type_name))
    again = EVENT_ADAPTER.validate_json(event.model_dump_json())
    assert again == event
    assert type(again) is MODEL_BY_TYPE[type_name]


def test_adapter_dispatches_on_type() -> None:
    assert isinstance(EVENT_ADAPTER.validate_python(valid_event("vc.status")), VcStatus)
    with pytest.raises(ValidationError):
        EVENT_ADAPTER.validate_python(valid_event("vc.status", type="vc.unknown"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rtt_ms", "12"),
        ("rtt_ms", True),
        ("in_meeting", 1),
        ("in_meeting", "true"),
        ("schema_version", "1"),
        ("schema_version", True),
        ("schema_version", 1.0),
        ("occurred_at", 1_740_960_000),
        ("endpoint_id", 42),
        ("district", None),
    ],
)
def test_strict_json_types(field: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        VcHeartbeat.model_validate(valid_event("vc.heartbeat", **{field: value}))


@pytest.mark.parametrize(
    ("model", "type_name", "field", "value"),
    [
        (PaymentCompleted, "payment.completed", "amount_vnd", "85000"),
        (PaymentCompleted, "payment.completed", "amount_vnd", 85000.0),
        (PaymentCompleted, "payment.completed", "amount_vnd", -1),
        (MerchantOnboarded, "merchant.onboarded", "provider", "cash"),
        (MerchantOnboarded, "merchant.onboarded", "market", None),
        (TeamRegistered, "team.registered", "members", "3"),
        (TeamRegistered, "team.registered", "members", 0),
        (TeamRegistered, "team.registered", "level", "province"),
        (TeamMembersChanged, "team.members_changed", "members", True),
        (ActivityReported, "activity.reported", "hours", "2.5"),
        (ActivityReported, "activity.reported", "hours", -0.1),
        (ActivityReported, "activity.reported", "citizens_helped", 1.5),
        (ActivityReported, "activity.reported", "kind", "party"),
    ],
)
def test_market_and_community_models_are_strict(
    model: type[Envelope], type_name: str, field: str, value: Any
) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(valid_event(type_name, **{field: value}))


def test_market_and_community_bounds_are_inclusive() -> None:
    assert PaymentCompleted.model_validate(valid_event("payment.completed", amount_vnd=0)).amount_vnd == 0
    assert TeamRegistered.model_validate(valid_event("team.registered", members=1)).members == 1
    activity = ActivityReported.model_validate(valid_event("activity.reported", hours=0, citizens_helped=0))
    assert activity.hours == 0.0 and activity.citizens_helped == 0


def test_a_number_field_accepts_a_json_integer() -> None:
    event = VcHeartbeat.model_validate(valid_event("vc.heartbeat", bitrate_kbps=2048))
    assert event.bitrate_kbps == 2048.0


@pytest.mark.parametrize(
    "stamp",
    [
        "2025-03-03T09:30:00+07:00",
        "2025-03-03T02:30:00Z",
        "2025-03-03t02:30:00z",
        "2025-03-03 09:30:00+07:00",
        "2025-03-03T09:30:00.000+07:00",
        "2025-03-02T21:30:00-05:00",
    ],
)
def test_timestamps_with_offsets_are_aware_instants(stamp: str) -> None:
    event = VcHeartbeat.model_validate(valid_event("vc.heartbeat", occurred_at=stamp))
    assert event.occurred_at == datetime(2025, 3, 3, 2, 30, tzinfo=UTC)
    assert event.occurred_at.tzinfo is not None


@pytest.mark.parametrize(
    "stamp",
    [
        "2025-03-03T09:30:00",  # naive
        "2025-03-03",  # a date
        "1740969000",  # epoch seconds as a string
        "2025-03-03T09:30:00+0700",
        "2025-03-03T09:30+07:00",
        "2025-03-03T09:30:00+07:00 ",
        "2025-02-30T09:30:00+07:00",
        "2025-03-03T09:30:00+25:00",
        "",
        "yesterday",
        "\uff12\uff10\uff12\uff15-03-03T09:30:00+07:00",  # full-width digits
    ],
)
def test_malformed_timestamps_are_rejected(stamp: str) -> None:
    with pytest.raises(ValidationError):
        VcHeartbeat.model_validate(valid_event("vc.heartbeat", occurred_at=stamp))


def test_naive_datetime_object_is_rejected_too() -> None:
    with pytest.raises(ValidationError):
        VcHeartbeat.model_validate(valid_event("vc.heartbeat") | {"occurred_at": datetime(2025, 3, 3, 9, 30)})


def test_reason_is_optional_and_null_means_absent() -> None:
    assert VcStatus.model_validate(valid_event("vc.status", reason=None)).reason is None
    data = valid_event("vc.status")
    del data["reason"]
    assert VcStatus.model_validate(data).reason is None


def test_models_reject_an_end_before_its_start() -> None:
    occurred = datetime(2025, 3, 3, 9, 30, tzinfo=ICT)
    with pytest.raises(ValidationError) as caught:
        DocumentProcessed.model_validate(
            valid_event(
                "document.processed",
                occurred_at=occurred,
                received_at=(occurred + timedelta(seconds=1)).astimezone(UTC),
            )
        )
    assert [error["type"] for error in caught.value.errors()] == [INCONSISTENT_ERROR]
    same_instant = occurred.astimezone(timezone(timedelta(hours=-3)))
    DocumentProcessed.model_validate(
        valid_event("document.processed", occurred_at=occurred, received_at=same_instant)
    )


def test_events_are_immutable() -> None:
    event = VcHeartbeat.model_validate(valid_event("vc.heartbeat"))
    with pytest.raises(ValidationError):
        event.rtt_ms = 1.0


def test_json_schema_documents_timestamps() -> None:
    schema = TypeAdapter(VcHeartbeat).json_schema()
    assert schema["properties"]["occurred_at"] == {
        "format": "date-time",
        "title": "Occurred At",
        "type": "string",
    }


def test_topics_and_models_agree_on_keys() -> None:
    for topic in SOURCE_TOPICS:
        for type_name in topic.types:
            assert topic.key_field in MODEL_BY_TYPE[type_name].model_fields
