"""The live channel's fan-out: changes only, and a slow client is dropped, not buffered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from api.routes.live import Broadcaster, change_messages, full_message
from api.snapshot import Snapshot

T0 = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)


class _Snapshotter:
    def __init__(self) -> None:
        self.listeners: list[Any] = []
        self.current: Snapshot | None = None

    def push(self, snap: Snapshot) -> None:
        old, self.current = self.current, snap
        for listener in self.listeners:
            listener(old, snap)


def snap(i: int, **kpis: float | None) -> Snapshot:
    return Snapshot(as_of=T0 + timedelta(seconds=i), kpis=dict(kpis))


def test_changes_carry_only_what_changed() -> None:
    msgs = change_messages(snap(0, a=1.0, b=None), snap(1, a=1.0, b=2.0))
    assert msgs == [
        {"type": "snapshot", "full": False, "as_of": msgs[0]["as_of"], "window": "1h", "kpis": {"b": 2.0}}
    ]
    assert change_messages(snap(0, a=1.0), snap(1, a=1.0)) == []
    assert full_message(snap(0, a=1.0))["full"] is True


def test_a_slow_client_is_dropped_and_the_others_keep_receiving() -> None:
    source = _Snapshotter()
    hub = Broadcaster(source, queue_size=4)  # type: ignore[arg-type]
    slow, fast = hub.subscribe(), hub.subscribe()
    source.push(snap(0, a=0.0))
    assert orjson.loads(fast.get_nowait())["full"] is True
    received = []
    for i in range(1, 20):
        source.push(snap(i, a=float(i)))
        received.append(orjson.loads(fast.get_nowait()))  # the fast client keeps up
    assert [m["kpis"]["a"] for m in received] == [float(i) for i in range(1, 20)]
    assert slow not in hub.clients and fast in hub.clients
    drained = [slow.get_nowait() for _ in range(slow.qsize())]
    assert drained[-1] is None  # the sender is told to close the connection
    assert len(drained) <= 4  # memory stayed bounded


def test_a_client_connected_before_the_first_snapshot_receives_it_in_full() -> None:
    source = _Snapshotter()
    hub = Broadcaster(source, queue_size=4)  # type: ignore[arg-type]
    early = hub.subscribe()  # the API has not computed a snapshot yet
    source.push(snap(0, a=1.0, b=None))
    text = early.get_nowait()
    assert text is not None
    first = orjson.loads(text)
    assert first["full"] is True and first["kpis"] == {"a": 1.0, "b": None}
    source.push(snap(1, a=1.0, b=None))
    assert early.empty()  # nothing changed since: nothing more to send
