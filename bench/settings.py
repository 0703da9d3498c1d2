"""Every knob of `make bench`, with the full run's defaults, the smoke run's, and a CLI flag each.

One frozen dataclass is the single source: the argument parser is generated from its fields
(flag `--field-name`, help from the field's metadata), `--smoke` swaps in `SMOKE_OVERRIDES`,
and anything given on the command line wins over either profile. The report prints the
resolved values, so a figure can always be traced to the settings that produced it.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PHASES: tuple[str, ...] = ("pipeline", "mixed", "decode", "freshness", "api", "memory", "scaling")
"""Phases in the order they run; `--phases` picks a subset (the report marks the rest as skipped)."""


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class BenchSettings:
    """What one bench run does. Defaults are the full `make bench` (about 15 minutes here)."""

    # -- where things go
    workdir: Path = field(
        default=Path("bench/out"), metadata=_help("scratch space: data cache, logs, database")
    )
    report: Path = field(default=Path("bench/REPORT.md"), metadata=_help("Markdown report written here"))
    json_out: Path | None = field(
        default=None, metadata=_help("raw results as JSON (default: <workdir>/last-<mode>.json)")
    )
    code: Path | None = field(
        default=None,
        metadata=_help("run the product's processes from this source tree (A/B-test a patched copy)"),
    )
    phases: tuple[str, ...] = field(default=PHASES, metadata=_help(f"phases to run, of {','.join(PHASES)}"))
    profile: str = field(
        default="auto",
        metadata=_help("py-spy a worker in an extra, unmeasured run: auto (if installed), on, off"),
    )
    profile_seconds: float = field(default=15.0, metadata=_help("py-spy sampling time"))
    # -- the data set and the pipeline run
    sim_rate: float = field(
        default=1.0, metadata=_help("simulator multiplier of the data set (1 = the province)")
    )
    sim_duration: str = field(
        default="24h", metadata=_help("event time the data set spans (one day ≈ 1.44 M events)")
    )
    sim_seed: int = field(default=9, metadata=_help("simulator seed of the data set"))
    sim_topics: tuple[str, ...] = field(
        default=("ioc.vc.telemetry", "ioc.vc.meetings", "ioc.eoffice.documents", "ioc.portal.applications"),
        metadata=_help("topics of the main data set: the first three sources, comparable across reports"),
    )
    # -- the mixed run: the main data set plus the later sources' topics at a high multiplier
    mixed_topics: tuple[str, ...] = field(
        default=("ioc.market.payments", "ioc.community.activities"),
        metadata=_help("topics added to the main data set in the mixed run"),
    )
    mixed_rate: float = field(default=100.0, metadata=_help("simulator multiplier of the added topics"))
    mixed_duration: str = field(default="1h", metadata=_help("event time the added topics span"))
    mixed_start: str = field(
        default="2026-03-03T07:00:00+07:00",
        metadata=_help("event time the added topics start (a weekday's market morning)"),
    )
    data_file: Path | None = field(
        default=None, metadata=_help("replay this simulator file instead of the cached generated one")
    )
    min_events: int = field(
        default=1_000_000, metadata=_help("fail unless the data set has this many records")
    )
    partitions: int = field(
        default=4, metadata=_help("partitions per topic of the main runs (IOC_PARTITIONS)")
    )
    batch_max_records: int = field(default=20_000, metadata=_help("IOC_BATCH_MAX_RECORDS of the workers"))
    batch_max_wait_ms: int = field(default=200, metadata=_help("IOC_BATCH_MAX_WAIT_MS of the workers"))
    session_timeout_s: float = field(
        default=10.0,
        metadata=_help("IOC_SESSION_TIMEOUT_S of the workers; a group join waits about half of it on Tansu"),
    )
    baseline_repeat: int = field(default=3, metadata=_help("plain-consumer runs (median reported)"))
    pipeline_timeout_s: float = field(default=600.0, metadata=_help("give up on a pipeline run after this"))
    # -- decode
    decode_events: int = field(default=100_000, metadata=_help("records per decode timing"))
    decode_repeat: int = field(default=5, metadata=_help("decode timings per variant (median reported)"))
    # -- freshness
    fresh_rates: tuple[float, ...] = field(
        default=(1.0, 100.0), metadata=_help("simulator multipliers of the live load")
    )
    fresh_duration_s: float = field(default=30.0, metadata=_help("marker-sending time per load"))
    fresh_interval_s: float = field(default=0.2, metadata=_help("seconds between marker events"))
    fresh_warmup_s: float = field(default=5.0, metadata=_help("live load before the first marker"))
    # -- the API
    api_days: int = field(default=7, metadata=_help("days of minute data in the API's database"))
    api_duration_s: float = field(default=15.0, metadata=_help("seconds per HTTP load run"))
    api_kpis_rate: float = field(default=500.0, metadata=_help("fixed request rate for /api/v1/kpis"))
    api_series_rate: float = field(default=2.0, metadata=_help("fixed request rate for the 24-hour series"))
    api_connections: int = field(default=32, metadata=_help("load generator's connections for /api/v1/kpis"))
    api_series_connections: int = field(
        default=4, metadata=_help("load generator's connections for the series")
    )
    api_timeout_s: float = field(default=10.0, metadata=_help("an HTTP request unanswered this long fails"))
    ws_levels: tuple[int, ...] = field(
        default=(100, 500, 1000, 2000, 4000, 8000),
        metadata=_help("live WebSocket clients tried, in order, until a level fails"),
    )
    ws_hold_s: float = field(default=10.0, metadata=_help("seconds each WebSocket level is held"))
    # -- memory
    rss_applications: int = field(default=1_000_000, metadata=_help("open applications fed to the worker"))
    rss_endpoints: int = field(default=20_000, metadata=_help("video-conference endpoints fed to the worker"))
    rss_heartbeats: int = field(default=3, metadata=_help("heartbeats per endpoint"))
    dedupe_ids: int = field(
        default=180_000_000,
        metadata=_help("ids of the duplicate-memory day (180 M: 20,000 endpoints every 10 s for 25 h)"),
    )
    # -- scaling
    scale_events: int = field(
        default=300_000, metadata=_help("records per scaling run (first N of the data set)")
    )
    scale_partitions: tuple[int, ...] = field(
        default=(1, 4, 8), metadata=_help("partition counts, one worker")
    )
    scale_workers: tuple[int, ...] = field(
        default=(1, 2, 3, 4), metadata=_help("worker processes, at --partitions partitions")
    )
    # -- targets (issue 9, raised by issue 20: national scale)
    target_ratio: float = field(default=0.5, metadata=_help("pipeline / plain consumer, per worker process"))
    target_cpu_us: float = field(
        default=5.0, metadata=_help("worker + PostgreSQL CPU per event in the pipeline run, µs")
    )
    target_live_clients: int = field(
        default=4000, metadata=_help("live clients one API process serves with pushes p99 < 2 s")
    )
    target_fresh_p95_s: float = field(
        default=0.5, metadata=_help("event → API answer p95 at the highest rate")
    )
    target_wall_p95_s: float = field(default=0.5, metadata=_help("event → live push p95 at the highest rate"))
    target_kpis_p99_ms: float = field(default=50.0, metadata=_help("/api/v1/kpis p99 at --api-kpis-rate"))
    target_rss_mb: float = field(default=500.0, metadata=_help("worker peak RSS at national-scale state"))
    smoke: bool = field(default=False, metadata=_help("small, fast run proving the harness works (< 45 s)"))

    @property
    def mode(self) -> str:
        return "smoke" if self.smoke else "full"

    def wants(self, phase: str) -> bool:
        return phase in self.phases


SMOKE_OVERRIDES: dict[str, Any] = {
    "smoke": True,
    "report": Path("bench/out/REPORT-smoke.md"),
    "profile": "off",
    "sim_duration": "20m",
    "mixed_rate": 10.0,
    "mixed_duration": "10m",
    "min_events": 10_000,
    "partitions": 2,
    "session_timeout_s": 2.0,
    "baseline_repeat": 1,
    "pipeline_timeout_s": 60.0,
    "decode_events": 5_000,
    "decode_repeat": 1,
    "fresh_rates": (100.0,),
    "fresh_duration_s": 2.0,
    "fresh_interval_s": 0.25,
    "fresh_warmup_s": 0.5,
    "api_days": 2,
    "api_duration_s": 1.0,
    "api_kpis_rate": 100.0,
    "api_series_rate": 1.0,
    "api_connections": 8,
    "api_series_connections": 2,
    "ws_levels": (20,),
    "ws_hold_s": 2.0,
    "rss_applications": 2_000,
    "rss_endpoints": 200,
    "rss_heartbeats": 2,
    "dedupe_ids": 50_000,
    "scale_events": 10_000,
    "scale_partitions": (),
    "scale_workers": (2,),
}
"""The smoke profile: every phase runs, on data small enough to finish in well under a minute."""


def _converter(tp: Any) -> tuple[Any, bool]:
    """(per-item converter, is a comma-separated tuple) for a field's annotation."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is tuple:
        return args[0], True
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return inner[0], False
    return tp, False


