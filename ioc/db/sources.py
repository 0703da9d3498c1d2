"""Per source topic: what arrived lately and how fresh it is (read by the API and dashboards)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg


@dataclass
class SourceStats:
    topic: str
    newest_event_at: datetime | None = None
    records_5m: dict[str, int] = field(default_factory=dict)  # outcome -> records
    consumer_lag: int | None = None

    @property
    def accepted_5m(self) -> int:
        return self.records_5m.get("accepted", 0)

    @property
    def rejected_5m(self) -> int:
        return sum(n for o, n in self.records_5m.items() if o not in ("accepted", "duplicate"))


async def source_stats(
    conn: asyncpg.Connection | asyncpg.Pool, *, now: datetime, topics: Sequence[str]
) -> list[SourceStats]:
    """Newest accepted event time and the last 5 minutes' records by outcome, for every source
    topic in `topics` (the registry's: the kernel knows no source)."""
    stats = {t: SourceStats(t) for t in topics}
    since = now.replace(second=0, microsecond=0) - timedelta(minutes=5)
    for r in await conn.fetch(
        "SELECT topic, outcome, sum(records)::bigint AS n FROM ingest_minute"
        " WHERE bucket >= $1 GROUP BY topic, outcome",
        since,
    ):
        if r["topic"] in stats:
            stats[r["topic"]].records_5m[r["outcome"]] = r["n"]
    for r in await conn.fetch(
        "SELECT topic, max(newest_event_at) AS newest,"
        " sum(greatest(high_watermark - next_offset, 0))::bigint AS lag"
        " FROM ingest_offsets GROUP BY topic"
    ):
        if r["topic"] in stats:
            stats[r["topic"]].newest_event_at = r["newest"]
            stats[r["topic"]].consumer_lag = r["lag"]
    return list(stats.values())
