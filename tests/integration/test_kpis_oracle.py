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
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import cast

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
from tests.factories import Rec, encode, key_of, topic_of, valid_event
from tests.scenarios import scenario

pytestmark = pytest.mark.integration

REGISTRY = load_registry()
CTX = KpiContext(REGISTRY, SOURCES)
CONFIG = oracle.OracleConfig(registry=REGISTRY)
NOW = datetime(2026, 3, 3, 3, 17, 42, tzinfo=UTC)  # 10:17:42 in the province, a Tuesday
TABLES = (
    "ingest_offsets, ingest_minute, accepted_fingerprints, accepted_fingerprints_sealed, kpi_minute,"
    " kpi_hour, kpi_sketch_minute, kpi_sketch_hour, kpi_distinct_minute, kpi_distinct_hour, vc_presence,"
    " vc_endpoints, vc_meetings,"
    " eoffice_documents, portal_applications, portal_pending, market_merchants, community_teams,"
    " dimension_values, kpi_state_minute"
)
WINDOWS = ("5m", "15m", "1h", "6h", "24h", "7d")


async def run_pipeline(
    conn: asyncpg.Connection,
    events: list[dict[str, object]],
    cuts: list[int],
    states: dict[tuple[str, int], PartitionState] | None = None,
) -> None:
    """Feed `events` (in arrival order) through admission, effects and sink, batch by batch,
    as records appended to partition 0 of their topics."""
    states = {} if states is None else states
    records: list[Rec] = []
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
    """Every KPI, every window of `WINDOWS`, total and by every dimension it has, equals the
    oracle's."""
    world = oracle._World(events, CONFIG)  # one world for every KPI: the same answers, faster
    mismatches: list[tuple[object, ...]] = []
    for window in WINDOWS:
        for by in (None, *SOURCES.dimensions):
            names = [k.name for k in CATALOG if by is None or by in k.breakdowns]
            if not names:
                continue
            got = await kpi_values(conn, names, as_of=as_of, window=window, by=by, ctx=CTX)
            for name in names:
                want = oracle._kpi(world, name, as_of, window, by.value if by else None)
                want_map = want if isinstance(want, dict) else {"": want}
                pct = name.endswith(("_p50", "_p95"))
                keys = set(got[name])
                if keys != set(want_map):
                    mismatches.append((name, window, by, "keys", sorted(keys ^ set(want_map))))
                    continue
                for key in keys & set(want_map):
                    g, w = got[name][key], want_map[key]
                    if not close(g, w, percentile=pct):
                        mismatches.append((name, window, by, key, g, w))
    assert not mismatches, "\n".join(map(str, mismatches[:30]))


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(database_url)
    yield c
    await c.close()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
async def test_every_kpi_equals_the_oracle(conn: asyncpg.Connection, seed: int, data: st.DataObject) -> None:
    await conn.execute(f"TRUNCATE {TABLES}")
    events = scenario(random.Random(seed), NOW, REGISTRY, history=True)
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
            wanted: dict[datetime, oracle.Result] = {}
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
                            as_of=NOW,  # the state KPI a share divides by, where no sample was taken
                        )
                    want = wanted[t]
                    w = want.get(key) if isinstance(want, dict) else want
                    if not close(value, w, percentile=kpi.name.endswith(("_p50", "_p95"))):
                        mismatches.append((kpi.name, step, by, key, t, value, w))
    assert not mismatches, "\n".join(map(str, mismatches[:20]))


