"""``simulate``: the province's traffic to Kafka or to a file, from the command line.

Modes:

- real time (default): events from now on, at the real pace, until ``--duration`` or Ctrl-C;
- compressed: ``--compress 60 --duration 1h`` produces the past hour in a minute, ending at
  now (``--compress max``: as fast as possible); add ``--live`` to carry on in real time;
- live with history: ``--live --backfill 6h`` (the demo) produces six hours of past traffic
  at once, then keeps going until stopped;
- file: ``--to-file run.jsonl`` writes instead of sending (never paced; the span ends at now);
  ``--from-file run.jsonl`` sends a file's exact bytes to Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from ioc.errors import ConfigError
from ioc.kafka import security_for
from ioc.logs import setup_logging
from ioc.registry import load_registry
from ioc.settings import IngestSettings, RuntimeSettings
from simulator.config import FaultConfig, SimulatorConfig, parse_duration, plan
from simulator.generator import Simulation
from simulator.records import read_records
from simulator.runner import Progress, SimulatorStats, drive, simulate_to, with_seed
from simulator.sinks import FileSink, KafkaSink, Sink, SinkError, parse_bootstrap
from sources import SOURCE_TOPIC_NAMES


class _Duration(click.ParamType):
    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ConfigError as exc:
            self.fail(str(exc), param, ctx)


class _Compress(click.ParamType):
    name = "factor|max"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        text = str(value).strip().lower()
        if text in ("max", "inf"):
            return math.inf
        try:
            factor = float(text)
        except ValueError:
            factor = 0.0
        if factor < 1:
            self.fail(f"{value!r}: a speed-up factor of at least 1, or 'max'", param, ctx)
        return factor


class _Start(click.ParamType):
    name = "rfc3339"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        try:
            at = datetime.fromisoformat(str(value))
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:
            self.fail(
                f"{value!r}: an RFC 3339 time with an offset, e.g. 2024-03-11T07:00:00+07:00", param, ctx
            )
        return at


@click.command()
@click.option(
    "--rate",
    "--multiplier",
    "multiplier",
    type=float,
    default=1.0,
    show_default=True,
    help="Traffic multiplier: 1 is the real province (~17 heartbeats/s), 1000 national scale.",
)
@click.option(
    "--duration",
    type=_Duration(),
    help="Event time to produce (90s, 15m, 2h, 1d). Default: until stopped in real time, "
    "1h when compressed or to a file; with --live, the real-time part.",
)
@click.option("--events", type=click.IntRange(min=1), help="Stop after this many records.")
@click.option(
    "--compress",
    type=_Compress(),
    help="Produce past traffic ending at now, this many times faster than real time ('max': at once).",
)
@click.option(
    "--live", is_flag=True, help="After the past traffic, keep producing at the real pace until stopped."
)
@click.option(
    "--backfill", type=_Duration(), help="With --live: past traffic to produce first (default none)."
)
@click.option(
    "--seed", type=int, help="Random seed (printed when not given). Same seed and --start: same bytes."
)
@click.option(
    "--start", type=_Start(), help="Event time of the first event, instead of deriving it from now."
)
@click.option(
    "--faults",
    "fault_specs",
    multiple=True,
    metavar="SPEC",
    help="A preset (none, demo) or name=value,...: malformed, duplicate, late (shares of records), "
    "out_of_order (share of every source's entities), dark_site (share of meetings), "
    "slow_agency=CODE+CODE or a count, malformed_kinds=bad_json+wrong_key, grace=2h, "
    "max_disorder=1h. Repeatable.",
)
@click.option(
    "--topic",
    "topics",
    multiple=True,
    type=click.Choice(SOURCE_TOPIC_NAMES),
    help="Only these topics (repeatable). Default: every source topic.",
)
@click.option(
    "--registry",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="IOC_REGISTRY_FILE",
    help="Registry JSON of another province. Default: the shipped one (IOC_REGISTRY_FILE).",
)
@click.option(
    "--to-file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write records to this file (JSON lines, see simulator.records; .gz compresses).",
)
@click.option(
    "--from-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Send the records of a file to Kafka, as fast as possible, instead of generating.",
)
@click.option(
    "--bootstrap",
    envvar="IOC_KAFKA_URL",
    metavar="URL",
    help="Broker: kafka://host:port[,host:port]. Default: IOC_KAFKA_URL.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress line and no summary.")
def simulate(
    multiplier: float,
    duration: timedelta | None,
    events: int | None,
    compress: float | None,
    live: bool,
    backfill: timedelta | None,
    seed: int | None,
    start: datetime | None,
    fault_specs: tuple[str, ...],
    topics: tuple[str, ...],
    registry: Path | None,
    to_file: Path | None,
    from_file: Path | None,
    bootstrap: str | None,
    quiet: bool,
) -> None:
    """Produce the province's event traffic: real time, compressed past, live, or to a file."""
    _setup_logging()
    if to_file is not None and (from_file is not None or live):
        raise click.UsageError(
            "--to-file writes generated past traffic: it goes with neither --from-file nor --live"
        )
    if to_file is None and not bootstrap:
        raise click.UsageError("no broker: set IOC_KAFKA_URL or --bootstrap (or write --to-file)")
    sink: Sink = FileSink(to_file) if to_file is not None else _kafka_sink(bootstrap or "")
    progress = None if quiet else Progress()
    # The generator makes short-lived objects by the million: collect the young generation less often.
    gc.set_threshold(100_000, 50, 1000)
    if from_file is not None:
        replay_from = from_file

        async def replay(stop: asyncio.Event) -> SimulatorStats:
            await sink.start()
            return await drive(read_records(replay_from), sink, None, stop=stop, progress=progress)

        stats = _run(replay)
    else:
        try:
            base = SimulatorConfig(
                seed=seed,
                multiplier=multiplier,
                start=start,
                max_events=events,
                faults=_faults(fault_specs),
                topics=topics or SOURCE_TOPIC_NAMES,
                registry=load_registry(registry) if registry else None,
            )
            config = _timed(
                base, duration, compress, live=live, backfill=backfill, to_file=to_file is not None
            )
        except ValueError as exc:  # ConfigError, or a setting or registry file that does not validate
            raise click.UsageError(str(exc)) from exc
        config = with_seed(config)
        if not quiet and seed is None:
            click.echo(f"simulate: seed {config.seed}", err=True)
        paced = to_file is None

        async def generate(stop: asyncio.Event) -> SimulatorStats:
            return await simulate_to(sink, config, stop=stop, paced=paced, progress=progress)

        stats = _run(generate)
    if stats.stopped and not quiet:
        click.echo("simulate: stopped", err=True)


