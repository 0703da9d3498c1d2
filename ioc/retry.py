"""Retrying what fails for a while: which database errors are transient, and the backoff.

Every loop that talks to the database or a webhook retries the same way, so an outage looks
the same in every log and no two replicas retry in lockstep.
"""

from __future__ import annotations

import random

import asyncpg

TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)
"""Errors after which a database call is worth retrying: the server or the network is away."""


def backoff(attempt: int, *, initial: float, maximum: float, rand: float | None = None) -> float:
    """Delay before retry number `attempt` (1-based): doubling from `initial`, capped at
    `maximum`, with ±50 % jitter (`rand` in [0, 1); drawn when not given).

    The jitter keeps many replicas' (or receivers') retries from arriving in lockstep.
    """
    if rand is None:
        rand = random.random()  # noqa: S311 - jitter, not security
    base = min(maximum, initial * 2.0 ** max(0, attempt - 1))
    return min(maximum, base * (0.5 + rand))
