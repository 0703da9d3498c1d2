"""Delivery: one loop per receiver, retrying until it is heard; the shared base and the webhook.

At-least-once, and exactly once in the usual case: a notification leaves the outbox only once
the receiver answered 2xx (`sent`) or refused it for good (a 4xx other than 408/429:
`failed`, never retried). Anything else (5xx, 408, 429, a refused connection, a timeout) is
retried with exponential backoff and jitter, head of line first, so a receiver that was down
gets what it missed in order. Only an attempt whose outcome is unknown (a timeout after the
request went out, or a crash between the answer and the outbox update) can be repeated.

`Delivery` is what both kinds of receiver share (the loop, the backoff, the outbox updates and
their counting); `WebhookDelivery` here and `AlertmanagerDelivery` (alerts/alertmanager.py)
keep only what differs: what one round sends, and how long to wait when nothing failed.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import httpx

from alerts.metrics import AlertMetrics
from alerts.models import Receiver
from ioc.clock import Clock
from ioc.db import alert_outbox as outbox
from ioc.db.pool import Conn
from ioc.retry import backoff
from ioc.settings import AlertSettings

__all__ = [
    "SIGNATURE_HEADER",
    "USER_AGENT",
    "Attempt",
    "Db",
    "Delivery",
    "DeliveryContext",
    "RetryLog",
    "WebhookDelivery",
    "backoff",
    "classify",
    "post",
    "retry_after",
    "sign",
]

log = logging.getLogger("ioc.streams.alerts.delivery")

Outcome = Literal["sent", "retry", "failed"]
Db = Callable[[], AbstractAsyncContextManager[Conn]]
"""Borrow the leader's database connection (the service serialises its use)."""

