"""Nothing is lost and nothing counted twice when things break for real.

Each test runs the product's own `ioc worker` (and `ioc api`) processes against the real
embedded broker and PostgreSQL, streams thousands of events of every topic (with a source's
re-sends) while it breaks something — `kill -9` of a worker, workers joining and leaving,
PostgreSQL stopped for 30 s, the broker stopped and started empty — and then checks that
the database holds exactly one outcome per record sent and that every KPI equals the oracle
(tests/oracle.py) over all events sent.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from cli.runtime.broker import EmbeddedBroker
from cli.runtime.postgres import EmbeddedPostgres
from ioc.db.migrate import migrate
from sources import SOURCE_TOPIC_NAMES, SOURCES
from tests.bad_stream import assert_dead_lettered_once, bad_events, rejected_outcomes
from tests.chaos import (
    Api,
    Stream,
    Worker,
    as_record,
    assert_kpis_equal_oracle,
    assert_stored_exactly,
    event_stream,
    produce,
    scrape,
    stored_outcomes,
    total,
    wait_for,
)
from tests.factories import topic_of
from tests.services import base_env

pytestmark = pytest.mark.integration

SESSION_S = "5"  # a killed member's session expires after this; the restarted worker then rejoins
PER_SCENARIO = 107  # events in one scenario set (tests/scenarios.py), on average, every topic


def env_for(broker_url: str, database_url: str, *, batch: int = 250) -> dict[str, str]:
    return base_env(
        IOC_KAFKA_URL=broker_url,
        IOC_DATABASE_URL=database_url,
        IOC_SESSION_TIMEOUT_S=SESSION_S,
        IOC_BATCH_MAX_RECORDS=str(batch),  # small: many transactions, so kills land inside some
        IOC_LOG_LEVEL="INFO",
    )


async def stored_count(database_url: str) -> int:
    return sum((await stored_outcomes(database_url)).values())


# -- kill -9 --------------------------------------------------------------------------------------


async def kill_nine_repeatedly(
    broker: EmbeddedBroker,
    database_url: str,
    log: Path,
    *,
    kills: int,
    seed: int,
    rate: float,
    batch: int = 250,
) -> list[tuple[int, int]]:
    """Stream while killing the worker `kills` times at random moments; each time a new worker
    (same group) takes over from the offsets in the database. Bad records flow beside, at a
    tenth of the rate: each must be dead-lettered exactly once. Returns (sent, stored) per kill."""
    rng = random.Random(seed)
    # enough for 25 s a kill at `rate`: the stream outlasts the kills
    events = event_stream(rng, datetime.now(UTC), scenarios=int(rate * kills * 25 / PER_SCENARIO) + 1)
    bad = bad_events(datetime.now(UTC), count=int(rate / 10 * kills * 25) + 1)
    env = env_for(broker.url, database_url, batch=batch)
    worker = Worker(env, log).start()
    history: list[tuple[int, int]] = []
    try:
        await worker.wait_owning()
        async with (
            Stream(broker.bootstrap_servers, events, rate=rate) as stream,
            Stream(broker.bootstrap_servers, bad, rate=rate / 10) as bad_stream,
        ):
            for _ in range(kills):
                await worker.wait_owning(timeout=90)
                await asyncio.sleep(rng.uniform(0.0, 3.0))
                assert stream.running, "the stream must still flow at every kill"
                stored = await stored_count(database_url)
                worker.kill()
                history.append((len(stream.sent) + len(bad_stream.sent), stored))
                worker = Worker(env, log).start()
            await stream.stop()
            await bad_stream.stop()
        sent = stream.sent
        assert len(sent) >= 2000, f"only {len(sent)} events sent: not a sustained stream"
        topics = {topic_of(str(e["type"])) for e in sent}
        assert topics == set(SOURCE_TOPIC_NAMES), f"the stream must hold every topic, not only {topics}"
        rejected = rejected_outcomes(bad_stream.sent)
        await assert_stored_exactly(database_url, sent, timeout=120, rejected=rejected)
        await assert_kpis_equal_oracle(database_url, sent, datetime.now(UTC))
        await assert_dead_lettered_once(broker.bootstrap_servers, bad_stream.sent)
    finally:
        worker.stop()
    # The stream ran ahead of the stored batches at the kills: they struck a working pipeline.
    assert sum(s > d for s, d in history) >= kills // 2, history
    print(
        f"{kills} kills survived, {len(sent)} events and {len(bad_stream.sent)} bad records sent;"
        f" (sent, stored) at each kill: {history}; {worker.log().count('left by a crash')} recoveries"
    )
    return history


async def test_kill_9_five_times_mid_stream_loses_nothing(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    history = await kill_nine_repeatedly(
        broker, database_url, tmp_path / "worker.log", kills=5, seed=20260301, rate=80
    )
    assert len(history) == 5


@pytest.mark.slow
async def test_kill_9_twelve_times_with_big_batches(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    history = await kill_nine_repeatedly(
        broker, database_url, tmp_path / "worker.log", kills=12, seed=7, rate=150, batch=5000
    )
    assert len(history) == 12


# -- scale-out ------------------------------------------------------------------------------------


async def owned(workers: list[Worker]) -> list[float]:
    return [await w.partitions() for w in workers]


async def test_two_then_three_workers_rebalance_while_events_flow(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    env = env_for(broker.url, database_url)
    log = tmp_path / "workers.log"
    # 2 min at 100/s
    events = event_stream(random.Random(3), datetime.now(UTC), scenarios=12_000 // PER_SCENARIO)
    partitions = len(SOURCE_TOPIC_NAMES) * 4  # source topics x IOC_PARTITIONS
    first = Worker(env, log).start()
    workers = [first]
    try:
        await first.wait_owning()
        async with Stream(broker.bootstrap_servers, events, rate=100) as stream:

            async def split_among(group: list[Worker]) -> bool:
                counts = await owned(group)
                return all(c > 0 for c in counts) and sum(counts) == partitions

            await asyncio.sleep(2)
            workers.append(Worker(env, log).start())  # a second worker joins
            await wait_for(lambda: split_among(workers), timeout=60, what="two workers sharing")
            await asyncio.sleep(2)
            workers.append(Worker(env, log).start())  # and a third
            await wait_for(lambda: split_among(workers), timeout=60, what="three workers sharing")
            await asyncio.sleep(2)
            assert stream.running
            first.stop()  # a worker leaves cleanly: it stores its batch in hand, then revokes
            await wait_for(lambda: split_among(workers[1:]), timeout=60, what="two left sharing")
            await asyncio.sleep(2)
            workers[1].kill()  # and one dies: the last takes everything once its session expires
            await wait_for(lambda: split_among(workers[2:]), timeout=60, what="the last owning all")
            assert stream.running, "the stream must flow through every rebalance"
            await stream.finish()
        await assert_stored_exactly(database_url, stream.sent)
        await assert_kpis_equal_oracle(database_url, stream.sent, datetime.now(UTC))
    finally:
        for w in workers:
            w.stop()
    print(f"1 -> 2 -> 3 -> 2 -> 1 workers while {len(stream.sent)} events flowed; nothing lost")


# -- database outage ------------------------------------------------------------------------------


@pytest.fixture
async def own_pg(tmp_path: Path) -> AsyncIterator[EmbeddedPostgres]:
    """A PostgreSQL server of this test's own, to stop and start."""
    pg = EmbeddedPostgres(tmp_path / "pgdata")
    pg.start()
    conn = await asyncpg.connect(pg.url)
    try:
        await migrate(conn, sources=SOURCES.migrations)
    finally:
        await conn.close()
    yield pg
    pg.stop()


