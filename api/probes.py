"""Readiness probes: is the broker reachable, is the database answering, right now."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import asyncpg
from aiokafka.client import AIOKafkaClient

from ioc.retry import TRANSIENT_DB_ERRORS

log = logging.getLogger("ioc.api.probes")


class BrokerProbe:
    """A metadata request to the broker, the cheapest call that proves it really answers.

    `client` is ioc.kafka.client_options: the probe connects as securely as the worker does.
    """

    def __init__(self, client: Mapping[str, Any]) -> None:
        self.client = dict(client)
        self._client: AIOKafkaClient | None = None
        self._last: str | None = None

    async def check(self, timeout: float = 2.0) -> str | None:
        """None when reachable, else what went wrong; a change either way is logged once."""
        problem = await self._check(timeout)
        if problem is not None and self._last is None:
            log.warning("readiness: %s", problem)
        elif problem is None and self._last is not None:
            log.warning("readiness: broker reachable again")
        self._last = problem
        return problem

    async def _check(self, timeout: float) -> str | None:
        try:
            if self._client is None:
                client = AIOKafkaClient(
                    **self.client,
                    request_timeout_ms=int(timeout * 1000),
                    client_id="ioc-api-probe",
                )
                await asyncio.wait_for(client.bootstrap(), timeout)
                self._client = client
            ok = await asyncio.wait_for(self._client.fetch_all_metadata(), timeout)
            return None if ok and ok.brokers() else "broker returned no metadata"
        except (TimeoutError, OSError, Exception) as exc:  # noqa: BLE001 - any failure means not ready
            await self.close()
            return f"broker unreachable: {type(exc).__name__}: {exc}".rstrip(": ")

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                await client.close()
            except Exception:
                log.debug("closing broker probe client failed", exc_info=True)


async def check_database(pool: asyncpg.Pool, timeout: float = 2.0) -> str | None:
    """None when the database answers a query, else what went wrong."""
    try:
        async with asyncio.timeout(timeout):
            await pool.fetchval("SELECT 1")
        return None
    except TRANSIENT_DB_ERRORS as exc:
        return f"database unreachable: {type(exc).__name__}: {exc}".rstrip(": ")
