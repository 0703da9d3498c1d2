"""This source's events as the pipeline carries them: msgspec Structs (schemas/wire.py says why).

Each Struct has the same fields and bounds as its model in `events.py`; tests/unit/test_wire.py
holds the two together.
"""

from __future__ import annotations

from typing import ClassVar, Literal, TypeAlias

from schemas.wire import Envelope, Timestamp, ordered, timestamp

Direction: TypeAlias = Literal["incoming", "outgoing"]
Urgency: TypeAlias = Literal["normal", "urgent", "express"]


# --- ioc.eoffice.documents -------------------------------------------------------


class DocumentReceived(Envelope, tag="document.received", kw_only=True, gc=False):
    type: ClassVar[str] = "document.received"
    document_id: str
    agency: str
    direction: Direction
    urgency: Urgency
    due_at: Timestamp

    def __post_init__(self) -> None:
        self.occurred_at = timestamp(self.occurred_at)
        self.due_at = timestamp(self.due_at)


class DocumentProcessed(Envelope, tag="document.processed", kw_only=True, gc=False):
    type: ClassVar[str] = "document.processed"
    document_id: str
    agency: str
    received_at: Timestamp
    due_at: Timestamp
    digitally_signed: bool

    def __post_init__(self) -> None:
        self.occurred_at = timestamp(self.occurred_at)
        self.received_at = timestamp(self.received_at)
        self.due_at = timestamp(self.due_at)
        ordered(self.occurred_at, self.received_at)
