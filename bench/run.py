"""`make bench`: one report of the pipeline's throughput, freshness, API and memory (issue 9).

    python -m bench.run            # the full run, ~15 minutes; writes bench/REPORT.md
    python -m bench.run --smoke    # every phase on tiny data, < 45 s; writes bench/out/REPORT-smoke.md
    python -m bench.run --help     # every setting

Phases run one after another, never overlapping, since every measurement shares the same two
cores; progress goes to stderr a line per step, the report to stdout and to `--report`, the
raw numbers to `--json-out`. Child logs, profiles and the cached data set live under
`--workdir` (bench/out, ignored by git).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import orjson

from bench import api, freshness, memory, mixed, scaling
from bench.data import data_file, file_records, produce
from bench.env import REPO, Bench, bench_workdir, progress
from bench.info import machine, versions
from bench.pipeline import Baseline, baseline_once, profile_worker, py_spy, run_pipeline
from bench.report import Results, render
from bench.settings import PHASES, BenchSettings, as_dict, resolve


async def _decode(bench: Bench) -> dict[str, object]:
    s = bench.settings
    progress(f"decode: {s.decode_events:,} records x {s.decode_repeat} on one pinned core")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.decode_stage",
        "--events",
        str(s.decode_events),
        "--repeat",
        str(s.decode_repeat),
        "--batch",
        str(s.batch_max_records),
        cwd=REPO,
        env=bench.child_env({}),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError("decode stage failed")
    result: dict[str, object] = orjson.loads(out)
    us = result["us_per_event"]
    assert isinstance(us, dict)
    progress("decode: " + ", ".join(f"{k.split(' ')[0]} {v:.2f} µs" for k, v in us.items()))
    return result


async def _pipeline_phases(bench: Bench, results: Results) -> str | None:
    """Data set, baseline, the measured pipeline run and the profile; returns the run's database URL."""
    s = bench.settings
    path = data_file(bench)
    broker = await bench.new_broker(s.partitions)
    produced = await produce(broker.url, file_records(path), "data-set records")
    if produced.records < s.min_events:
        raise RuntimeError(
            f"the data set has {produced.records:,} records, fewer than --min-events {s.min_events:,}"
        )
    results.data = {
        "file": path.name,
        "records": produced.records,
        "by_topic": produced.by_topic,
        "produce_rate": produced.rate,
    }
    if not s.wants("pipeline"):
        run = await run_pipeline(
            bench, broker, produced.records, keep_database=True, label="ingest for the API"
        )
        bench.stop_broker(broker)
        return run.database_url
    baseline = Baseline(records=produced.records)
    before = (s.baseline_repeat + 1) // 2
    for i in range(s.baseline_repeat):
        if i == before:
            results.pipeline = await run_pipeline(bench, broker, produced.records, keep_database=True)
        rate = await baseline_once(bench, broker, produced.records)
        baseline.rates.append(rate)
        progress(f"plain consumer: {produced.records:,} records at {rate:,.0f}/s")
    if results.pipeline is None:
        results.pipeline = await run_pipeline(bench, broker, produced.records, keep_database=True)
    results.baseline = baseline
    progress(f"pipeline / plain consumer = {results.ratio:.3f}")
    if s.profile == "on" or (s.profile == "auto" and py_spy() is not None):
        results.profile = await profile_worker(bench, broker, produced.records)
    bench.stop_broker(broker)
    return results.pipeline.database_url


async def run(settings: BenchSettings) -> Results:
    started = time.perf_counter()
    results = Results(mode=settings.mode, settings=as_dict(settings), machine=machine())
    results.skipped = [p for p in PHASES if not settings.wants(p)]
    bench = Bench(settings)
    phases = ",".join(p for p in PHASES if settings.wants(p))
    progress(f"{settings.mode} run, phases {phases}; logs in {bench.rundir}")
    bench.start()
    try:
        results.versions = await versions(bench.pg.url)
        week_source: str | None = None
        if settings.wants("pipeline") or settings.wants("api"):
            week_source = await _pipeline_phases(bench, results)
        if settings.wants("mixed"):
            results.mixed = await mixed.measure(bench)
        if settings.wants("decode"):
            results.decode = await _decode(bench)
        if settings.wants("freshness"):
            results.freshness, results.ws = await freshness.measure(bench, ws_ramp=True)
        if settings.wants("api") and week_source is not None:
            results.week, results.api = await api.measure(bench, week_source)
        if week_source is not None:
            await bench.drop_database(week_source)
        if settings.wants("memory"):
            results.memory = await memory.measure(bench)
        if settings.wants("scaling"):
            results.scaling = await scaling.measure(bench)
    finally:
        await bench.close()
    results.duration_s = time.perf_counter() - started
    return results


def main(argv: list[str] | None = None) -> int:
    settings = resolve(argv)
    results = asyncio.run(run(settings))
    json_out = settings.json_out or bench_workdir(settings) / f"last-{settings.mode}.json"
    json_out = json_out if json_out.is_absolute() else REPO / json_out
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(results.to_json(), indent=2, default=str), encoding="utf-8")
    text = render(results)
    report = settings.report if settings.report.is_absolute() else REPO / settings.report
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text, encoding="utf-8")
    print(text)
    progress(
        f"report written to {report.relative_to(REPO) if report.is_relative_to(REPO) else report}; "
        f"{results.duration_s / 60:.1f} minutes"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
