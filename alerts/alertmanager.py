"""Delivery to an existing Alertmanager through its API v2 (`POST /api/v2/alerts`).

An Alertmanager wants state, not messages: every IOC_ALERT_AM_RESEND_S (at most a minute) and
after every evaluation that changed something, it gets all firing alerts routed to it, each
valid for four re-post intervals (so it resolves them itself if we go quiet), plus the
resolutions still owed from the outbox with their real `endsAt`. Resolutions survive a
restart and an Alertmanager outage; firing alerts need no queue, the next post carries them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson

from alerts.delivery import USER_AGENT, Attempt, Delivery, DeliveryContext, post
from alerts.evaluate import AlertState, fingerprint
from alerts.models import Receiver
from alerts.payload import encode, postable_alert
from ioc.db import alert_outbox as outbox

log = logging.getLogger("ioc.streams.alerts.alertmanager")

API_PATH = "/api/v2/alerts"


class AlertmanagerDelivery(Delivery):
    """Keeps one Alertmanager in step with the alerts routed to it."""

    def __init__(
        self,
        receiver: Receiver,
        ctx: DeliveryContext,
        *,
        wake: asyncio.Event,
        current: Callable[[], list[AlertState]],
    ) -> None:
        super().__init__(receiver, ctx, wake=wake)
        self.current = current
        """The firing, unsilenced alerts routed to this receiver, as of the last evaluation."""

    @staticmethod
    def target(receiver: Receiver) -> str:
        if receiver.alertmanager_url is None:
            raise ValueError(f"receiver {receiver.name!r} is not an Alertmanager")
        return receiver.alertmanager_url.rstrip("/") + API_PATH

    @property
    def idle_s(self) -> float:
        """Post again at least every re-post interval, so the Alertmanager keeps the alerts."""
        return self.settings.alert_am_resend_s

    @property
    def max_delay_s(self) -> float:
        """Never back off past a re-post: a late re-post lets firing alerts expire there."""
        return min(self.settings.alert_retry_max_s, self.settings.alert_am_resend_s)

    @property
    def valid_for(self) -> timedelta:
        return timedelta(seconds=4 * self.settings.alert_am_resend_s)

    async def step(self) -> Attempt | None:
        """Post the current state once; what went wrong when it should be retried, else None.

        The Alertmanager's `Retry-After` is not followed: the next re-post is due regardless.
        """
        name = self.receiver.name
        now = self.clock.now()
        async with self.db() as conn:
            rows = await outbox.owed(conn, name)
        too_old = [r.seq for r in rows if self.too_old(r.created_at, now)]
        if too_old:
            await self.expire(too_old, now)
            rows = [r for r in rows if r.seq not in too_old]
        firing = self.current()
        firing_fps = {a.fingerprint for a in firing}
        resolved: list[dict[str, Any]] = []
        for row in rows:
            alert = orjson.loads(row.body)
            # An alert that fires again supersedes its old resolution: post the new episode only.
            if fingerprint(alert["labels"]) not in firing_fps:
                resolved.append(alert)
        body = resolved + [
            postable_alert(
                a, external_url=self.settings.alert_external_url, now=now, valid_for=self.valid_for
            )
            for a in firing
        ]
        if not body:
            return None
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        result = await post(
            self.client,
            self.url,
            encode(body),
            headers=headers,
            timeout=self.receiver.timeout.total_seconds(),
        )
        seqs = [r.seq for r in rows]
        if result.outcome == "retry":
            await self.retried(seqs, result.detail)
            return Attempt("retry", result.detail)
        await self.finished(seqs, result.outcome)
        if result.outcome == "failed":
            log.error("alertmanager %s refused %d alerts (%s)", name, len(body), result.detail)
        else:
            self.retries.sent()
        return None
