"""WS /api/v1/live: a full snapshot on connect, then what changed, pushed as it changes.

Latest value first: each client sends, whenever it is ready, what changed between the snapshot
it last sent and the newest one. A client that falls behind (a slow link, or thousands of
clients on one process) skips the snapshots in between instead of queueing them, so it is never
more than one send behind the newest data and the process holds a few snapshots, not a queue
per client. The texts from one snapshot to the newest are encoded once and shared by every
client that stands at that snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api.auth.deps import admit_live
from api.snapshot import Snapshot, Snapshotter
from ioc.access import Scope

router = APIRouter(prefix="/api/v1", tags=["live"])
log = logging.getLogger("ioc.api.live")

HISTORY = 8
"""Snapshots kept for clients behind the newest; one further behind gets a full snapshot."""


def full_message(snap: Snapshot) -> dict[str, Any]:
    return {
        "type": "snapshot",
        "full": True,
        "as_of": snap.as_of.isoformat(),
        "window": snap.window,
        "kpis": snap.kpis,
        "sources": [s.model_dump(mode="json") for s in snap.sources],
        "alerts": [a.model_dump(mode="json") for a in snap.alerts],
    }


def change_messages(old: Snapshot, new: Snapshot) -> list[dict[str, Any]]:
    """What a client that saw `old` needs to see `new`."""
    out: list[dict[str, Any]] = []
    changed = {k: v for k, v in new.kpis.items() if old.kpis.get(k, object()) != v}
    if changed:
        out.append(
            {
                "type": "snapshot",
                "full": False,
                "as_of": new.as_of.isoformat(),
                "window": new.window,
                "kpis": changed,
            }
        )
    if [a.model_dump() for a in old.alerts] != [a.model_dump() for a in new.alerts]:
        out.append(
            {
                "type": "alert",
                "as_of": new.as_of.isoformat(),
                "alerts": [a.model_dump(mode="json") for a in new.alerts],
            }
        )
    if [s.model_dump() for s in old.sources] != [s.model_dump() for s in new.sources]:
        out.append(
            {
                "type": "sources",
                "as_of": new.as_of.isoformat(),
                "sources": [s.model_dump(mode="json") for s in new.sources],
            }
        )
    return out


class LiveClient:
    """One connection's place in its hub: the snapshot version it last sent, and a wake-up."""

    __slots__ = ("closed", "sent", "wake")

    def __init__(self, sent: int) -> None:
        self.sent = sent
        self.wake = asyncio.Event()
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self.wake.set()


class Broadcaster:
    """Tells connected clients a new snapshot exists; each fetches the texts it needs."""

    def __init__(self, snapshotter: Snapshotter, history: int = HISTORY) -> None:
        self.snapshotter = snapshotter
        self.history = history
        self.version = 0  # of the newest snapshot; 0: none yet
        self.clients: set[LiveClient] = set()
        self._snaps: dict[int, Snapshot] = {}
        self._texts: dict[int, list[str]] = {}  # from a version to the newest
        self._full: tuple[int, str] | None = None
        snapshotter.listeners.append(self._on_change)

    def _on_change(self, old: Snapshot | None, new: Snapshot) -> None:
        self.version += 1
        self._snaps[self.version] = new
        self._snaps.pop(self.version - self.history, None)
        self._texts.clear()
        for client in self.clients:
            client.wake.set()

    def full_text(self) -> str | None:
        """The newest snapshot in full (what a client gets on connect), encoded once per version."""
        if self.version == 0:
            return None
        if self._full is None or self._full[0] != self.version:
            self._full = (self.version, orjson.dumps(full_message(self._snaps[self.version])).decode())
        return self._full[1]

    def texts_since(self, version: int) -> list[str]:
        """What a client that last sent `version` must send to stand at the newest snapshot."""
        if version == self.version:
            return []
        texts = self._texts.get(version)
        if texts is None:
            old, new = self._snaps.get(version), self._snaps[self.version]
            # A client that has seen nothing yet, or fell further behind than the history kept,
            # gets the newest in full: it would otherwise wait for a change that may never come.
            messages = [full_message(new)] if old is None else change_messages(old, new)
            texts = self._texts[version] = [orjson.dumps(m).decode() for m in messages]
        return texts

    def subscribe(self) -> LiveClient:
        """A new client, standing at the newest snapshot (which it sends first, in full)."""
        client = LiveClient(self.version)
        self.clients.add(client)
        return client

    def unsubscribe(self, client: LiveClient) -> None:
        self.clients.discard(client)


async def _until_disconnect(ws: WebSocket) -> None:
    """Returns when the client goes away (or the server shuts down), whatever we are sending."""
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass


class ScopedHubs:
    """One snapshot and broadcaster per scope with live clients: a district's operators share
    one refresh a second, and never receive another district's numbers or alerts."""

    def __init__(self, main: Broadcaster, make: Callable[[Scope], Snapshotter]) -> None:
        self.main = main
        self._make = make
        self._hubs: dict[Scope, Broadcaster] = {}

    def of(self, scope: Scope) -> Broadcaster:
        if scope.is_all:
            return self.main
        hub = self._hubs.get(scope)
        if hub is None:
            snapshotter = self._make(scope)
            hub = self._hubs[scope] = Broadcaster(snapshotter, self.main.history)
            snapshotter.start()
        return hub

    def poke(self) -> None:
        """New data: every snapshot refreshes now."""
        self.main.snapshotter.poke()
        for hub in self._hubs.values():
            hub.snapshotter.poke()

    async def stop(self) -> None:
        for hub in self._hubs.values():
            await hub.snapshotter.stop()


@router.websocket("/live")
async def live(ws: WebSocket) -> None:
    await ws.accept()  # a browser's token comes in its first message, so accept first
    principal = await admit_live(ws)
    if principal is None:
        return
    broadcaster = ws.app.state.ioc.hubs.of(principal.scope)
    client = broadcaster.subscribe()
    first = broadcaster.full_text()
    # Waiting on the client too means a closed connection (or a server shutting down) ends this
    # handler at once, not at the next change.
    gone = asyncio.create_task(_until_disconnect(ws))
    gone.add_done_callback(lambda _: client.close())
    try:
        if first is not None:
            await ws.send_text(first)
        while True:
            await client.wake.wait()
            client.wake.clear()
            if client.closed:
                return
            version = broadcaster.version
            for text in broadcaster.texts_since(client.sent):
                await ws.send_text(text)
            client.sent = version
    except WebSocketDisconnect:
        pass
    finally:
        gone.cancel()
        broadcaster.unsubscribe(client)
