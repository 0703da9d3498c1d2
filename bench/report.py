"""The report: every result of one run as Markdown tables (bench/REPORT.md) and as JSON.

Throughput is always shown beside the plain consumer measured in the same run, since the
CPU's speed drifts (ENVIRONMENT.md): the ratio is the figure to compare across runs. Each
target of issue 9 gets PASS or MISS from this run's measurements alone. Findings that need
a patched tree to measure (bench/FINDINGS.md) are appended as they were written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import dedupe_day
from bench.api import Endpoint, WeekDatabase
from bench.env import REPO
from bench.freshness import FreshnessRun, WsRamp
from bench.memory import DEDUPE_HOURS, MemoryRun
from bench.mixed import MixedRun
from bench.pipeline import Baseline, PipelineRun, Profile
from bench.scaling import ScalePoint

SECTIONS = (
    "## Targets",
    "## Machine and versions",
    "## Settings",
    "## 1. Baseline: plain aiokafka consumer",
    "## 2. Pipeline throughput",
    "## Mixed run: five sources",
    "## 3. Decode + validate per event",
    "## 4. Freshness",
    "## 5. API",
    "## 6. Worker memory at national scale",
    "## Scaling",
    "## Hot spots",
    "## On a cluster",
)
"""Every report has these headings, in this order (the smoke test checks them)."""

FINDINGS = Path(__file__).with_name("FINDINGS.md")
NOT_RUN = ["Not run.", ""]


@dataclass
class Results:
    """Everything one run measured; absent parts were not run (see `skipped`)."""

    mode: str
    settings: dict[str, Any]
    machine: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    duration_s: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)
    baseline: Baseline | None = None
    pipeline: PipelineRun | None = None
    profile: Profile | None = None
    decode: dict[str, Any] | None = None
    freshness: list[FreshnessRun] = field(default_factory=list)
    ws: WsRamp | None = None
    week: WeekDatabase | None = None
    api: list[Endpoint] = field(default_factory=list)
    memory: MemoryRun | None = None
    scaling: list[ScalePoint] = field(default_factory=list)
    mixed: MixedRun | None = None
    skipped: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.pipeline is None or self.baseline is None or not self.baseline.rate:
            return None
        return self.pipeline.rate / self.baseline.rate

    def targets(self) -> list[tuple[str, str, str]]:
        """(target, measured, PASS/MISS/not run) for each target of issues 9 and 20."""
        s = self.settings
        ratio = self.ratio
        out = [
            (
                f"pipeline ≥ {s['target_ratio']}× the plain consumer, per worker process",
                "not run" if ratio is None else f"{ratio:.3f}×",
                _verdict(ratio is not None, ratio is not None and ratio >= s["target_ratio"]),
            )
        ]
        p = self.pipeline
        cpu_us = None
        if p is not None and p.measured_records:
            cpu_us = (p.worker_cpu_s + p.db_cpu_s) / p.measured_records * 1e6
        out.append(
            (
                f"worker + PostgreSQL CPU ≤ {s['target_cpu_us']:g} µs per event (pipeline run)",
                "not run" if cpu_us is None else f"{cpu_us:.1f} µs",
                _verdict(cpu_us is not None, cpu_us is not None and cpu_us <= s["target_cpu_us"]),
            )
        )
        top = max(self.freshness, key=lambda f: f.rate) if self.freshness else None
        for where, target in (("API", s["target_fresh_p95_s"]), ("live push", s["target_wall_p95_s"])):
            q, lost = (
                (top.api, top.lost_api)
                if top and where == "API"
                else (top.live, top.lost_live)
                if top
                else ({}, 0)
            )
            ok = top is not None and bool(q) and lost == 0 and q["p95_ms"] <= target * 1000
            out.append(
                (
                    f"event → {where} p95 ≤ {target:g} s at {top.rate:g}×" if top else f"freshness ({where})",
                    "not run" if top is None or not q else f"{q['p95_ms'] / 1000:.2f} s",
                    _verdict(top is not None and bool(q), ok),
                )
            )
        clients = s["target_live_clients"]
        level = next((lv for lv in self.ws.levels if lv.clients == clients), None) if self.ws else None
        if self.ws is None:
            served = "not run"
        elif level is None:
            served = f"level not in this run (most served: {self.ws.max_ok:,})"
        else:
            r = level.result
            served = f"{r.get('connected', 0):,} connected, p99 {r.get('p99_ms', 0):,.0f} ms"
        out.append(
            (
                f"{clients:,} live clients on one API process, pushes p99 < 2 s",
                served,
                _verdict(self.ws is not None, level is not None and level.ok),
            )
        )
        kpis = next((e for e in self.api if "kpis" in e.path), None)
        kpis_ok = (
            kpis is not None
            and kpis.fixed.get("rate", 0) >= 0.95 * s["api_kpis_rate"]
            and kpis.fixed["errors"] == 0
            and kpis.fixed["p99_ms"] <= s["target_kpis_p99_ms"]
        )
        out.append(
            (
                f"/api/v1/kpis p99 ≤ {s['target_kpis_p99_ms']:g} ms at {s['api_kpis_rate']:g} requests/s",
                "not run" if kpis is None else f"{kpis.fixed['p99_ms']:.1f} ms at {kpis.fixed['rate']:.0f}/s",
                _verdict(kpis is not None, kpis_ok),
            )
        )
        mem = self.memory
        day = mem.day if mem is not None else None
        out.append(
            (
                "duplicate memory ≤ 2 B per id over a national day, peak RSS within the RSS target",
                "not run" if day is None else f"{day.bytes_per_id:.2f} B, peak {day.peak_rss_mb:,.0f} MB",
                _verdict(
                    day is not None,
                    day is not None and day.bytes_per_id <= 2 and day.peak_rss_mb <= s["target_rss_mb"],
                ),
            )
        )
        out.append(
            (
                f"worker RSS ≤ {s['target_rss_mb']:g} MB at national-scale state",
                "not run" if mem is None else f"{mem.peak_rss_mb:,.0f} MB",
                _verdict(mem is not None, mem is not None and mem.peak_rss_mb <= s["target_rss_mb"]),
            )
        )
        return out

    def to_json(self) -> dict[str, Any]:
        """Raw results plus the derived figures the report shows (no machine paths, no URLs)."""
        out = dataclasses.asdict(self)
        out["ratio"] = self.ratio
        out["targets"] = [{"target": t, "measured": m, "result": r} for t, m, r in self.targets()]
        if self.baseline is not None:
            out["baseline"]["rate"] = self.baseline.rate
        if self.pipeline is not None:
            out["pipeline"]["rate"] = self.pipeline.rate
            out["pipeline"].pop("database_url", None)
        if self.profile is not None:
            out["profile"]["raw_file"] = _relative(self.profile.raw_file)
        for i, point in enumerate(self.scaling):
            out["scaling"][i]["ratio"] = point.ratio
            out["scaling"][i]["run"]["rate"] = point.run.rate
            out["scaling"][i]["run"].pop("database_url", None)
        if self.mixed is not None and self.mixed.run is not None:
            out["mixed"]["ratio"] = self.mixed.ratio
            out["mixed"]["baseline_rate"] = self.mixed.baseline_rate
            out["mixed"]["run"]["rate"] = self.mixed.run.rate
            out["mixed"]["run"].pop("database_url", None)
        if self.memory is not None:
            out["memory"]["bytes_per_event"] = self.memory.bytes_per_event
            out["memory"]["steady_state_mb"] = self.memory.steady_state_mb()
        if self.ws is not None:
            out["ws"]["max_ok"] = self.ws.max_ok
        return out


# -- formatting -------------------------------------------------------------------------------


def _verdict(ran: bool, passed: bool) -> str:
    if not ran:
        return "not run"
    return "**PASS**" if passed else "**MISS**"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _ms(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _relative(path: str) -> str:
    """A path under the repository as a relative path; anything else by its name only."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return Path(path).name


