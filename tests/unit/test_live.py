"""The live channel's fan-out: changes only, latest value first: a client behind skips to the
newest snapshot in one message instead of queueing every one in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from api.routes.live import Broadcaster, LiveClient, change_messages, full_message
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


def texts(hub: Broadcaster, client: LiveClient) -> list[dict[str, Any]]:
    """What `client` sends when it next wakes (as the route does), and where it then stands."""
    out = [orjson.loads(t) for t in hub.texts_since(client.sent)]
    client.sent = hub.version
    client.wake.clear()
    return out


def test_a_slow_client_gets_every_change_since_its_last_send_in_one_message() -> None:
    source = _Snapshotter()
    hub = Broadcaster(source)  # type: ignore[arg-type]
    source.push(snap(0, a=0.0, b=0.0, c=0.0))
    slow, fast = hub.subscribe(), hub.subscribe()
    received = []
    for i in range(1, 6):
        source.push(snap(i, a=float(i), b=0.0 if i < 3 else 1.0, c=0.0))
        assert fast.wake.is_set() and slow.wake.is_set()
        received += texts(hub, fast)  # the fast client keeps up
    assert [m["kpis"] for m in received] == [
        {"a": 1.0},
        {"a": 2.0},
        {"a": 3.0, "b": 1.0},
        {"a": 4.0},
        {"a": 5.0},
    ]
    # the slow one wakes once for five snapshots and sends what changed since it stood: a and b
    (merged,) = texts(hub, slow)
    assert merged["full"] is False and merged["kpis"] == {"a": 5.0, "b": 1.0}
    assert merged["as_of"] == (T0 + timedelta(seconds=5)).isoformat()
    assert texts(hub, slow) == []  # it stands at the newest now


def test_texts_are_encoded_once_per_version_and_shared() -> None:
    source = _Snapshotter()
    hub = Broadcaster(source)  # type: ignore[arg-type]
    source.push(snap(0, a=0.0))
    one, two = hub.subscribe(), hub.subscribe()
    source.push(snap(1, a=1.0))
    assert hub.texts_since(one.sent) is hub.texts_since(two.sent)
    assert hub.full_text() is hub.full_text()


def test_a_client_further_behind_than_the_history_gets_the_newest_in_full() -> None:
    source = _Snapshotter()
    hub = Broadcaster(source, history=3)  # type: ignore[arg-type]
    source.push(snap(0, a=0.0))
    laggard = hub.subscribe()
    for i in range(1, 10):
        source.push(snap(i, a=float(i), b=float(i)))
    (full,) = texts(hub, laggard)
    assert full["full"] is True and full["kpis"] == {"a": 9.0, "b": 9.0}
    assert len(hub._snaps) <= 3  # memory stays bounded, whatever the clients do


def test_a_client_connected_before_the_first_snapshot_receives_it_in_full() -> None:
    source = _Snapshotter()
    hub = Broadcaster(source)  # type: ignore[arg-type]
    early = hub.subscribe()  # the API has not computed a snapshot yet
    assert hub.full_text() is None
    source.push(snap(0, a=1.0, b=None))
    (first,) = texts(hub, early)
    assert first["full"] is True and first["kpis"] == {"a": 1.0, "b": None}
    source.push(snap(1, a=1.0, b=None))
    assert texts(hub, early) == []  # nothing changed since: nothing more to send


def test_a_closed_client_is_woken_to_end() -> None:
    source = _Snapshotter()
    hub = Broadcaster(source)  # type: ignore[arg-type]
    client = hub.subscribe()
    client.close()
    assert client.wake.is_set() and client.closed
    hub.unsubscribe(client)
    assert client not in hub.clients
