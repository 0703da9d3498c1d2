"""Sustained throughput: the plain-consumer baseline and real `ioc worker` processes, side by side.

A pipeline run starts W workers in a fresh consumer group against a fresh database and polls
the database until `ingest_offsets` covers every record produced (each batch's offsets are
committed with its effects, so that sum is exactly what the database reflects). The clock
starts once the group is stable (every worker owns partitions, all partitions are owned),
so process start-up, migrations and rebalancing are not counted as throughput; the records
stored before that moment are subtracted. CPU seconds of the workers, the database server
and the broker over the same window say where the machine's two cores went.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import orjson

from bench.env import (
    REPO,
    Bench,
    Child,
    connect,
    cpu_seconds,
    machine_busy_seconds,
    proc_status_kb,
    progress,
    wait_for,
)
from cli.runtime.broker import EmbeddedBroker
from sources import SOURCE_TOPIC_NAMES
from tests.services import sample, scrape


@dataclass
class Baseline:
    """Plain consumer runs over the same topics, in this bench run."""

    rates: list[float] = field(default_factory=list)
    records: int = 0

    @property
    def rate(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0

    @property
    def spread(self) -> float:
        """(max - min) / median of the runs: how much the CPU drifted meanwhile."""
        return (max(self.rates) - min(self.rates)) / self.rate if len(self.rates) > 1 and self.rate else 0.0


@dataclass
class PipelineRun:
    """One measured pass of the data set through W worker processes."""

    workers: int
    partitions: int
    records: int
    measured_records: int = 0
    seconds: float = 0.0
    startup_s: float = 0.0
    worker_cpu_s: float = 0.0
    db_cpu_s: float = 0.0
    broker_cpu_s: float = 0.0
    machine_cpu_s: float = 0.0
    batches: int = 0
    batch_s: float = 0.0
    db_write_s: float = 0.0
    start_rss_mb: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    database_url: str = ""

    @property
    def rate(self) -> float:
        return self.measured_records / self.seconds if self.seconds else 0.0

    @property
    def other_cpu_s(self) -> float:
        """CPU the rest of the machine used meanwhile (the bench's polling, and anything else running)."""
        return max(0.0, self.machine_cpu_s - self.worker_cpu_s - self.db_cpu_s - self.broker_cpu_s)

    def core_share(self, cpu_s: float) -> float:
        """CPU seconds over the window as a share of one core (1.0 = one core busy)."""
        return cpu_s / self.seconds if self.seconds else 0.0


async def baseline_once(bench: Bench, broker: EmbeddedBroker, expect: int) -> float:
    """One plain-consumer process over the whole topic set; returns records/s."""
    s = bench.settings
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.rawconsume",
        "--bootstrap",
        broker.bootstrap_servers,
        "--expect",
        str(expect),
        "--max-records",
        str(s.batch_max_records),
        "--wait-ms",
        str(s.batch_max_wait_ms),
        "--timeout",
        str(s.pipeline_timeout_s),
        cwd=REPO,
        env=bench.child_env({}),
        stdout=subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    result = orjson.loads(out)
    if proc.returncode != 0:
        raise RuntimeError(f"plain consumer read {result['records']} of {expect} records")
    return float(result["rate"])


async def _offsets_stored(conn: asyncpg.Connection, group: str) -> int:
    """Records the database reflects: the sum of stored next offsets (a fresh broker starts at 0)."""
    value = await conn.fetchval(
        "SELECT coalesce(sum(next_offset), 0)::bigint FROM ingest_offsets WHERE consumer_group = $1", group
    )
    return int(value)


def _owned(metrics_urls: list[str]) -> list[float]:
    owned = []
    for url in metrics_urls:
        try:
            owned.append(sample(scrape(url), "ioc_partitions_assigned"))
        except (OSError, httpx.HTTPError):  # not serving metrics yet
            owned.append(0.0)
    return owned


def _cpu(bench: Bench, worker_pids: list[int]) -> tuple[float, float, float, float]:
    return (
        cpu_seconds(worker_pids),
        cpu_seconds(bench.database_pids()),
        cpu_seconds(bench.broker_pids()),
        machine_busy_seconds(),
    )


def _batch_metrics(run: PipelineRun, metrics_urls: list[str]) -> None:
    """Batches handled and where their time went, from the workers' own histograms."""
    for url in metrics_urls:
        samples = scrape(url)
        run.batches += int(sample(samples, "ioc_batch_duration_seconds_count"))
        run.batch_s += sample(samples, "ioc_batch_duration_seconds_sum")
        run.db_write_s += sample(samples, "ioc_db_write_duration_seconds_sum")


async def run_pipeline(
    bench: Bench,
    broker: EmbeddedBroker,
    expect: int,
    *,
    workers: int = 1,
    partitions: int | None = None,
    keep_database: bool = False,
    label: str = "pipeline",
) -> PipelineRun:
    """Start `workers` workers on a fresh database; measure until every record is stored."""
    s = bench.settings
    parts = partitions or s.partitions
    total_partitions = parts * len(SOURCE_TOPIC_NAMES)
    run = PipelineRun(workers=workers, partitions=parts, records=expect)
    run.database_url = await bench.new_database("bench_pipe")
    group = f"bench-{uuid.uuid4().hex[:8]}"
    started, cpu_at_start = time.perf_counter(), _cpu(bench, [])  # the workers' own CPU counts from 0
    children: list[tuple[Child, str]] = [
        bench.start_worker(broker, run.database_url, group) for _ in range(workers)
    ]
    try:
        async with connect(run.database_url) as conn:

            def stable() -> bool:
                for child, _ in children:
                    child.check()
                owned = _owned([url for _, url in children])
                return all(n > 0 for n in owned) and sum(owned) == total_partitions

            await wait_for(
                stable, timeout=120, what=f"{workers} worker(s) to own all {total_partitions} partitions"
            )
            t0 = time.perf_counter()
            pids = [c.pid for c, _ in children]
            cpu0 = _cpu(bench, pids)
            stored0 = await _offsets_stored(conn, group)
            if 2 * stored0 >= expect:
                # Most were stored before the last worker joined (tiny runs: the first worker does
                # not wait for the others): time from the workers' start instead, joins included,
                # and their CPU too. Measured from here, the rest can take less than the kernel's
                # CPU tick, and the run would report a worker that used no CPU at all.
                t0, stored0, cpu0 = started, 0, cpu_at_start
            run.start_rss_mb = [proc_status_kb(pid, "VmRSS") / 1024 for pid in pids]
            run.startup_s = t0 - started
            last_report = t0
            while True:
                stored = await _offsets_stored(conn, group)
                now = time.perf_counter()
                if stored >= expect:
                    break
                for child, _ in children:
                    child.check()
                if now - t0 > s.pipeline_timeout_s:
                    raise TimeoutError(
                        f"{label}: {stored:,} of {expect:,} records stored after {now - t0:.0f} s"
                    )
                if now - last_report >= 10:
                    last_report = now
                    progress(
                        f"{label}: {stored:,} of {expect:,} stored, {(stored - stored0) / (now - t0):,.0f}/s"
                    )
                await asyncio.sleep(0.1)
            run.seconds = now - t0
            run.measured_records = expect - stored0
            cpu1 = _cpu(bench, pids)
            run.worker_cpu_s, run.db_cpu_s, run.broker_cpu_s, run.machine_cpu_s = (
                b - a for a, b in zip(cpu0, cpu1, strict=True)
            )
            _batch_metrics(run, [url for _, url in children])
            run.peak_rss_mb = [proc_status_kb(c.pid, "VmHWM") / 1024 for c, _ in children]
            rows = await conn.fetch(
                "SELECT outcome, sum(records)::bigint AS n FROM ingest_minute GROUP BY outcome"
            )
            run.outcomes = {r["outcome"]: int(r["n"]) for r in rows}
    finally:
        bench.stop(*(child for child, _ in children))
        if not keep_database:
            await bench.drop_database(run.database_url)
    progress(
        f"{label}: {run.measured_records:,} records in {run.seconds:.1f} s = {run.rate:,.0f}/s "
        f"({workers} worker(s), {parts} partitions; "
        f"worker CPU {run.core_share(run.worker_cpu_s):.0%} of a core)"
    )
    return run


# -- profiling ---------------------------------------------------------------------------------


@dataclass
class Profile:
    """Where a worker's CPU went, from py-spy samples (idle threads excluded)."""

    samples: int = 0
    inclusive: list[tuple[str, float]] = field(default_factory=list)
    self_time: list[tuple[str, float]] = field(default_factory=list)
    raw_file: str = ""
    note: str = ""


def py_spy() -> str | None:
    """py-spy from the virtual environment or PATH, if installed."""
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def _frame_name(frame: str) -> str:
    """`func (path/to/file.py:12)` → `file.py:func` with the project's package path kept."""
    func, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for root in (
        "streams/",
        "schemas/",
        "ioc/",
        "api/",
        "aiokafka/",
        "asyncpg/",
        "faust/",
        "mode/",
        "asyncio/",
        "cli/",
        "simulator/",
    ):
        if root in path:
            path = root + path.split(root, 1)[1]
            break
    else:
        path = path.rsplit("/", 1)[-1]
    return f"{path}:{func}"


def parse_profile(raw: Path, top: int = 15) -> Profile:
    """Inclusive and self shares per function from py-spy's `--format raw` (collapsed stacks)."""
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        names = [_frame_name(f) for f in stack.split(";")]
        for name in set(names):
            inclusive[name] += count
        self_time[names[-1]] += count
    profile = Profile(samples=total, raw_file=str(raw))
    if total:
        project = ("streams/", "schemas/", "ioc/", "cli/", "simulator/")
        entry = ("cli/main.py", "cli/__main__.py")  # the command line: everything is under it
        profile.inclusive = [
            (n, c / total)
            for n, c in inclusive.most_common()
            if n.startswith(project) and not n.startswith(entry)
        ][:top]
        profile.self_time = [(n, c / total) for n, c in self_time.most_common(top)]
    return profile


async def profile_worker(bench: Bench, broker: EmbeddedBroker, expect: int) -> Profile:
    """A separate, unmeasured worker run sampled by py-spy (sampling costs CPU on two cores,
    so it never overlaps a measured run)."""
    s = bench.settings
    spy = py_spy()
    if spy is None:
        return Profile(note="py-spy not installed (pip install py-spy) - no profile taken")
    database_url = await bench.new_database("bench_prof")
    group = f"bench-prof-{uuid.uuid4().hex[:8]}"
    child, _url = bench.start_worker(broker, database_url, group)
    raw = bench.rundir / "profile-worker.txt"
    try:
        async with connect(database_url) as conn:

            async def consuming() -> bool:
                child.check()
                return await _offsets_stored(conn, group) > 0

            await wait_for(consuming, timeout=120, what="the profiled worker to store a batch")
            spy_proc = await asyncio.create_subprocess_exec(
                spy,
                "record",
                "--pid",
                str(child.pid),
                "--format",
                "raw",
                "--output",
                str(raw),
                "--rate",
                "100",
                "--nonblocking",
                "--duration",
                str(int(s.profile_seconds)),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            deadline = time.monotonic() + s.profile_seconds + 10
            while spy_proc.returncode is None:
                if await _offsets_stored(conn, group) >= expect or time.monotonic() > deadline:
                    spy_proc.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(spy_proc.wait(), 10)
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(spy_proc.wait(), 0.5)
    finally:
        bench.stop(child)
        await bench.drop_database(database_url)
    if not raw.exists():
        return Profile(note="py-spy produced no samples (ptrace not permitted?)")
    profile = parse_profile(raw)
    progress(f"profile: {profile.samples:,} samples of the worker")
    return profile
