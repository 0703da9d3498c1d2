"""This source's events as the pipeline carries them: msgspec Structs (schemas/wire.py says why).

Each Struct has the same fields and bounds as its model in `events.py`; tests/unit/test_wire.py
holds the two together.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, TypeAlias

import msgspec

from schemas.wire import Count, Envelope, Timestamp, ordered, timestamp

Channel: TypeAlias = Literal["online", "counter", "postal"]
Outcome: TypeAlias = Literal["approved", "rejected"]
PaymentMethod: TypeAlias = Literal["cashless", "cash"]


# --- ioc.portal.applications -----------------------------------------------------


class ApplicationSubmitted(Envelope, tag="application.submitted", kw_only=True, gc=False):
    type: ClassVar[str] = "application.submitted"
    application_id: str
    service_code: str
    service_level: Annotated[int, msgspec.Meta(ge=2, le=4)]
    agency: str
    district: str
    channel: Channel
    due_at: Timestamp

    def __post_init__(self) -> None:
        self.occurred_at = timestamp(self.occurred_at)
        self.due_at = timestamp(self.due_at)


class ApplicationResolved(Envelope, tag="application.resolved", kw_only=True, gc=False):
    type: ClassVar[str] = "application.resolved"
    application_id: str
    service_code: str
    agency: str
    district: str
    submitted_at: Timestamp
    due_at: Timestamp
    outcome: Outcome

    def __post_init__(self) -> None:
        self.occurred_at = timestamp(self.occurred_at)
        self.submitted_at = timestamp(self.submitted_at)
        self.due_at = timestamp(self.due_at)
        ordered(self.occurred_at, self.submitted_at)


class ApplicationPaid(Envelope, tag="application.paid", kw_only=True, gc=False):
    type: ClassVar[str] = "application.paid"
    application_id: str
    amount_vnd: Count
    method: PaymentMethod


class ApplicationRated(Envelope, tag="application.rated", kw_only=True, gc=False):
    type: ClassVar[str] = "application.rated"
    application_id: str
    score: Annotated[int, msgspec.Meta(ge=1, le=5)]