def _value(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, list | tuple) else str(v)


# -- sections ---------------------------------------------------------------------------------


def _head(r: Results) -> list[str]:
    smoke = " --smoke" if r.mode == "smoke" else ""
    out = [
        "# IOC pipeline benchmark",
        "",
        f"`python -m bench.run{smoke}` ({r.mode} run), {r.machine.get('date', '')}, "
        f"{r.duration_s / 60:.1f} minutes. Everything ran on this one machine: embedded Tansu broker, "
        "embedded PostgreSQL, the product's own `ioc worker` / `ioc api` processes, load generators in "
        "their own processes. Throughput is compared only within this run (the CPU's speed drifts).",
        "",
    ]
    if r.skipped:
        out += [f"Phases not run: {', '.join(r.skipped)}.", ""]
    return out


def _targets(r: Results) -> list[str]:
    return ["## Targets", "", _table(["target", "measured", "result"], [list(t) for t in r.targets()]), ""]


def _machine(r: Results) -> list[str]:
    rows = [[k, v] for k, v in r.machine.items()] + [[k, v] for k, v in r.versions.items()]
    return ["## Machine and versions", "", _table(["what", "value"], rows), ""]


def _settings(r: Results) -> list[str]:
    s = r.settings
    hidden = ("report", "json_out", "workdir", "smoke")
    rows = [[f"`--{k.replace('_', '-')}`", _value(v)] for k, v in s.items() if k not in hidden]
    out = ["## Settings", "", _table(["setting", "value"], rows), ""]
    if r.data:
        topics = ", ".join(
            f"{t.removeprefix('ioc.')} {_n(n)}" for t, n in sorted(r.data.get("by_topic", {}).items())
        )
        out += [
            f"Data set: `{r.data.get('file', '')}`, {_n(r.data.get('records', 0))} simulator records "
            f"({topics}), produced into {s['partitions']} partitions per topic at "
            f"{_n(r.data.get('produce_rate', 0))}/s.",
            "",
        ]
    return out


