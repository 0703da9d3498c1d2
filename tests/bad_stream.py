"""Bad records mixed into a crash test's stream, and the check that each reached
`ioc.deadletter` exactly once (issue 21: dead letters are exactly once as a reader sees them).

    bad = bad_events(now, count=800)                   # every topic, two reasons
    async with Stream(bootstrap, bad, rate=8) as bad_stream: ...   # beside the good stream
    await assert_dead_lettered_once(bootstrap, bad_stream.sent)
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import orjson

from schemas.topics import DEADLETTER
from sources import SOURCES
from streams.dltopic import letter_id, read_values
from tests.factories import encode, valid_event

Event = dict[str, Any]


def bad_events(now: datetime, *, count: int) -> list[Event]:
    """`count` bad events over every event type of every topic: half `unknown_version`, half
    `future` (an hour ahead of `now`). Neither depends on what else a partition holds, so each
    is rejected whichever worker judges it, and each is distinct bytes."""
    types = [t for topic in SOURCES.topics for t in topic.types]
    out = []
    for i in range(count):
        type_name = types[i % len(types)]
        if i % 2:
            out.append(valid_event(type_name, occurred_at=now + timedelta(hours=1)))
        else:
            out.append(valid_event(type_name, schema_version=2))
    return out


def rejected_outcomes(bad: list[Event]) -> dict[str, int]:
    """The outcome the database must hold for each bad event, counted by reason."""
    return dict(Counter("unknown_version" if e["schema_version"] != 1 else "future" for e in bad))


async def dead_letters(bootstrap: str) -> list[dict[str, Any]]:
    values = await read_values({"bootstrap_servers": bootstrap}, DEADLETTER)
    return [orjson.loads(v) for v in values if letter_id(v) is not None]


async def assert_dead_lettered_once(bootstrap: str, bad: list[Event], *, timeout: float = 30) -> None:
    """Each bad event is in the dead-letter topic once, and nothing else is. Waits for the last
    batch's dead letters (sent once that batch is stored) up to `timeout`."""
    deadline = time.monotonic() + timeout
    letters = await dead_letters(bootstrap)
    while len(letters) < len(bad) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        letters = await dead_letters(bootstrap)
    ids = Counter((d["topic"], d["partition"], d["offset"]) for d in letters)
    twice = {i: n for i, n in ids.items() if n > 1}
    assert not twice, f"{len(twice)} bad records dead-lettered more than once: {list(twice.items())[:5]}"
    originals = Counter(base64.b64decode(d["value_b64"]) for d in letters)
    expected = Counter(encode(e) for e in bad)
    missing = len(expected - originals)
    assert originals == expected, f"{missing} bad records missing, {len(originals - expected)} unexpected"