@pytest.mark.parametrize("step", ["1m", "1h"])
async def test_series_of_shares_divide_by_the_state_sampled_in_each_step(
    conn: asyncpg.Connection, step: str
) -> None:
    """Points of `market.active_pct` and `community.teams_active_pct` divide by the state KPI as
    sampled in their step, or as it is now where no sample was taken (oracle choice 26); the
    counts beside them need no divisor. Merchants and teams change between the samples and now."""
    events = scenario(random.Random(23), NOW, REGISTRY, history=True)
    first = len(events) * 2 // 3  # the events stored when the samples were taken
    states: dict[tuple[str, int], PartitionState] = {}
    await run_pipeline(conn, events[:first], [first // 2], states)
    current = NOW.replace(second=0, microsecond=0)
    samples = [current - timedelta(minutes=m) for m in (150, 75, 30, 29, 2)]
    for m in samples:  # what the leader's maintenance does at each minute's end
        await sample_state(cast("asyncpg.Pool", conn), CTX, m, m + timedelta(minutes=1))
    await run_pipeline(conn, events[first:], [], states)
    assert oracle.state_kpi(events[:first], "market.merchants", as_of=NOW, config=CONFIG) != oracle.state_kpi(
        events, "market.merchants", as_of=NOW, config=CONFIG
    ) or oracle.state_kpi(events[:first], "community.teams", as_of=NOW, config=CONFIG) != oracle.state_kpi(
        events, "community.teams", as_of=NOW, config=CONFIG
    ), "the seed must change a divisor after the samples"

    size = timedelta(minutes=STEPS[step])
    start, end = NOW - timedelta(hours=3), NOW
    mismatches = []
    for name in (
        "market.payments",
        "market.merchants_active",
        "market.active_pct",
        "community.teams_active_pct",
    ):
        for by in (None, *BY_NAME[name].breakdowns):
            got = await series(conn, name, start=start, end=end, step=step, by=by, ctx=CTX, as_of=NOW)
            wanted: dict[datetime, oracle.Result] = {}
            for key, points in got.items():
                for t, value in points:
                    if t not in wanted:
                        taken = [m for m in samples if t <= m < t + size]
                        sample = oracle.Sample(max(taken) + timedelta(minutes=1), first) if taken else None
                        wanted[t] = oracle.range_kpi(
                            events,
                            name,
                            start=t,
                            end=t + size,
                            by=by.value if by else None,
                            config=CONFIG,
                            as_of=NOW,
                            sample=sample,
                        )
                    want = wanted[t]
                    w = want.get(key) if isinstance(want, dict) else want
                    if not close(value, w, percentile=False):
                        mismatches.append((name, step, by, key, t, value, w))
    assert not mismatches, "\n".join(map(str, mismatches[:20]))


async def test_state_series_are_the_samples_taken_at_each_minutes_end(conn: asyncpg.Connection) -> None:
    events = scenario(random.Random(5), NOW, REGISTRY)
    await run_pipeline(conn, events, [])
    minutes = [NOW.replace(second=0, microsecond=0) + timedelta(minutes=i) for i in range(3)]
    for m in minutes:  # what the leader's maintenance does at each minute's end
        await sample_state(cast("asyncpg.Pool", conn), CTX, m, m + timedelta(minutes=1))
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


# --- the known pipeline bugs, each as small as it gets ------------------------------------------


def _market_and_teams() -> list[dict[str, object]]:
    stall = {"market": "CHO_YEN_SON", "district": "YEN_SON", "commune": "YS-001", "provider": "vnpt_money"}
    team = {"team_id": "CT-1", "district": "YEN_SON", "commune": "YS-001"}
    return [
        valid_event(
            "merchant.onboarded", occurred_at=NOW - timedelta(minutes=90), merchant_id="MK-1", **stall
        ),
        valid_event(
            "payment.completed", occurred_at=NOW - timedelta(minutes=60), merchant_id="MK-1", **stall
        ),
        valid_event("team.registered", occurred_at=NOW - timedelta(minutes=90), level="village", **team),
        valid_event("activity.reported", occurred_at=NOW - timedelta(minutes=60), kind="training", **team),
    ]


async def test_a_share_is_0_where_its_window_has_no_rows(conn: asyncpg.Connection) -> None:
    events = _market_and_teams()
    await run_pipeline(conn, events, [])
    shares = ["market.active_pct", "community.teams_active_pct"]
    for name in shares:  # the oracle: no payment (activity) in 5 minutes, 1 merchant (team): 0 %
        assert oracle.kpi(events, name, as_of=NOW, window="5m", config=CONFIG) == 0.0
    by_kind = oracle.kpi(
        events, "community.teams_active_pct", as_of=NOW, window="5m", by="kind", config=CONFIG
    )
    assert isinstance(by_kind, dict) and set(by_kind.values()) == {0.0}
    got = await kpi_values(conn, shares, as_of=NOW, window="5m", by=None, ctx=CTX)
    got_by_kind = await kpi_values(
        conn, ["community.teams_active_pct"], as_of=NOW, window="5m", by=Dimension("kind"), ctx=CTX
    )
    assert (got, got_by_kind["community.teams_active_pct"]) == (
        {"market.active_pct": {"": 0.0}, "community.teams_active_pct": {"": 0.0}},
        by_kind,
    )


async def test_values_only_merchant_or_team_events_carry_are_breakdown_keys(
    conn: asyncpg.Connection,
) -> None:
    unlisted = {"market": "CHO_MOI", "district": "YEN_SON", "commune": "YS-001", "provider": "other"}
    events = [
        *_market_and_teams(),
        valid_event(
            "merchant.onboarded", occurred_at=NOW - timedelta(minutes=20), merchant_id="MK-2", **unlisted
        ),
        valid_event(
            "merchant.offboarded", occurred_at=NOW - timedelta(minutes=10), merchant_id="MK-2", **unlisted
        ),
        valid_event(
            "team.members_changed",
            occurred_at=NOW - timedelta(minutes=10),
            team_id="CT-2",
            district="YEN_SON",
            commune="XA_MOI",
            members=3,
        ),
    ]
    await run_pipeline(conn, events, [])
    by_market = await kpi_values(
        conn, ["market.payments"], as_of=NOW, window="1h", by=Dimension("market"), ctx=CTX
    )
    by_commune = await kpi_values(
        conn, ["community.activities"], as_of=NOW, window="1h", by=Dimension.COMMUNE, ctx=CTX
    )
    assert (
        by_market["market.payments"].get("CHO_MOI"),
        by_commune["community.activities"].get("XA_MOI"),
    ) == (0, 0)


EARLIEST = [("level", {"village": 1}), ("commune", {"YS-001": 1})]
"""The team by the level and commune of its earliest registration."""


async def test_a_team_registered_twice_keeps_its_earliest_registration(
    conn: asyncpg.Connection,
) -> None:
    earliest = valid_event(
        "team.registered", occurred_at=NOW - timedelta(minutes=30), team_id="CT-1", level="village",
        district="YEN_SON", commune="YS-001", members=5,
    )  # fmt: skip
    again = valid_event(
        "team.registered", occurred_at=NOW - timedelta(minutes=20), team_id="CT-1", level="commune",
        district="YEN_SON", commune="YS-002", members=6,
    )  # fmt: skip
    seen: list[tuple[str, dict[str, float | None]]] = []
    for events, cuts in (([again, earliest], [1]), ([earliest, again], [])):  # two batches; one
        await conn.execute(f"TRUNCATE {TABLES}")
        await run_pipeline(conn, events, cuts)
        for by in (Dimension("level"), Dimension.COMMUNE):
            got = await kpi_values(conn, ["community.teams"], as_of=NOW, window="1h", by=by, ctx=CTX)
            want = oracle.state_kpi(events, "community.teams", as_of=NOW, by=by.value, config=CONFIG)
            assert isinstance(want, dict) and (by, {k: v for k, v in want.items() if v}) in EARLIEST
            seen.append((by, {k: v for k, v in got["community.teams"].items() if v}))
    assert seen == EARLIEST * 2
