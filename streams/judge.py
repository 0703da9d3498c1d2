"""Judge one consumed batch: the duplicate memory brought to the hour, suspects asked of the
database, then `admit` in slices. The worker's loop (streams/consume.py) and the tests that
move a clock across hours run this same code."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from streams import dedupe_store
from streams.admit import (
    BatchResult,
    PartitionState,
    RawRecord,
    admit,
    batch_ids,
    held_before,
    scan,
    suspects,
)
from streams.dedupe_store import WithDb

_Tp = tuple[str, int]

SLICE = 250
"""Records judged between two turns of the event loop: well under a millisecond of work here."""


async def judge(
    records: list[RawRecord],
    states: dict[_Tp, PartitionState],
    *,
    now: datetime,
    grace: timedelta,
    future_tolerance: timedelta,
    with_db: WithDb[Any],
    settle: Callable[[], Awaitable[None]],
) -> BatchResult:
    """The batch's result (see `admit`). `with_db` runs a database step with retries; `settle`
    waits until the batch being written, if any, is stored (before an hour is sealed)."""
    hour = int(now.timestamp()) // 3600
    if dedupe_store.due(states, hour):  # an hour is over: sealed once all its batches are stored
        await settle()
        await dedupe_store.tend(states, hour, with_db)
    slices = [records[i : i + SLICE] for i in range(0, len(records), SLICE)]
    scans = [scan(s) for s in slices]
    ids = batch_ids(slices, scans, states)
    confirmed = await _confirmed(ids, states, with_db)
    held = held_before(ids, states, hour=hour, confirmed=confirmed)
    result = BatchResult()
    for i, (part, scanned) in enumerate(zip(slices, scans, strict=True)):
        if i:
            # Let the loop send the previous batch's statement (it may not fit the socket's
            # buffer in one go), read the database's answer and the broker's next fetch.
            await asyncio.sleep(0)
        admit(
            part,
            states,
            now=now,
            grace=grace,
            future_tolerance=future_tolerance,
            into=result,
            scanned=scanned,
            held=held,
        )
    return result


async def _confirmed(
    ids: Mapping[_Tp, npt.NDArray[np.int64]], states: dict[_Tp, PartitionState], with_db: WithDb[Any]
) -> dict[_Tp, set[int]]:
    """The batch's ids that the partitions' sealed hours perhaps hold and the database holds
    (streams/dedupe_store.py): nothing to ask while no partition holds a sealed hour."""
    if not any(s.seen.has_sealed for s in states.values()):
        return {}
    asked = suspects(ids, states)
    if not asked:
        return {}
    hours = {tp: states[tp].seen.sealed_hours for tp in asked}
    ask = functools.partial(dedupe_store.confirm, suspects=asked, hours=hours)
    found: dict[_Tp, set[int]] = await with_db(ask)
    return found