def _kafka_sink(bootstrap: str) -> KafkaSink:
    """A sink to `bootstrap`, secured as IOC_KAFKA_SECURITY_PROTOCOL and its settings say."""
    try:
        return KafkaSink(bootstrap, security=security_for(parse_bootstrap(bootstrap)))
    except (SinkError, ValueError) as exc:  # a bad URL, a setting that does not validate, TLS files
        raise click.UsageError(str(exc)) from exc


def _faults(specs: tuple[str, ...]) -> FaultConfig:
    """Late faults must be late for the pipeline: start from its grace period (IOC_GRACE_PERIOD_S)."""
    grace = IngestSettings().grace_period
    faults = FaultConfig(grace=grace, max_disorder=min(timedelta(hours=1), grace / 2))
    for spec in specs:
        faults = FaultConfig.parse(spec, faults)
    return faults


def _timed(
    base: SimulatorConfig,
    duration: timedelta | None,
    compress: float | None,
    *,
    live: bool,
    backfill: timedelta | None,
    to_file: bool,
) -> SimulatorConfig:
    """Map the time options onto the config (the modes in this module's docstring)."""
    if live:
        if base.start is not None:
            raise ConfigError("--start pins past traffic: it does not go with --live")
        past = backfill or timedelta(0)
        total = None if duration is None else past + duration
        return replace(base, backfill=past, compress=compress or math.inf, live=True, duration=total)
    if backfill is not None:
        raise ConfigError("--backfill goes with --live (otherwise --duration is the past span)")
    if compress is not None or to_file:
        events = base.max_events
        past = duration or (_span_for(base, events) if events else timedelta(hours=1))
        if base.start is not None and base.start + past > datetime.now(UTC):
            raise ConfigError("--start and --duration reach into the future: events must be in the past")
        return replace(base, backfill=past, compress=compress or math.inf, live=False)
    if base.start is not None:
        raise ConfigError("--start pins past traffic: use it with --compress or --to-file")
    return replace(base, live=True, duration=duration)


def _span_for(config: SimulatorConfig, events: int) -> timedelta:
    """A past span expected to hold ``events`` records (so ``--events`` alone ends at now).

    The sources' profiles say how busy they are; the seed does not change that much.
    """
    probe = Simulation(replace(config, seed=config.seed or 0), plan(config, datetime.now(UTC)))
    per_s = probe.events_per_day() / 86_400
    if per_s <= 0:
        return timedelta(hours=1)
    return timedelta(seconds=events / per_s * 1.25 + 60)


def _setup_logging() -> None:
    try:
        runtime = RuntimeSettings()
    except ValueError as exc:
        raise click.UsageError(f"invalid setting: {exc}") from exc
    setup_logging(runtime.log_level, runtime.log_format)


def _run(work: Callable[[asyncio.Event], Awaitable[SimulatorStats]]) -> SimulatorStats:
    """Run with Ctrl-C and SIGTERM setting the stop event, so the sink flushes and closes cleanly."""

    async def main() -> SimulatorStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        return await work(stop)

    try:
        return asyncio.run(main())
    except (SinkError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:  # a second Ctrl-C while closing
        sys.exit(130)
