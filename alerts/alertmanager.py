"""Delivery to an existing Alertmanager through its API v2 (`POST /api/v2/alerts`).

An Alertmanager wants state, not messages: every IOC_ALERT_AM_RESEND_S (at most a minute) and
after every evaluation that changed something, it gets all firing alerts routed to it, each
valid for four re-post intervals (so it resolves them itself if we go quiet), plus the
resolutions still owed from the outbox with their real `endsAt`. Resolutions survive a
restart and an Alertmanager outage; firing alerts need no queue, the next post carries them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import orjson

from ioc.clock import Clock
from streams.alerts import store
from streams.alerts.delivery import USER_AGENT, Db, RetryLog, backoff, post
from streams.alerts.evaluate import AlertState, fingerprint
from streams.alerts.metrics import AlertMetrics
from streams.alerts.payload import encode, postable_alert
from streams.alerts.rules import Receiver
from streams.alerts.settings import AlertSettings

log = logging.getLogger("ioc.streams.alerts.alertmanager")

API_PATH = "/api/v2/alerts"


class AlertmanagerDelivery:
    """Keeps one Alertmanager in step with the alerts routed to it."""

    def __init__(
        self,
        receiver: Receiver,
        *,
        db: Db,
        client: httpx.AsyncClient,
        settings: AlertSettings,
        metrics: AlertMetrics,
        clock: Clock,
        wake: asyncio.Event,
        current: Callable[[], list[AlertState]],
    ) -> None:
        if receiver.alertmanager_url is None:
            raise ValueError(f"receiver {receiver.name!r} is not an Alertmanager")
        self.receiver = receiver
        self.url = receiver.alertmanager_url.rstrip("/") + API_PATH
        self.db = db
        self.client = client
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.wake = wake
        self.current = current
        """The firing, unsilenced alerts routed to this receiver, as of the last evaluation."""
        self.retries = RetryLog(receiver.name)

    @property
    def valid_for(self) -> timedelta:
        return timedelta(seconds=4 * self.settings.alert_am_resend_s)

    async def push(self) -> str | None:
        """Post the current state once; what went wrong when it should be retried, else None."""
        name = self.receiver.name
        now = self.clock.now()
        async with self.db() as conn:
            rows = await store.owed(conn, name)
        too_old = [
            r.seq for r in rows if (now - r.created_at).total_seconds() > self.settings.alert_outbox_max_age_s
        ]
        if too_old:
            async with self.db() as conn:
                await store.finish(conn, too_old, outcome="expired", at=now)
            self.metrics.notifications.labels(name, "expired").inc(len(too_old))
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
            if seqs:
                async with self.db() as conn:
                    await store.record_failure(conn, seqs, error=result.detail)
            self.metrics.notifications.labels(name, "retried").inc()
            return result.detail
        if seqs:
            async with self.db() as conn:
                await store.finish(conn, seqs, outcome=result.outcome, at=self.clock.now())
        self.metrics.notifications.labels(name, result.outcome).inc()
        if result.outcome == "failed":
            log.error("alertmanager %s refused %d alerts (%s)", name, len(body), result.detail)
        else:
            self.retries.sent()
        return None

    async def run(self) -> None:
        """Post now, after each change, and at least every re-post interval, until cancelled."""
        while True:
            self.wake.clear()
            problem = await self.push()
            if problem is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=self.settings.alert_am_resend_s)
                continue
            delay = backoff(
                self.retries.failures + 1,
                initial=self.settings.alert_retry_initial_s,
                maximum=min(self.settings.alert_retry_max_s, self.settings.alert_am_resend_s),
                rand=random.random(),  # noqa: S311 - jitter, not security
            )
            self.retries.failed(problem, delay)
            await asyncio.sleep(delay)