def _baseline(r: Results) -> list[str]:
    out = ["## 1. Baseline: plain aiokafka consumer", ""]
    b = r.baseline
    if b is None:
        return out + NOT_RUN
    row = [
        "`getmany`, nothing else, own process",
        _n(b.records),
        _n(b.rate),
        ", ".join(_n(x) for x in b.rates),
        f"{b.spread:.0%}",
    ]
    return [
        *out,
        _table(["what", "records", "events/s (median)", "runs", "spread (max-min)/median"], [row]),
        "",
        "Half the runs before and half after the pipeline run, on the same broker and data; a large "
        "spread means the CPU's speed drifted meanwhile.",
        "",
    ]


def _pipeline(r: Results) -> list[str]:
    out = ["## 2. Pipeline throughput", ""]
    p, b = r.pipeline, r.baseline
    if p is None or b is None or r.ratio is None:
        return out + NOT_RUN
    n = max(1, p.measured_records)
    batches = max(1, p.batches)
    stored = sum(p.outcomes.values())
    cpu = " / ".join(
        f"{p.core_share(x):.0%}" for x in (p.worker_cpu_s, p.db_cpu_s, p.broker_cpu_s, p.other_cpu_s)
    )
    rows = [
        ["records through validate, dedupe, aggregate and sink", _n(p.records)],
        [
            "measured from stable assignment to last record stored",
            f"{_n(p.measured_records)} in {p.seconds:.1f} s",
        ],
        ["**pipeline events/s (1 worker process)**", f"**{_n(p.rate)}**"],
        ["plain consumer events/s (same run)", _n(b.rate)],
        ["**ratio pipeline / plain consumer**", f"**{r.ratio:.3f}×**"],
        ["worker start until it owned every partition", f"{p.startup_s:.1f} s"],
        ["CPU as share of one core: worker / PostgreSQL / broker / rest of the machine", cpu],
        [
            "CPU per event: worker / PostgreSQL",
            f"{p.worker_cpu_s / n * 1e6:.1f} µs / {p.db_cpu_s / n * 1e6:.1f} µs",
        ],
        [
            "batches: count, mean records, mean time judged to stored, of it the write (beside judging)",
            f"{_n(p.batches)}, {_n(p.records / batches)}, {p.batch_s / batches * 1000:.0f} ms, "
            f"{p.db_write_s / batches * 1000:.0f} ms ({p.db_write_s / max(1e-9, p.batch_s):.0%})",
        ],
        [
            "worker RSS: when it took its partitions → peak",
            f"{min(p.start_rss_mb, default=0):,.0f} MB → {max(p.peak_rss_mb, default=0):,.0f} MB",
        ],
        [
            "stored outcomes (`ingest_minute`)",
            ", ".join(f"{k} {_n(v)}" for k, v in sorted(p.outcomes.items())),
        ],
        ["database reflects every record", "yes" if stored == p.records else "**no**"],
    ]
    return [*out, _table(["what", "value"], rows), ""]