OUTAGE_S = 30


async def test_database_outage_of_30_s_loses_nothing(
    broker: EmbeddedBroker, own_pg: EmbeddedPostgres, tmp_path: Path
) -> None:
    url = own_pg.url
    env = env_for(broker.url, url)
    rng = random.Random(30)
    events = event_stream(rng, datetime.now(UTC), scenarios=7_500 // PER_SCENARIO)
    # sent while the database is down
    burst = event_stream(rng, datetime.now(UTC), scenarios=15_750 // PER_SCENARIO)
    worker = Worker(env, tmp_path / "worker.log").start()
    api = Api(env, tmp_path / "api.log").start()
    try:
        await worker.wait_owning()
        await api.wait_up()
        assert (await api.readyz())[0] == 200
        async with Stream(broker.bootstrap_servers, events, rate=100) as stream:
            await wait_for(lambda: stored_count(url), timeout=30, what="the first events stored")
            await asyncio.sleep(2)
            rss_before = worker.rss_bytes()
            own_pg.stop()
            loop = asyncio.get_running_loop()
            down_at = loop.time()
            await produce(broker.bootstrap_servers, [as_record(e) for e in burst])
            readyz: list[tuple[int, dict[str, object]]] = []
            rss: list[int] = []
            while loop.time() - down_at < OUTAGE_S:
                readyz.append(await api.readyz())
                rss.append(worker.rss_bytes())
                assert worker.alive and api.alive
                await asyncio.sleep(1)
            errors = total(await worker.metrics(), "ioc_db_write_errors_total")
            own_pg.restart()
            assert stream.running, "events flowed through the whole outage"
            await stream.finish()
        sent = [*stream.sent, *burst]
        await assert_stored_exactly(url, sent, timeout=120)
        await assert_kpis_equal_oracle(url, sent, datetime.now(UTC))
        assert (await api.readyz())[0] == 200
    finally:
        worker.stop()
        api.stop()
    # /readyz said so while it lasted (the first probe may race the stop)
    assert all(code == 503 and "database unreachable" in str(body["database"]) for code, body in readyz[1:])
    assert errors > 0, "the worker tried to write and was refused"
    # Back-pressure, not buffering: the worker holds at most its bounded fetch buffers
    # (a few MiB per partition) whatever piles up in the broker, and does not keep growing.
    growth = max(rss) - rss_before
    assert growth < 150 * 2**20, f"RSS grew {growth / 2**20:.0f} MiB during the outage"
    late_growth = max(rss[len(rss) // 2 :]) - max(rss[: len(rss) // 2])
    assert late_growth < 20 * 2**20, f"RSS still growing late in the outage: {late_growth / 2**20:.0f} MiB"
    print(
        f"outage {OUTAGE_S} s, {len(sent)} events, RSS +{growth / 2**20:.1f} MiB, {errors:.0f} write errors"
    )


# -- broker outage --------------------------------------------------------------------------------


async def test_broker_restarted_empty_is_detected_and_new_events_counted(
    database_url: str, tmp_path: Path
) -> None:
    broker = EmbeddedBroker()
    broker.start()
    env = env_for(broker.url, database_url)
    rng = random.Random(5)
    # The worker sees the reset when a partition's new log is still shorter than the offset it
    # stored (ENVIRONMENT.md: the broker is memory-only); sources that re-fill a partition past
    # that before the worker fetches again would hide it. Less after than before keeps it clear.
    before = event_stream(rng, datetime.now(UTC), scenarios=40)
    after = event_stream(rng, datetime.now(UTC), scenarios=5)
    resent = rng.sample(before, 40)  # a source re-sends some old events after the restart
    worker = Worker(env, tmp_path / "worker.log").start()
    api = Api(env, tmp_path / "api.log").start()
    try:
        await worker.wait_owning()
        await api.wait_up()
        await produce(broker.bootstrap_servers, [as_record(e) for e in before])
        await assert_stored_exactly(database_url, before)

        broker.stop()

        async def broker_down() -> bool:
            code, body = await api.readyz()
            return code == 503 and "broker unreachable" in str(body["broker"])

        loop = asyncio.get_running_loop()
        down_at = loop.time()
        await wait_for(broker_down, timeout=15, what="/readyz to report the broker")
        await asyncio.sleep(8)
        assert worker.alive and api.alive
        broker = EmbeddedBroker(port=broker.port)  # same port, empty: memory only
        broker.start()
        outage = loop.time() - down_at

        async def ready() -> bool:
            return (await api.readyz())[0] == 200

        await wait_for(ready, timeout=30, what="/readyz to recover")
        await produce(broker.bootstrap_servers, [as_record(e) for e in after + resent])
        sent = before + after + resent
        await assert_stored_exactly(database_url, sent, timeout=60)
        await assert_kpis_equal_oracle(database_url, sent, datetime.now(UTC))
        samples = await scrape(worker.metrics_url)
        assert total(samples, "ioc_broker_resets_total") > 0
        print(f"broker down {outage:.0f} s and back empty; {len(sent)} events, nothing lost")
    finally:
        worker.stop()
        api.stop()
        broker.stop()
    assert "broker was reset" in worker.log()
    assert "broker unreachable" in api.log() and "broker reachable again" in api.log()
