"""WS /api/v1/live: a full snapshot on connect, then what changed, pushed as it changes.

Each client has a small bounded queue. A client that cannot keep up is disconnected (close
code 1013, "try again later") instead of slowing the others or growing memory; it reconnects
and starts again from a full snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
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


class Broadcaster:
    """Fans snapshot changes out to connected clients through bounded queues."""

    def __init__(self, snapshotter: Snapshotter, queue_size: int) -> None:
        self.snapshotter = snapshotter
        self.queue_size = queue_size
        self.clients: set[asyncio.Queue[str | None]] = set()
        snapshotter.listeners.append(self._on_change)

    def _on_change(self, old: Snapshot | None, new: Snapshot) -> None:
        if not self.clients:
            return
        # A client that connected before the first snapshot existed has seen nothing yet:
        # it gets the first one in full, or it would wait for a change that may never come.
        messages = [full_message(new)] if old is None else change_messages(old, new)
        # encoded once for all clients: per client, the same encoding was repeated thousands of times
        texts = [orjson.dumps(m).decode() for m in messages]
        for queue in list(self.clients):
            for text in texts:
                try:
                    queue.put_nowait(text)
                except asyncio.QueueFull:
                    self.clients.discard(queue)
                    with contextlib.suppress(asyncio.QueueEmpty):
                        queue.get_nowait()
                    queue.put_nowait(None)  # tells the sender to close: too slow
                    break

    def subscribe(self) -> asyncio.Queue[str | None]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(self.queue_size)
        self.clients.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str | None]) -> None:
        self.clients.discard(queue)


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
            hub = self._hubs[scope] = Broadcaster(snapshotter, self.main.queue_size)
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
    queue = broadcaster.subscribe()
    gone = asyncio.create_task(_until_disconnect(ws))
    try:
        snap = broadcaster.snapshotter.current
        if snap is not None:
            await ws.send_text(orjson.dumps(full_message(snap)).decode())
        while True:
            # Waiting on the client too means a closed connection (or a server shutting down)
            # ends this handler at once, not at the next change.
            next_message = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({next_message, gone}, return_when=asyncio.FIRST_COMPLETED)
            if gone in done:
                next_message.cancel()
                return
            message = next_message.result()
            if message is None:
                await ws.close(code=1013, reason="client too slow; reconnect for a fresh snapshot")
                return
            await ws.send_text(message)
    except WebSocketDisconnect:
        pass
    finally:
        gone.cancel()
        broadcaster.unsubscribe(queue)
