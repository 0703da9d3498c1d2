"""The contract's models of this source's events (contract/EVENTS.md): the judge of bad input.

Strict pydantic models, one per event type; schemas/events.py says why they are strict and
how the cross-field rule is reported.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from pydantic import Field, model_validator

from schemas.events import Envelope, Timestamp, inconsistent

Channel: TypeAlias = Literal["online", "counter", "postal"]
Outcome: TypeAlias = Literal["approved", "rejected"]
PaymentMethod: TypeAlias = Literal["cashless", "cash"]


# --- ioc.portal.applications -----------------------------------------------------


class ApplicationSubmitted(Envelope):
    """A citizen's or business's application for an administrative service."""

    type: Literal["application.submitted"]
    application_id: str
    service_code: str
    service_level: Annotated[int, Field(ge=2, le=4)]
    agency: str
    district: str
    channel: Channel
    due_at: Timestamp


class ApplicationResolved(Envelope):
    """An application got its result."""

    type: Literal["application.resolved"]
    application_id: str
    service_code: str
    agency: str
    district: str
    submitted_at: Timestamp
    due_at: Timestamp
    outcome: Outcome

    @model_validator(mode="after")
    def _ends_after_start(self) -> ApplicationResolved:
        inconsistent("occurred_at", "submitted_at", self.occurred_at, self.submitted_at)
        return self


class ApplicationPaid(Envelope):
    """A fee was paid for an application."""

    type: Literal["application.paid"]
    application_id: str
    amount_vnd: Annotated[int, Field(ge=0)]
    method: PaymentMethod


class ApplicationRated(Envelope):
    """The applicant rated the service."""

    type: Literal["application.rated"]
    application_id: str
    score: Annotated[int, Field(ge=1, le=5)]
