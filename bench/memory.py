"""Peak memory of a worker that holds national-scale state.

The worker keeps per-partition duplicate memory (every accepted event id of the last 25
hours, as 64-bit fingerprints) in RAM; entity state lives in the database. So it is fed the
events that make that state: a million distinct `application.submitted` (open applications)
and twenty thousand endpoints' heartbeats, on a fresh broker and database. Its peak RSS
(`VmHWM`) is read from /proc once the database holds every record, and the database is
asked whether the state is really there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bench import dedupe_day
from bench.data import national_state, produce
from bench.dedupe_day import DedupeDay
from bench.env import Bench, connect, progress
from bench.pipeline import PipelineRun, run_pipeline

DEDUPE_HOURS = 25
"""How long the worker remembers accepted event ids (streams/dedupe.py)."""


@dataclass
class MemoryRun:
    applications: int = 0
    endpoints: int = 0
    records: int = 0
    start_rss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    open_applications: int = 0
    endpoints_stored: int = 0
    rate: float = 0.0
    produce_rate: float = 0.0

    dedupe_ids: int = 0
    dedupe_bytes_per_id: float = 0.0  # duplicate memory alone, ids spread over the whole window
    day: DedupeDay | None = None  # the national day, measured (bench/dedupe_day.py)

    @property
    def bytes_per_event(self) -> float:
        """Worker memory per accepted event (peak minus idle RSS, over records): the duplicate
        memory of one hour's events (all of this run's) and the batches in flight."""
        return max(0.0, self.peak_rss_mb - self.start_rss_mb) * 2**20 / self.records if self.records else 0.0

    def steady_state_mb(self, heartbeat_interval_s: float = 10.0) -> float:
        """RSS once every endpoint has beaten for the whole duplicate window, plus the applications:
        this run's peak, plus the ids it did not hold at the window's cost per id."""
        held = self.endpoints * DEDUPE_HOURS * 3600 / heartbeat_interval_s + self.applications
        return self.peak_rss_mb + max(0.0, held - self.records) * self.dedupe_bytes_per_id / 2**20


async def measure(bench: Bench) -> MemoryRun:
    s = bench.settings
    broker = await bench.new_broker(s.partitions)
    out = MemoryRun(applications=s.rss_applications, endpoints=s.rss_endpoints)
    run: PipelineRun | None = None
    try:
        records = national_state(s.rss_applications, s.rss_endpoints, s.rss_heartbeats, datetime.now(UTC))
        produced = await produce(broker.url, records, "national-scale state events")
        out.records, out.produce_rate = produced.records, produced.rate
        run = await run_pipeline(bench, broker, produced.records, keep_database=True, label="memory")
        out.peak_rss_mb = max(run.peak_rss_mb)
        out.start_rss_mb = min(run.start_rss_mb)
        out.rate = run.rate
        async with connect(run.database_url) as conn:
            out.open_applications = int(
                await conn.fetchval(
                    "SELECT count(*) FROM portal_applications"
                    " WHERE submitted_at IS NOT NULL AND resolved_at IS NULL"
                )
            )
            out.endpoints_stored = int(await conn.fetchval("SELECT count(*) FROM vc_endpoints"))
    finally:
        bench.stop_broker(broker)
        if run is not None:
            await bench.drop_database(run.database_url)
    out.dedupe_ids = s.dedupe_ids
    out.day = await dedupe_day.measure(bench, s.dedupe_ids)
    out.dedupe_bytes_per_id = out.day.bytes_per_id
    progress(
        f"memory: worker peak RSS {out.peak_rss_mb:,.0f} MB with {out.open_applications:,} open applications "
        f"and {out.endpoints_stored:,} endpoints"
    )
    return out
