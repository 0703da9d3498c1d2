"""The bench's input: the simulator's day of province traffic, national-scale state, and markers.

The main data set is real simulator output (`ioc simulate --to-file`), generated once and kept
in the work directory (same rate, span and seed: same events), then replayed into each fresh
broker with the simulator's own Kafka sink. The national-scale state of the memory phase is
synthetic but contract-valid: a million distinct open applications and twenty thousand
endpoints, far beyond what the province simulator makes, drawn from the shipped registry.
"""

from __future__ import annotations

import hashlib
import itertools
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from bench.env import REPO, Bench, progress
from ioc.registry import load_registry
from ioc.simulation.rhythm import time_formatter
from simulator.records import Record, read_records
from simulator.runner import drive
from simulator.sinks import KafkaSink
from sources import PORTAL_APPLICATIONS, VC_TELEMETRY


@dataclass
class Produced:
    """What one fill of a broker sent."""

    records: int
    by_topic: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


def data_file(bench: Bench) -> Path:
    """The simulator file of the main data set, generated on first use and cached."""
    s = bench.settings
    if s.data_file is not None:
        return s.data_file
    return simulated_file(bench, s.sim_rate, s.sim_duration, s.sim_topics, what="data set")


def simulated_file(
    bench: Bench,
    rate: float,
    duration: str,
    topics: tuple[str, ...],
    *,
    start: str | None = None,
    what: str,
) -> Path:
    """A file of simulator traffic (`topics` at `rate` for `duration`), generated once and cached
    under a name that says what it holds (same arguments and seed: same events)."""
    s = bench.settings
    label = f"{rate:g}".replace(".", "_")
    mix = hashlib.sha256(",".join((*topics, start or "")).encode()).hexdigest()[:8]
    path = bench.workdir / f"sim-rate{label}-{duration}-seed{s.sim_seed}-{mix}.jsonl.gz"
    if path.exists():
        progress(f"{what}: reusing {path.name}")
        return path
    progress(f"{what}: generating {duration} of simulator traffic at {rate:g}x (seed {s.sim_seed})")
    partial = path.with_suffix(".partial.gz")
    started = time.perf_counter()
    args = ["--to-file", str(partial), "--rate", str(rate), "--duration", duration]
    args += ["--seed", str(s.sim_seed), "--quiet"]
    args += [a for t in topics for a in ("--topic", t)]
    args += ["--start", start] if start else []
    subprocess.run(  # noqa: S603 - our own arguments
        [sys.executable, "-m", "cli", "simulate", *args], check=True, cwd=REPO, env=bench.child_env({})
    )
    partial.rename(path)
    progress(f"{what}: generated in {time.perf_counter() - started:.1f} s")
    return path


def file_records(path: Path, limit: int | None = None) -> Iterator[Record]:
    records = read_records(path)
    return itertools.islice(records, limit) if limit is not None else records


async def produce(bootstrap_url: str, records: Iterable[Record], what: str) -> Produced:
    """Send records with the simulator's batched Kafka sink (acks=all); returns counts by topic."""
    started = time.perf_counter()
    sink = KafkaSink(bootstrap_url)
    await sink.start()
    stats = await drive(records, sink, None, batch_size=10_000)  # closes the sink
    out = Produced(stats.records, dict(stats.by_topic), time.perf_counter() - started)
    progress(f"produced {out.records:,} {what} in {out.seconds:.1f} s ({out.rate:,.0f}/s)")
    return out


def national_state(applications: int, endpoints: int, heartbeats: int, now: datetime) -> Iterator[Record]:
    """`applications` distinct open applications and `endpoints` endpoints beating `heartbeats` times.

    Submissions are spread over the last day, due in a week (open, not overdue), over the
    registry's districts, agencies and services; endpoints get the registry's districts and
    site levels. Event times end at `now` so nothing is judged late or in the future.
    """
    reg = load_registry()
    districts = [d.code for d in reg.districts]
    agencies = list(reg.agency_codes)
    services = list(reg.services)
    levels = ("province", "department", "district", "commune")
    fmt = time_formatter(reg.province.utc_offset_minutes)
    now_ms = int(now.timestamp() * 1000)
    tag = uuid.uuid4().hex[:6]
    dumps = orjson.dumps
    span_ms = 86_400_000
    for i in range(applications):
        occurred = now_ms - span_ms + (i * span_ms) // max(1, applications)
        service = services[i % len(services)]
        app_id = f"NS-{tag}-{i:08d}"
        payload = {
            "event_id": f"ns-{tag}-a{i}",
            "type": "application.submitted",
            "occurred_at": fmt(occurred),
            "source": "dvc-portal",
            "schema_version": 1,
            "application_id": app_id,
            "service_code": service.service_code,
            "service_level": service.level,
            "agency": service.agency or agencies[i % len(agencies)],
            "district": districts[i % len(districts)],
            "channel": "online" if i % 5 else "counter",
            "due_at": fmt(occurred + 7 * span_ms),
        }
        yield Record(PORTAL_APPLICATIONS, app_id.encode(), dumps(payload), occurred)
    for beat in range(heartbeats):
        at = now_ms - (heartbeats - beat) * 10_000
        for e in range(endpoints):
            endpoint = f"NS-{e:05d}"
            payload = {
                "event_id": f"ns-{tag}-h{beat}-{e}",
                "type": "vc.heartbeat",
                "occurred_at": fmt(at + e % 10_000),
                "source": "vc-mcu-1",
                "schema_version": 1,
                "endpoint_id": endpoint,
                "site_level": levels[e % 4],
                "district": districts[e % len(districts)],
                "in_meeting": e % 3 == 0,
                "rtt_ms": 20.0 + e % 200,
                "jitter_ms": 1.0 + e % 30,
                "packet_loss_pct": (e % 50) / 10,
                "bitrate_kbps": 1536,
            }
            yield Record(VC_TELEMETRY, endpoint.encode(), dumps(payload), at)


MARKER_KEY = b"BENCH-MARKER"


def marker(seq: int, tag: str, now: datetime | None = None) -> tuple[bytes, bytes]:
    """(key, value) of freshness marker `seq`: an `application.submitted` that adds exactly one to
    `portal.submitted`. Every marker has the same key, so all land on one partition and become
    visible in the order sent: the count seen is the number of markers through."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    value = {
        "event_id": f"bench-marker-{tag}-{seq}",
        "type": "application.submitted",
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "source": "dvc-portal",
        "schema_version": 1,
        "application_id": MARKER_KEY.decode(),
        "service_code": "BENCH",
        "service_level": 4,
        "agency": "BENCH",
        "district": "BENCH",
        "channel": "online",
        "due_at": (at + timedelta(days=7)).isoformat().replace("+00:00", "Z"),
    }
    return MARKER_KEY, orjson.dumps(value)