def _mixed(r: Results) -> list[str]:
    out = ["## Mixed run: five sources", ""]
    m = r.mixed
    if m is None or m.run is None:
        return out + NOT_RUN
    s = r.settings
    run = m.run
    rows = [[t, _n(n)] for t, n in sorted(m.by_topic.items())]
    main_ratio = f"{r.ratio:.3f}×" if r.ratio is not None else "not run"
    return [
        *out,
        f"The main data set plus {', '.join(s['mixed_topics'])} at {s['mixed_rate']:g}× the province's "
        f"volume over {s['mixed_duration']} of event time from {s['mixed_start']}, in one broker "
        f"({s['partitions']} partitions per topic), one worker.",
        "",
        _table(["topic", "records"], rows),
        "",
        _table(
            ["plain consumer/s (median of 2)", "pipeline/s", "ratio", "main mix ratio (above)"],
            [[_n(m.baseline_rate), _n(run.rate), f"{m.ratio:.3f}×", main_ratio]],
        ),
        "",
        f"Worker CPU {run.worker_cpu_s:.1f} s, PostgreSQL CPU {run.db_cpu_s:.1f} s for {_n(run.records)} "
        f"records: {1e6 * run.worker_cpu_s / max(1, run.records):.2f} + "
        f"{1e6 * run.db_cpu_s / max(1, run.records):.2f} µs per record.",
        "",
    ]


def _decode(r: Results) -> list[str]:
    out = ["## 3. Decode + validate per event", ""]
    d = r.decode
    if d is None:
        return out + NOT_RUN
    us = d["us_per_event"]
    base = us["json.loads"]
    rows = [[name, f"{v:.2f}", _n(1e6 / v), f"{v / base:.2f}×"] for name, v in us.items()]
    return [
        *out,
        _table(["variant (one pinned core)", "µs/event", "events/s", "cost vs json.loads"], rows),
        "",
        f"{_n(d['events'])} contract-valid records of bench/decode_bench.py's mix, "
        f"mean {d['mean_bytes']:.0f} B, median of {r.settings['decode_repeat']}; {d['pinned']}; "
        f"garbage collector {d.get('gc', 'default')}. "
        "`admit()` and `batch_effects()` are the rest of the worker's per-event CPU work "
        "(streams/admit.py, streams/effects.py), called on worker-sized batches.",
        "",
    ]


