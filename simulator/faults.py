"""Record faults: malformed copies, re-sent duplicates and late stragglers, added to valid traffic.

Each fault is an extra record, so the valid events stay those of a clean run and a
benchmark knows exactly what the metrics must say. What each kind should make the
pipeline do (shared/contract/EVENTS.md, "Bad input"):

- malformed ``bad_json`` → ``not_object``; ``wrong_type`` → ``wrong_type``;
  ``missing_field`` → ``missing_field``; ``wrong_key`` → ``key_mismatch``;
  ``unknown_version`` → ``unknown_version``; ``unknown_type`` → ``unknown_type``.
  A malformed copy keeps its original's ``event_id``.
- ``duplicate``: the same bytes again, up to 30 s (event time) later → counted, changes nothing.
- ``late``: a new event (fresh ``event_id``) of the same entity, so the same partition,
  more than the grace period older than the event just sent → ``late``.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from ioc.simulation import Outlet, Payload
from simulator.config import FaultConfig, MalformedKind
from simulator.records import Record
from sources import SOURCE_TOPICS

_ENVELOPE_OTHER = ("type", "schema_version")
_OPTIONAL = frozenset({"reason"})
_KEY_FIELD = {t.name: t.key_field for t in SOURCE_TOPICS}
_FOREIGN_TYPES = {
    t.name: [x for o in SOURCE_TOPICS if o.name != t.name for x in o.types] for t in SOURCE_TOPICS
}
_TIME_FIELDS = ("received_at", "submitted_at")

REASON_OF_KIND: dict[MalformedKind, str] = {
    "bad_json": "not_object",
    "wrong_type": "wrong_type",
    "missing_field": "missing_field",
    "wrong_key": "key_mismatch",
    "unknown_version": "unknown_version",
    "unknown_type": "unknown_type",
}
"""The dead-letter reason each malformed kind must get."""


class RecordFaults:
    """Decides, per valid record, whether a fault follows it, and makes that fault."""

    def __init__(
        self, config: FaultConfig, rng: random.Random, late_outlet: Outlet, fmt: Callable[[int], str]
    ) -> None:
        self.rng = rng
        self.kinds = config.malformed_kinds
        scale = 1.0 / (1.0 - config.record_share)
        self.malformed_below = config.malformed * scale
        self.duplicate_below = self.malformed_below + config.duplicate * scale
        self.threshold = self.duplicate_below + config.late * scale
        self.grace_ms = int(config.grace.total_seconds() * 1000)
        self.late_outlet = late_outlet
        self.fmt = fmt
        self.counts: Counter[str] = Counter()
        self._resend: list[tuple[int, int, Record]] = []
        self._seq = 0
        self._last_key: dict[str, bytes] = {}

    @property
    def active(self) -> bool:
        return self.threshold > 0

    def follow(self, u: float, record: Record, payload: Payload, emit_ms: int) -> Record | None:
        """The fault that follows ``record`` (``u`` is a uniform draw below ``threshold``), if sent now."""
        if u < self.malformed_below:
            kind = self.kinds[int(self.rng.random() * len(self.kinds))]
            self.counts[f"malformed.{kind}"] += 1
            return self._malformed(kind, record, payload)
        if u < self.duplicate_below:
            self.counts["duplicate"] += 1
            self._seq += 1
            heapq.heappush(self._resend, (emit_ms + int(self.rng.random() * 30_000), self._seq, record))
            return None
        self.counts["late"] += 1
        return self._late(record, payload)

    def resend_due(self, emit_ms: int) -> list[Record]:
        """Duplicates whose re-send time has come."""
        out = []
        resend = self._resend
        while resend and resend[0][0] <= emit_ms:
            out.append(heapq.heappop(resend)[2])
        return out

    @property
    def pending(self) -> bool:
        return bool(self._resend)

    def _malformed(self, kind: MalformedKind, record: Record, payload: Payload) -> Record:
        topic, key, value = record.topic, record.key, record.value
        bad: dict[str, Any] = dict(payload)
        body = [k for k in payload if k not in ("event_id", "occurred_at", "source", *_ENVELOPE_OTHER)]
        if kind == "bad_json":
            return record._replace(value=value[: 1 + int(self.rng.random() * (len(value) - 2))])
        if kind == "wrong_key":
            other = self._last_key.get(topic)
            self._last_key[topic] = key or b""
            return record._replace(key=other if other and other != key else (key or b"") + b"-X")
        if kind == "unknown_version":
            bad["schema_version"] = 2
        elif kind == "unknown_type":
            foreign = _FOREIGN_TYPES[topic]
            bad["type"] = foreign[int(self.rng.random() * len(foreign))]
        elif kind == "missing_field":
            required = [k for k in payload if k not in _OPTIONAL and k not in _ENVELOPE_OTHER]
            del bad[required[int(self.rng.random() * len(required))]]
        else:  # wrong_type: a field of the wrong JSON type, never the record key's field
            candidates = [k for k in body if k != _KEY_FIELD[topic]] or ["source"]
            name = candidates[int(self.rng.random() * len(candidates))]
            bad[name] = _retype(bad[name])
        return record._replace(value=orjson.dumps(bad))

    def _late(self, record: Record, payload: Payload) -> Record:
        back = self.grace_ms + 60_000 + int(self.rng.random() * 3_540_000)
        late = dict(payload)
        late["event_id"] = self.late_outlet.next_id()
        occurred = record.timestamp_ms - back
        late["occurred_at"] = self.fmt(occurred)
        for name in _TIME_FIELDS:
            if name in late:
                late[name] = self.fmt(_parse_ms(late[name]) - back)
        return Record(record.topic, record.key, orjson.dumps(late), occurred)


def _retype(value: Any) -> Any:
    """The same information in the wrong JSON type: a number as a string, a string as a number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return ",".join(map(str, value))
    return 12345


def _parse_ms(text: str) -> int:
    return round(datetime.fromisoformat(text).timestamp() * 1000)
