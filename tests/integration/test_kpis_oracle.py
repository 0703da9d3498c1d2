"""Every KPI, window and breakdown the pipeline computes equals the oracle's (tests/oracle.py).

Events go through the real admission rules, the real effects and the real sink into a real
PostgreSQL database, and are read back by the real query module; the oracle computes the same
from the raw event list. Batches are cut at random places so that state carried between
batches (duplicate memory, held portal contributions, entity rows) is exercised.
"""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ioc.kpi.query import KpiContext, kpi_values
from ioc.kpi.series import series
from ioc.registry import load_registry
from schemas.kpis import STEPS, Dimension, Kind
from sources import BY_NAME, CATALOG, SOURCES
from streams import sink
from streams.admit import PartitionState, admit
from streams.maintenance import sample_state
from tests import oracle
from tests.factories import Rec, encode, key_of, topic_of
from tests.scenarios import scenario

pytestmark = pytest.mark.integration

REGISTRY = load_registry()
CTX = KpiContext(REGISTRY, SOURCES)
CONFIG = oracle.OracleConfig(registry=REGISTRY)
NOW = datetime(2026, 3, 3, 3, 17, 42, tzinfo=UTC)  # 10:17:42 in the province, a Tuesday
TABLES = (
    "ingest_offsets, ingest_minute, accepted_fingerprints, kpi_minute, kpi_hour, kpi_sketch_minute,"
    " kpi_sketch_hour, vc_presence, vc_endpoints, vc_meetings, eoffice_documents,"
    " portal_applications, portal_pending, dimension_values, kpi_state_minute"
)


async def run_pipeline(
    conn: asyncpg.Connection,
    events: list[dict[str, object]],
    cuts: list[int],
    states: dict[tuple[str, int], PartitionState] | None = None,
) -> None:
    """Feed `events` (in arrival order) through admission, effects and sink, batch by batch,
    as records appended to partition 0 of their topics."""
    states = {} if states is None else states
    records = []
    for e in events:
        topic = topic_of(str(e["type"]))
        state = states.setdefault((topic, 0), PartitionState(topic, 0))
        records.append(
            Rec(topic, 0, state.next_offset + sum(r.topic == topic for r in records), key_of(e), encode(e))
        )
    bounds = [0, *sorted(set(cuts)), len(records)]
    for lo, hi in itertools.pairwise(bounds):
        result = admit(
            records[lo:hi], states, now=NOW, grace=timedelta(hours=2), future_tolerance=timedelta(minutes=5)
        )
        assert not result.deadletters, [v for _, v in result.deadletters]
        hour = int(NOW.timestamp()) // 3600  # NOW's hour, read here: tests/integration/test_api.py moves NOW
        await sink.store_batch(conn, group="g", result=result, arrival_minute=NOW, hour=hour)


def close(got: float | None, want: float | None, *, percentile: bool) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if percentile:
        return abs(got - want) <= 0.02 * abs(want) + 1e-9
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


async def assert_matches_oracle(
    conn: asyncpg.Connection, events: list[dict[str, object]], as_of: datetime
) -> None:
    mismatches = []
    for window in ("15m", "1h", "6h"):
        for by in (None, *SOURCES.dimensions):
            names = [k.name for k in CATALOG if by is None or by in k.breakdowns]
            if not names:
                continue
            got = await kpi_values(conn, names, as_of=as_of, window=window, by=by, ctx=CTX)
            for name in names:
                want = oracle.kpi(
                    events, name, as_of=as_of, window=window, by=by.value if by else None, config=CONFIG
                )
                want_map = want if isinstance(want, dict) else {"": want}
                pct = name.endswith(("_p50", "_p95"))
                if set(got[name]) != set(want_map):
                    mismatches.append((name, window, by, "keys", sorted(set(got[name]) ^ set(want_map))))
                    continue
                for key, w in want_map.items():
                    if not close(got[name][key], w, percentile=pct):
                        mismatches.append((name, window, by, key, got[name][key], w))
    assert not mismatches, "\n".join(map(str, mismatches[:30]))


@pytest.fixture
async def conn(database_url: str) -> asyncpg.Connection:
    c = await asyncpg.connect(database_url)
    yield c
    await c.close()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
