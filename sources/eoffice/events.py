"""The contract's models of this source's events (contract/EVENTS.md): the judge of bad input.

Strict pydantic models, one per event type; schemas/events.py says why they are strict and
how the cross-field rule is reported.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from pydantic import model_validator

from schemas.events import Envelope, Timestamp, inconsistent

Direction: TypeAlias = Literal["incoming", "outgoing"]
Urgency: TypeAlias = Literal["normal", "urgent", "express"]


# --- ioc.eoffice.documents -------------------------------------------------------


class DocumentReceived(Envelope):
    """An official document registered by an agency."""

    type: Literal["document.received"]
    document_id: str
    agency: str
    direction: Direction
    urgency: Urgency
    due_at: Timestamp


class DocumentProcessed(Envelope):
    """An agency finished handling a document."""

    type: Literal["document.processed"]
    document_id: str
    agency: str
    received_at: Timestamp
    due_at: Timestamp
    digitally_signed: bool

    @model_validator(mode="after")
    def _ends_after_start(self) -> DocumentProcessed:
        inconsistent("occurred_at", "received_at", self.occurred_at, self.received_at)
        return self
