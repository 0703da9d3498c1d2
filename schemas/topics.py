"""What a source topic is (name, event types, record key), and the topics every source shares.

Each source declares its own topics (sources/*/kpis.py); `sources.SOURCES.topics` lists them
all, and everything that routes, validates or simulates events starts from there.
"""

from __future__ import annotations

from dataclasses import dataclass

DEADLETTER = "ioc.deadletter"


@dataclass(frozen=True, slots=True)
class SourceTopic:
    """A source topic: its name, the event types it may carry, and the entity-id field that is its key."""

    name: str
    source: str
    key_field: str
    types: tuple[str, ...]


SCHEMA_VERSION = 1
MAX_VALUE_BYTES = 64 * 1024