def _freshness(r: Results) -> list[str]:
    out = ["## 4. Freshness", ""]
    if not r.freshness:
        return out + NOT_RUN
    rows = []
    for f in r.freshness:
        for where, q, lost in (
            ("database (`kpi_minute`)", f.db, f.lost_db),
            ("API (`/api/v1/kpis?window=1h`)", f.api, f.lost_api),
            ("a live push (`/api/v1/live`)", f.live, f.lost_live),
        ):
            rows.append(
                [f"{f.rate:g}×", _n(f.events_per_s), where, str(f.markers)]
                + [_ms(q[k]) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")]
                + [str(lost)]
            )
    header = ["load", "events/s consumed", "send → visible in", "markers", "p50 ms", "p95 ms", "p99 ms"]
    return [
        *out,
        _table([*header, "max ms", "not seen"], rows),
        "",
        f"A marker every {r.settings['fresh_interval_s']:g} s for {r.settings['fresh_duration_s']:g} s "
        "under the simulator's real-time traffic (every topic but the portal's, so `portal.submitted` "
        "counts markers only); the database polled every 20 ms, the API every 50 ms, and one live client "
        "reading every push. The database tells the API when a batch is stored (LISTEN/NOTIFY, "
        "ioc/db/stored.py): the API's cached answers are recomputed and the live snapshot pushed then, "
        "not at the end of a cache period.",
        "",
    ]


def _api(r: Results) -> list[str]:
    out = ["## 5. API", ""]
    s = r.settings
    if r.week is not None and r.api:
        w = r.week
        rows = []
        for e in r.api:
            rows.append([f"`{e.path}`", "one request, idle API", "1", "-", "-", _ms(e.uncached_ms), "-", "-"])
            for how, q in (
                (f"fixed {e.fixed['target_rate']:g}/s", e.fixed),
                ("closed loop (capacity)", e.closed),
            ):
                rows.append(
                    [f"`{e.path}`", how, str(e.connections), _n(q["rate"]), str(q["errors"])]
                    + [_ms(q[k]) for k in ("p50_ms", "p99_ms", "max_ms")]
                )
        header = ["endpoint", "load", "connections", "requests/s", "errors", "p50 ms", "p99 ms", "max ms"]
        out += [
            f"Database: {w.days} days of minute data ending now, copied from the day the pipeline stored "
            f"({', '.join(f'{k} {_n(v)}' for k, v in w.rows.items())}), built in {w.seconds:.0f} s. "
            "Load: bench/loadgen.py in its own process over keep-alive connections; a request "
            f'unanswered {s["api_timeout_s"]:g} s after it was due counts as an error. "One request, idle '
            "API\" comes 1.1 s after the previous one, past the answer cache (the wall's snapshot keeps "
            "`window=1h` warm, so for `/api/v1/kpis` it is a cache hit; the series is computed).",
            "",
            _table(header, rows),
            "",
        ]
    else:
        out += NOT_RUN
    if r.ws is not None:
        rows = [
            [
                str(lv.clients),
                str(lv.result.get("connected", 0)),
                f"{lv.result.get('connect_s', 0):.1f}",
                _n(lv.result.get("pushes", 0)),
                _ms(lv.result.get("p50_ms", 0)),
                _ms(lv.result.get("p99_ms", 0)),
                str(lv.result.get("dropped", 0)),
                "yes" if lv.ok else "**no**",
            ]
            for lv in r.ws.levels
        ]
        header = ["clients", "connected", "connect s", "pushes", "p50 ms", "p99 ms", "dropped"]
        verdict = "the highest level that passed" if r.ws.limit_found else "every level tried passed"
        out += [
            f"Live WebSocket clients of one API process (`/api/v1/live`), under the {r.ws.rate:g}× freshness "
            "load; push latency = arrival − the snapshot's `as_of`:",
            "",
            _table([*header, "all pushed, p99 < 2 s"], rows),
            "",
            f"**One API process serves {'' if r.ws.limit_found else 'at least '}{r.ws.max_ok:,} live "
            f"clients with pushes under 2 s** ({verdict}; levels {_value(s['ws_levels'])}; the clients run "
            "in one process on the same two cores).",
            "",
        ]
    return out


def _memory(r: Results) -> list[str]:
    out = ["## 6. Worker memory at national scale", ""]
    m = r.memory
    if m is None:
        return out + NOT_RUN
    fed = (
        f"{_n(m.applications)} applications submitted, {_n(m.endpoints)} endpoints × "
        f"{r.settings['rss_heartbeats']} heartbeats ({_n(m.records)} records)"
    )
    rows = [
        ["state fed", fed],
        [
            "in the database afterwards",
            f"{_n(m.open_applications)} open applications, {_n(m.endpoints_stored)} endpoints",
        ],
        ["**worker peak RSS (VmHWM)**", f"**{m.peak_rss_mb:,.0f} MB**"],
        ["worker RSS when it took its partitions (before the data)", f"{m.start_rss_mb:,.0f} MB"],
        [
            "worker memory per accepted event, this run (one hour's ids, batches in flight)",
            f"{m.bytes_per_event:,.0f} B",
        ],
        [
            f"duplicate memory per id over a whole {DEDUPE_HOURS} h window ({_n(m.dedupe_ids)} ids, "
            "measured apart: below)",
            f"{m.dedupe_bytes_per_id:,.2f} B",
        ],
        [
            f"projected: the {_n(m.endpoints)} endpoints beating every 10 s for the whole {DEDUPE_HOURS} h "
            "duplicate window, plus the applications",
            f"{m.steady_state_mb() / 1024:,.1f} GB",
        ],
        ["worker events/s on this state-heavy mix", _n(m.rate)],
    ]
    return [
        *out,
        _table(["what", "value"], rows),
        "",
        f"The worker holds every accepted event id of the last {DEDUPE_HOURS} hours in RAM "
        "(streams/dedupe.py), so its memory follows the events accepted in that window, not the "
        "entities. This run accepts everything within one hour, so its ids are all in the current hour's "
        "exact form; in a whole window all but the last hour's are sealed and held compact. The projection "
        "adds the ids this run did not hold at the window's measured cost per id: what the same "
        "endpoints' heartbeats would cost over a whole window (one worker holding every partition), "
        f"against the {r.settings['target_rss_mb']:g} MB target.",
        "",
        *dedupe_day.report(m.day, r.settings["target_rss_mb"]),
    ]


def _scaling(r: Results) -> list[str]:
    out = ["## Scaling", ""]
    if not r.scaling:
        return out + NOT_RUN
    rows = []
    for pt in r.scaling:
        run = pt.run
        rows.append(
            [
                str(pt.partitions),
                str(pt.workers),
                _n(pt.baseline_rate),
                _n(run.rate),
                f"{pt.ratio:.3f}",
                f"{pt.ratio / pt.workers:.3f}",
                f"{run.core_share(run.worker_cpu_s):.0%}",
                f"{run.core_share(run.db_cpu_s):.0%}",
                f"{run.startup_s:.1f}",
            ]
        )
    header = ["partitions/topic", "workers", "plain consumer/s", "pipeline/s", "ratio", "ratio per worker"]
    header += ["workers' CPU (cores)", "PostgreSQL CPU (cores)", "until stable s"]
    return [
        *out,
        _table(header, rows),
        "",
        f"{_n(r.settings['scale_events'])} records per run; each partition count has its own broker and "
        f"its own plain-consumer run. This machine has {r.machine.get('nproc', '?')} cores, shared by the "
        "workers, PostgreSQL, the broker and the bench; 'until stable' is worker start until every worker "
        "owns partitions (each join waits about half the session timeout on this broker).",
        "",
    ]


def _hotspots(r: Results) -> list[str]:
    out = ["## Hot spots", ""]
    pr = r.profile
    if pr is not None and pr.samples:
        out += [
            f"py-spy, {pr.samples:,} samples of a worker consuming the data set in a separate, unmeasured "
            f"run (idle excluded; raw stacks in `{_relative(pr.raw_file)}`). Project functions by "
            "inclusive share:",
            "",
            _table(["function", "inclusive"], [[f"`{n}`", f"{v:.0%}"] for n, v in pr.inclusive]),
            "",
            "Self time, any code:",
            "",
            _table(["function", "self"], [[f"`{n}`", f"{v:.0%}"] for n, v in pr.self_time[:10]]),
            "",
        ]
    else:
        note = pr.note if pr is not None and pr.note else "--profile off, or the pipeline phase did not run"
        out += [f"No profile in this run ({note}).", ""]
    if FINDINGS.exists():
        out += [FINDINGS.read_text(encoding="utf-8").strip(), ""]
    return out


def _cluster(r: Results) -> list[str]:
    out = ["## On a cluster", ""]
    p = r.pipeline
    if p is None or not p.measured_records:
        return [*out, "Needs the pipeline phase.", ""]
    worker_us = p.worker_cpu_s / p.measured_records * 1e6
    db_us = p.db_cpu_s / p.measured_records * 1e6
    same = [pt for pt in r.scaling if pt.partitions == int(r.settings["partitions"])]
    here = ", ".join(f"{pt.workers} worker(s) {_n(pt.run.rate)}/s" for pt in same) or "not measured"
    return [
        *out,
        f"A worker is one Python process, so at most one core: here it spent {worker_us:.1f} µs of CPU per "
        f"event, ≈ {_n(1e6 / worker_us if worker_us else 0)} events/s if it had a core to itself and never "
        f"waited, and PostgreSQL {db_us:.1f} µs, ≈ {_n(1e6 / db_us if db_us else 0)} events/s per database "
        "core for this mix. On this 2-core machine extra workers share the same two cores with the "
        f"database and the broker ({here}).",
        "",
        "On a cluster (each worker on its own core, Kafka and TimescaleDB on their own hosts) throughput "
        "should grow about linearly with workers up to the partition count of the busiest topic "
        "(`ioc.vc.telemetry` carries ~99 % of events: give it at least as many partitions as workers, since "
        "a partition is never split between workers), until the database's write capacity is reached: each "
        "batch is one transaction of upserts, so the database's cores set the ceiling (the per-event "
        "database CPU above, spread over its cores; batches of different workers touch mostly the same "
        "minute rows, so expect row-lock waits before that). The real province (≈ 17 events/s) and national "
        "scale (1000×, ≈ 17,000 events/s) both fit one worker of this speed; more partitions and workers buy "
        "fail-over and headroom for replays.",
        "",
        *_national_database(db_us),
    ]


NATIONAL_RATE = 17_000
"""Events/s of a whole country: 20,000 endpoints every 10 s (2,000/s) and the province's other
sources a thousandfold (shared/DESIGN.md, the province's facts)."""


def _national_database(db_us: float) -> list[str]:
    """What the measured per-event database CPU means for a national cluster, on paper."""
    steady = NATIONAL_RATE * db_us / 1e6
    return [
        f"On paper, for the database: at {db_us:.1f} µs of PostgreSQL CPU per event, a country's "
        f"{_n(NATIONAL_RATE)} events/s take {steady:.2f} of a core; catching up after an outage at 10× "
        f"that rate takes {10 * steady:.1f} cores, at 100× (a day replayed in a quarter of an hour) "
        f"{100 * steady:.0f}. Provision for the catch-up, not the steady state: 4 database cores hold "
        f"{_n(4e6 / db_us if db_us else 0)} events/s, ≈ {4e6 / db_us / NATIONAL_RATE if db_us else 0:.0f}× "
        "the national rate, before row-lock waits between workers (above) set in. Reads (the API, "
        "Grafana) come on top and scale out to replicas.",
        "",
    ]


SECTION_RENDERERS: tuple[Callable[[Results], list[str]], ...] = (
    _head,
    _targets,
    _machine,
    _settings,
    _baseline,
    _pipeline,
    _mixed,
    _decode,
    _freshness,
    _api,
    _memory,
    _scaling,
    _hotspots,
    _cluster,
)


def render(r: Results) -> str:
    """The whole report as Markdown."""
    return "\n".join(line for section in SECTION_RENDERERS for line in section(r))
