"""Ingest on the real broker: valid, malformed, duplicate, late and future records, mixed.

Checks what was accepted (counters), what was dead-lettered (read back from ioc.deadletter,
with the original bytes), and that `ioc replay` brings a record back after a fix.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer

from cli.replay import read_deadletters
from cli.runtime.broker import EmbeddedBroker
from tests.factories import DROP, encode, valid_event
from tests.services import base_env, running_worker, sample, scrape, wait_until

pytestmark = pytest.mark.integration

TELEMETRY = "ioc.vc.telemetry"
KEY = b"TQ-YS-001"


def hb(at: datetime, **kw: object) -> dict[str, object]:
    return valid_event("vc.heartbeat", occurred_at=at, endpoint_id=KEY.decode(), **kw)


def ioc(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run an `ioc` command to completion (blocking is fine: nothing else runs meanwhile)."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], env=env, capture_output=True, text=True, timeout=60, check=True
    )


async def send(broker: EmbeddedBroker, records: list[tuple[bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    await producer.start()
    try:
        for key, value in records:  # one key: one partition, in this order
            await producer.send_and_wait(TELEMETRY, value=value, key=key)
    finally:
        await producer.stop()


async def test_mixed_records_are_sorted_dead_lettered_and_replayable(
    broker: EmbeddedBroker, database_url: str
) -> None:
    now = datetime.now(UTC)
    valid = [hb(now - timedelta(seconds=i)) for i in range(20)]
    malformed = {
        "not_object": b"[1, 2, 3]",
        "missing_field": encode(hb(now, rtt_ms=DROP)),
        "wrong_type": encode(hb(now, rtt_ms="12")),
        "unknown_version": encode(hb(now, schema_version=2)),
        "out_of_range": encode(hb(now, packet_loss_pct=101)),
    }
    late = hb(now - timedelta(hours=3))
    future = hb(now + timedelta(minutes=10))
    records = [(KEY, encode(e)) for e in valid]
    records += [(KEY, v) for v in malformed.values()]
    records += [(b"TQ-OTHER-9", encode(valid[0]))]  # key is not the event's endpoint
    records += [(KEY, encode(e)) for e in valid[:5]]  # a source's retries
    records += [(KEY, encode(late)), (KEY, encode(future))]

    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url)
    with running_worker(env) as (_w, metrics):
        await send(broker, records)
        wait_until(
            lambda: sample(scrape(metrics), "ioc_events_consumed_total", topic=TELEMETRY) == len(records),
            timeout=30,
            what="every record consumed",
        )
        s = scrape(metrics)
        assert sample(s, "ioc_events_accepted_total", topic=TELEMETRY) == 20
        assert sample(s, "ioc_events_duplicate_total", topic=TELEMETRY) == 5
        for reason in (*malformed, "key_mismatch", "late", "future"):
            assert sample(s, "ioc_events_rejected_total", topic=TELEMETRY, reason=reason) == 1, reason

    letters = await read_deadletters(broker.bootstrap_servers)
    assert Counter(dl.reason for dl in letters) == Counter([*malformed, "key_mismatch", "late", "future"])
    by_reason = {dl.reason: dl for dl in letters}
    for reason, original in malformed.items():
        assert by_reason[reason].value == original  # the exact bytes, for replay
        assert by_reason[reason].topic == TELEMETRY and by_reason[reason].key == KEY
    assert by_reason["key_mismatch"].key == b"TQ-OTHER-9"

    # The fix: a longer grace period. Replaying `late` now gets it accepted; `future` is still too far ahead.
    env["IOC_GRACE_PERIOD_S"] = str(4 * 3600)
    with running_worker(env) as (_w, metrics):
        out = ioc("replay", "--reason", "late", "--reason", "future", env=env)
        assert "2 selected" in out.stderr and "sent 2 to ioc.vc.telemetry" in out.stderr
        wait_until(
            lambda: sample(scrape(metrics), "ioc_events_consumed_total", topic=TELEMETRY) == 2,
            timeout=30,
            what="the replayed records consumed",
        )
        s = scrape(metrics)
        assert sample(s, "ioc_events_accepted_total", topic=TELEMETRY) == 1
        assert sample(s, "ioc_events_rejected_total", topic=TELEMETRY, reason="future") == 1


async def test_dry_run_sends_nothing(broker: EmbeddedBroker) -> None:
    env = base_env(IOC_KAFKA_URL=broker.url)
    out = ioc("replay", "--dry-run", env=env)
    assert "0 dead letters, 0 selected" in out.stderr