SIGNATURE_HEADER = "X-IOC-Signature"
TIMESTAMP_HEADER = "X-IOC-Signature-Timestamp"
TIMESTAMPED_HEADER = "X-IOC-Signature-Timestamped"
"""HMAC of `<timestamp>:<body>` (Grafana's scheme): a receiver that checks it and refuses old
timestamps cannot be fooled by a captured notification sent again. X-IOC-Signature (the body
alone) stays, as the contract says, for receivers built before."""
USER_AGENT = "ioc-alerts/1"


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one HTTP attempt came to."""

    outcome: Outcome
    detail: str
    status: int | None = None
    retry_after: float | None = None


def sign(body: bytes, secret: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the exact body bytes>`, the X-IOC-Signature header value."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def sign_timestamped(body: bytes, secret: bytes, timestamp: int) -> str:
    """The X-IOC-Signature-Timestamped value: the HMAC of `<unix seconds>:<exact body bytes>`."""
    return sign(str(timestamp).encode("ascii") + b":" + body, secret)


def classify(status: int) -> Outcome:
    """2xx delivered; 408, 429 and 5xx worth retrying; any other answer refused for good."""
    if 200 <= status < 300:
        return "sent"
    if status in (408, 429) or status >= 500:
        return "retry"
    return "failed"


def retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After: <seconds>` header (an HTTP date is ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


async def post(
    client: httpx.AsyncClient, url: str, body: bytes, *, headers: dict[str, str], timeout: float
) -> Attempt:
    """POST `body` once. Never raises for the network; never mentions the URL (it may hold a token)."""
    try:
        response = await client.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.TimeoutException as exc:
        return Attempt("retry", f"timed out ({type(exc).__name__}): outcome unknown")
    except httpx.HTTPError as exc:
        return Attempt("retry", f"{type(exc).__name__}")
    return Attempt(
        classify(response.status_code),
        f"HTTP {response.status_code}",
        response.status_code,
        retry_after(response.headers.get("retry-after")),
    )


class RetryLog:
    """Logs the first failure of a streak and the recovery, not every retry in between."""

    def __init__(self, receiver: str) -> None:
        self.receiver = receiver
        self.failures = 0

    def failed(self, detail: str, delay: float) -> None:
        self.failures += 1
        level = logging.WARNING if self.failures == 1 else logging.DEBUG
        log.log(level, "receiver %s: delivery failed (%s); retrying in %.1f s", self.receiver, detail, delay)

    def sent(self) -> None:
        if self.failures:
            log.warning(
                "receiver %s: delivering again after %d failed attempts", self.receiver, self.failures
            )
        self.failures = 0


@dataclass(frozen=True, slots=True)
class DeliveryContext:
    """What every delivery loop of one evaluator shares."""

    db: Db
    client: httpx.AsyncClient
    settings: AlertSettings
    metrics: AlertMetrics
    clock: Clock


class Delivery(abc.ABC):
    """One receiver's delivery loop, until cancelled (when this process stops leading or the
    receiver changes).

    A subclass says what one round sends (`step`) and how long to wait for news when nothing
    failed (`idle_s`); the loop, the backoff between retries and the outbox updates with their
    counting are here, so both kinds of receiver retry, log and count alike.
    """

    def __init__(self, receiver: Receiver, ctx: DeliveryContext, *, wake: asyncio.Event) -> None:
        self.receiver = receiver
        self.url = self.target(receiver)
        self.db = ctx.db
        self.client = ctx.client
        self.settings = ctx.settings
        self.metrics = ctx.metrics
        self.clock = ctx.clock
        self.wake = wake
        """Set after an evaluation that queued notifications or changed alerts."""
        self.retries = RetryLog(receiver.name)

    @staticmethod
    @abc.abstractmethod
    def target(receiver: Receiver) -> str:
        """The URL posted to (ValueError if the receiver is not of this kind)."""

    @property
    @abc.abstractmethod
    def idle_s(self) -> float:
        """How long to wait for news after a round that needs no retry."""

    @property
    def max_delay_s(self) -> float:
        """The longest backoff between two attempts."""
        return self.settings.alert_retry_max_s

    @abc.abstractmethod
    async def step(self) -> Attempt | None:
        """One round of delivery: the attempt to retry after a backoff, or None when none is owed."""

    async def run(self) -> None:
        """Deliver until cancelled."""
        while True:
            self.wake.clear()
            retry = await self.step()
            if retry is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=self.idle_s)
                continue
            delay = backoff(
                self.retries.failures + 1,
                initial=self.settings.alert_retry_initial_s,
                maximum=self.max_delay_s,
            )
            if retry.retry_after is not None:
                delay = min(max(delay, retry.retry_after), self.settings.alert_retry_max_s)
            self.retries.failed(retry.detail, delay)
            await asyncio.sleep(delay)

    def too_old(self, created_at: datetime, now: datetime) -> bool:
        """Undelivered for longer than IOC_ALERT_OUTBOX_MAX_AGE_S: dropped rather than sent late."""
        return (now - created_at).total_seconds() > self.settings.alert_outbox_max_age_s

    async def expire(self, seqs: Sequence[int], now: datetime) -> None:
        """Close notifications that are too old (outcome `expired`), one count each."""
        async with self.db() as conn:
            await outbox.finish(conn, seqs, outcome="expired", at=now)
        self.metrics.notifications.labels(self.receiver.name, "expired").inc(len(seqs))

    async def retried(self, seqs: Sequence[int], detail: str) -> None:
        """Record a failed attempt (at `seqs`, if it carried any) that will be retried."""
        if seqs:
            async with self.db() as conn:
                await outbox.record_failure(conn, seqs, error=detail)
        self.metrics.notifications.labels(self.receiver.name, "retried").inc()

    async def finished(self, seqs: Sequence[int], outcome: Outcome) -> None:
        """Close the notifications an attempt carried as `sent` or `failed`."""
        if seqs:
            async with self.db() as conn:
                await outbox.finish(conn, seqs, outcome=outcome, at=self.clock.now())
        self.metrics.notifications.labels(self.receiver.name, outcome).inc()


class WebhookDelivery(Delivery):
    """Drains one webhook receiver's outbox, oldest first."""

    @staticmethod
    def target(receiver: Receiver) -> str:
        if receiver.url is None:
            raise ValueError(f"receiver {receiver.name!r} is not a webhook")
        return receiver.url

    @property
    def idle_s(self) -> float:
        return 1.0

    def _headers(self, body: bytes) -> dict[str, str] | None:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if self.receiver.secret_env is None:
            return headers
        secret = os.environ.get(self.receiver.secret_env)
        if not secret:
            return None
        key = secret.encode("utf-8")
        timestamp = int(time.time())  # wall time, as the receiver checks it; per attempt
        headers[SIGNATURE_HEADER] = sign(body, key)
        headers[TIMESTAMP_HEADER] = str(timestamp)
        headers[TIMESTAMPED_HEADER] = sign_timestamped(body, key, timestamp)
        return headers

    async def attempt(self, body: bytes) -> Attempt:
        headers = self._headers(body)
        if headers is None:
            return Attempt(
                "retry", f"environment variable {self.receiver.secret_env} (the secret) is not set"
            )
        return await post(
            self.client, self.url, body, headers=headers, timeout=self.receiver.timeout.total_seconds()
        )

    async def step(self) -> Attempt | None:
        """Send what is owed, oldest first, until nothing is or the head of the line must wait."""
        name = self.receiver.name
        while True:
            async with self.db() as conn:
                row = await outbox.next_owed(conn, name)
            if row is None:
                return None
            now = self.clock.now()
            if self.too_old(row.created_at, now):
                await self.expire([row.seq], now)
                log.warning("receiver %s: dropped notification %d, undelivered for too long", name, row.seq)
                continue
            result = await self.attempt(row.body)
            if result.outcome == "retry":
                await self.retried([row.seq], result.detail)
                return result
            await self.finished([row.seq], result.outcome)
            if result.outcome == "failed":
                self.retries.failures = 0
                log.error(
                    "receiver %s: notification %d refused (%s); not retried", name, row.seq, result.detail
                )
            else:
                self.retries.sent()