async def test_every_kpi_equals_the_oracle(conn: asyncpg.Connection, seed: int, data: st.DataObject) -> None:
    await conn.execute(f"TRUNCATE {TABLES}")
    events = scenario(random.Random(seed), NOW, REGISTRY)
    cuts = data.draw(st.lists(st.integers(0, len(events)), max_size=4), label="batch cuts")
    await run_pipeline(conn, events, cuts)
    await assert_matches_oracle(conn, events, NOW)
    # a little later: windows slide, endpoints go offline, documents become overdue
    await assert_matches_oracle(conn, events, NOW + timedelta(minutes=7, seconds=5))


async def test_replaying_a_stored_batch_changes_nothing(conn: asyncpg.Connection) -> None:
    """A worker that crashed after storing resumes from the stored offset: the replay is skipped,
    and a source's re-send of the same events is recognised as duplicates."""
    events = scenario(random.Random(7), NOW, REGISTRY)
    await run_pipeline(conn, events, [len(events) // 2])
    before = await kpi_values(conn, list(BY_NAME), as_of=NOW, window="1h", by=None, ctx=CTX)
    # A new worker takes the partitions over from the database, and the source re-sends it all.
    states = {
        (t, 0): await sink.load_partition(conn, group="g", topic=t, partition=0, since_hour=-1)
        for t in {topic_of(str(e["type"])) for e in events}
    }
    assert all(s.next_offset > 0 and len(s.seen) > 0 for s in states.values())
    await run_pipeline(conn, events, [], states)
    after = await kpi_values(conn, list(BY_NAME), as_of=NOW, window="1h", by=None, ctx=CTX)
    assert before == after


@pytest.mark.parametrize("step", ["1m", "5m", "15m", "1h", "1d"])
async def test_series_points_equal_the_oracle_over_each_step(conn: asyncpg.Connection, step: str) -> None:
    events = scenario(random.Random(11), NOW, REGISTRY, span_min=115)
    await run_pipeline(conn, events, [len(events) // 3])
    start, end = NOW - timedelta(hours=3), NOW
    mismatches = []
    for kpi in (k for k in CATALOG if k.kind is Kind.WINDOW):
        for by in (None, *kpi.breakdowns):
            got = await series(conn, kpi.name, start=start, end=end, step=step, by=by, ctx=CTX, as_of=NOW)
            size = timedelta(days=1) if step == "1d" else timedelta(minutes=STEPS[step])
            wanted: dict[datetime, object] = {}
            for key, points in got.items():
                assert points, f"{kpi.name} {by} {key}: no points"
                for t, value in points:
                    if t not in wanted:
                        wanted[t] = oracle.range_kpi(
                            events,
                            kpi.name,
                            start=t,
                            end=t + size,
                            by=by.value if by else None,
                            config=CONFIG,
                        )
                    want = wanted[t]
                    w = want.get(key) if isinstance(want, dict) else want
                    if not close(value, w, percentile=kpi.name.endswith(("_p50", "_p95"))):
                        mismatches.append((kpi.name, step, by, key, t, value, w))
    assert not mismatches, "\n".join(map(str, mismatches[:20]))


async def test_state_series_are_the_samples_taken_at_each_minutes_end(conn: asyncpg.Connection) -> None:
    events = scenario(random.Random(5), NOW, REGISTRY)
    await run_pipeline(conn, events, [])
    minutes = [NOW.replace(second=0, microsecond=0) + timedelta(minutes=i) for i in range(3)]
    for m in minutes:  # what the leader's maintenance does at each minute's end
        await sample_state(conn, CTX, m, m + timedelta(minutes=1))
    for kpi in (k for k in CATALOG if k.kind is Kind.STATE):
        for by in (None, *(d for d in kpi.breakdowns if d is not Dimension.ENDPOINT)):
            got = await series(
                conn, kpi.name, start=minutes[0], end=minutes[-1] + timedelta(minutes=1), step="1m",
                by=by, ctx=CTX, as_of=NOW,
            )  # fmt: skip
            for key, points in got.items():
                assert [t for t, _ in points] == minutes
                for t, value in points:
                    want = oracle.state_kpi(
                        events,
                        kpi.name,
                        as_of=t + timedelta(minutes=1),
                        by=by.value if by else None,
                        config=CONFIG,
                    )
                    w = want.get(key) if isinstance(want, dict) else want
                    assert value == w, (kpi.name, by, key, t, value, w)
