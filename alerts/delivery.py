"""Webhook delivery: one loop per receiver that drains its outbox in order, retrying until it is heard.

At-least-once, and exactly once in the usual case: a notification leaves the outbox only once
the receiver answered 2xx (`sent`) or refused it for good (a 4xx other than 408/429:
`failed`, never retried). Anything else (5xx, 408, 429, a refused connection, a timeout) is
retried with exponential backoff and jitter, head of line first, so a receiver that was down
gets what it missed in order. Only an attempt whose outcome is unknown (a timeout after the
request went out, or a crash between the answer and the outbox update) can be repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import random
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Literal

import httpx

from ioc.clock import Clock
from ioc.db.pool import Conn
from streams.alerts import store
from streams.alerts.metrics import AlertMetrics
from streams.alerts.rules import Receiver
from streams.alerts.settings import AlertSettings

log = logging.getLogger("ioc.streams.alerts.delivery")

Outcome = Literal["sent", "retry", "failed"]
Db = Callable[[], AbstractAsyncContextManager[Conn]]
"""Borrow the leader's database connection (the service serialises its use)."""

SIGNATURE_HEADER = "X-IOC-Signature"
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


def classify(status: int) -> Outcome:
    """2xx delivered; 408, 429 and 5xx worth retrying; any other answer refused for good."""
    if 200 <= status < 300:
        return "sent"
    if status in (408, 429) or status >= 500:
        return "retry"
    return "failed"


def backoff(attempt: int, *, initial: float, maximum: float, rand: float) -> float:
    """Delay before retry number `attempt` (1-based): doubling, capped, with ±50 % jitter.

    The jitter keeps many replicas' (or receivers') retries from arriving in lockstep.
    """
    base = min(maximum, initial * 2.0 ** max(0, attempt - 1))
    return min(maximum, base * (0.5 + rand))


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


class WebhookDelivery:
    """Drains one webhook receiver's outbox, oldest first."""

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
    ) -> None:
        if receiver.url is None:
            raise ValueError(f"receiver {receiver.name!r} is not a webhook")
        self.receiver = receiver
        self.url = receiver.url
        self.db = db
        self.client = client
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.wake = wake
        self.retries = RetryLog(receiver.name)

    def _headers(self, body: bytes) -> dict[str, str] | None:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if self.receiver.secret_env is None:
            return headers
        secret = os.environ.get(self.receiver.secret_env)
        if not secret:
            return None
        headers[SIGNATURE_HEADER] = sign(body, secret.encode("utf-8"))
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

    async def run(self) -> None:
        """Deliver until cancelled (when this process stops leading or the receiver changes)."""
        name = self.receiver.name
        max_age = self.settings.alert_outbox_max_age_s
        while True:
            self.wake.clear()
            async with self.db() as conn:
                row = await store.next_owed(conn, name)
            if row is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=1.0)
                continue
            now = self.clock.now()
            if (now - row.created_at).total_seconds() > max_age:
                async with self.db() as conn:
                    await store.finish(conn, [row.seq], outcome="expired", at=now)
                self.metrics.notifications.labels(name, "expired").inc()
                log.warning("receiver %s: dropped notification %d, undelivered for too long", name, row.seq)
                continue
            result = await self.attempt(row.body)
            if result.outcome == "retry":
                delay = backoff(
                    self.retries.failures + 1,
                    initial=self.settings.alert_retry_initial_s,
                    maximum=self.settings.alert_retry_max_s,
                    rand=random.random(),  # noqa: S311 - jitter, not security
                )
                if result.retry_after is not None:
                    delay = min(max(delay, result.retry_after), self.settings.alert_retry_max_s)
                async with self.db() as conn:
                    await store.record_failure(conn, [row.seq], error=result.detail)
                self.metrics.notifications.labels(name, "retried").inc()
                self.retries.failed(result.detail, delay)
                await asyncio.sleep(delay)
                continue
            async with self.db() as conn:
                await store.finish(conn, [row.seq], outcome=result.outcome, at=self.clock.now())
            self.metrics.notifications.labels(name, result.outcome).inc()
            if result.outcome == "failed":
                self.retries.failures = 0
                log.error(
                    "receiver %s: notification %d refused (%s); not retried", name, row.seq, result.detail
                )
            else:
                self.retries.sent()