def build_parser() -> argparse.ArgumentParser:
    """One `--flag` per settings field (underscores become dashes)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="The IOC pipeline's benchmark: one report of throughput, freshness, API and memory.",
    )
    hints = typing.get_type_hints(BenchSettings)
    defaults = BenchSettings()
    for f in fields(BenchSettings):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        help_text = f"{f.metadata.get('help', '')} (default {shown}; smoke {_smoke_shown(f.name)})"
        if hints[f.name] is bool:
            parser.add_argument(flag, action="store_true", default=None, help=help_text)
            continue
        item, is_tuple = _converter(hints[f.name])
        metavar = "A,B,..." if is_tuple else f.name.split("_")[-1].upper()
        parser.add_argument(flag, default=None, metavar=metavar, help=help_text, type=str)
        parser.set_defaults(**{f"_conv_{f.name}": (item, is_tuple)})
    return parser


def _smoke_shown(name: str) -> str:
    if name not in SMOKE_OVERRIDES:
        return "same"
    value = SMOKE_OVERRIDES[name]
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _convert(text: str, item: Any, is_tuple: bool) -> Any:
    if is_tuple:
        return tuple(item(part.strip()) for part in text.split(",") if part.strip())
    return item(text)


def resolve(argv: list[str] | None = None) -> BenchSettings:
    """Settings from the command line: profile defaults, then every flag given."""
    parser = build_parser()
    ns = vars(parser.parse_args(argv))
    settings = BenchSettings()
    if ns.get("smoke"):
        settings = replace(settings, **SMOKE_OVERRIDES)
    given: dict[str, Any] = {}
    for f in fields(BenchSettings):
        raw = ns.get(f.name)
        if raw is None:
            continue
        if isinstance(raw, bool):
            given[f.name] = raw
            continue
        item, is_tuple = ns[f"_conv_{f.name}"]
        try:
            given[f.name] = _convert(raw, item, is_tuple)
        except ValueError as exc:
            parser.error(f"--{f.name.replace('_', '-')}: {exc}")
    settings = replace(settings, **given)
    unknown = set(settings.phases) - set(PHASES)
    if unknown:
        parser.error(f"--phases: unknown {sorted(unknown)}; choose from {','.join(PHASES)}")
    if settings.profile not in ("auto", "on", "off"):
        parser.error("--profile: auto, on or off")
    return settings


def as_dict(settings: BenchSettings) -> dict[str, Any]:
    """JSON-ready settings (paths as text)."""
    out: dict[str, Any] = {}
    for key, value in dataclasses.asdict(settings).items():
        out[key] = str(value) if isinstance(value, Path) else value
    return out
