"""What a simulation produces (config) and when its events are due (timeline).

One frozen config drives both the pure generator and the paced runner, so a
benchmark file and a live demo made from the same config carry the same story.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, TypeAlias, cast, get_args

from ioc.errors import ConfigError
from ioc.registry import Registry, load_registry
from sources import SOURCE_TOPIC_NAMES, SOURCES

MalformedKind: TypeAlias = Literal[
    "bad_json", "wrong_type", "missing_field", "wrong_key", "unknown_version", "unknown_type"
]
MALFORMED_KINDS: Final[tuple[MalformedKind, ...]] = get_args(MalformedKind)


@dataclass(frozen=True, kw_only=True, slots=True)
class FaultConfig:
    """Bad input on demand, to train operators and to prove the pipeline shrugs it off.

    Record faults (``malformed``, ``duplicate``, ``late``) are shares of all records
    written, and are *added* to the traffic: the valid events stay exactly those of
    a clean run. ``out_of_order`` is the share of every source's entities (documents,
    applications, meetings, traders, teams, ...) whose events arrive in the wrong order:
    the engine reorders the stages of life-cycles, and a profile that makes its events
    itself holds some back (``ioc.simulation.Holdback``). Always within ``max_disorder``,
    less than the pipeline's grace period, so the metrics must still come out right.
    """

    malformed: float = 0.0
    malformed_kinds: tuple[MalformedKind, ...] = MALFORMED_KINDS
    duplicate: float = 0.0
    late: float = 0.0
    out_of_order: float = 0.0
    dark_site: float = 0.0
    """Probability that a meeting loses one of its planned sites part-way through."""
    slow_agencies: tuple[str, ...] = ()
    """Agencies falling behind: their documents and applications take ``slow_factor`` times longer."""
    slow_agency_count: int = 0
    """How many more agencies, picked by the seed, fall behind."""
    slow_factor: float = 4.0
    grace: timedelta = timedelta(hours=2)
    """The pipeline's grace period: late records are older than this behind their partition's newest."""
    max_disorder: timedelta = timedelta(minutes=60)

    def __post_init__(self) -> None:
        for name in ("malformed", "duplicate", "late", "out_of_order", "dark_site"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"fault {name}={value}: must be a share between 0 and 1")
        if self.record_share >= 0.5:
            raise ConfigError(f"malformed + duplicate + late = {self.record_share:.2f}: must stay below 0.5")
        if not self.malformed_kinds or not set(self.malformed_kinds) <= set(MALFORMED_KINDS):
            raise ConfigError(f"malformed kinds must be some of {', '.join(MALFORMED_KINDS)}")
        if self.slow_factor < 1 or self.slow_agency_count < 0:
            raise ConfigError("slow_factor must be >= 1 and slow_agency_count >= 0")
        if not timedelta(0) < self.max_disorder < self.grace:
            raise ConfigError("max_disorder must be positive and shorter than the grace period")

    @property
    def record_share(self) -> float:
        """Share of all records that are record faults."""
        return self.malformed + self.duplicate + self.late

    @classmethod
    def parse(cls, spec: str, base: FaultConfig | None = None) -> FaultConfig:
        """Read ``name=value,...`` (or a preset name: ``none``, ``demo``) on top of ``base``.

        ``slow_agency=SO_TTTT+SO_Y_TE`` names agencies; ``slow_agency=2`` picks two by seed;
        ``malformed_kinds=bad_json+wrong_key`` narrows the malformed kinds; durations
        (``grace``, ``max_disorder``) take ``90s``, ``15m``, ``2h``.
        """
        config = base or cls()
        for part in filter(None, (p.strip() for p in spec.split(","))):
            if part in FAULT_PRESETS:  # a preset keeps the pipeline's grace period
                config = replace(FAULT_PRESETS[part], grace=config.grace, max_disorder=config.max_disorder)
                continue
            name, sep, value = part.partition("=")
            name = name.strip().replace("-", "_")
            if not sep:
                raise ConfigError(f"fault {part!r}: expected name=value or one of {', '.join(FAULT_PRESETS)}")
            config = _with_fault(config, name, value.strip())
        return config


def _with_fault(config: FaultConfig, name: str, value: str) -> FaultConfig:
    try:
        change: dict[str, Any] = {}
        if name in ("malformed", "duplicate", "late", "out_of_order", "dark_site", "slow_factor"):
            change[name] = float(value)
            return replace(config, **change)
        if name in ("grace", "max_disorder"):
            change[name] = parse_duration(value)
            if name == "grace" and config.max_disorder >= change[name]:
                change["max_disorder"] = change[name] / 2
            return replace(config, **change)
        if name == "malformed_kinds":
            kinds = tuple(k for k in value.split("+") if k)
            bad = [k for k in kinds if k not in MALFORMED_KINDS]
            if bad:
                raise ConfigError(f"unknown malformed kind {bad[0]!r} ({', '.join(MALFORMED_KINDS)})")
            return replace(config, malformed_kinds=cast(tuple[MalformedKind, ...], kinds))
        if name in ("slow_agency", "slow_agencies"):
            if value.isdigit():
                return replace(config, slow_agency_count=int(value))
            return replace(config, slow_agencies=tuple(a for a in value.split("+") if a))
    except ValueError as exc:
        raise ConfigError(f"fault {name}={value!r}: {exc}") from exc
    known = [f.name for f in fields(FaultConfig) if f.name != "slow_agencies"] + ["slow_agency"]
    raise ConfigError(f"unknown fault {name!r} (known: {', '.join(known)})")


FAULT_PRESETS: Final[dict[str, FaultConfig]] = {
    "none": FaultConfig(),
    "demo": FaultConfig(
        malformed=0.002, duplicate=0.005, late=0.001, out_of_order=0.02, dark_site=0.5, slow_agency_count=1
    ),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Volumes:
    """How busy the real province is (at multiplier 1), beyond each source's own defaults.

    ``per_source`` overrides a source's volume settings by its name and theirs, e.g.
    ``{"eoffice": {"documents_per_day": 5000}}``; the settings and their defaults are the
    source's (``VOLUMES`` in ``sources/<name>/simulator.py``), so this file names none.
    """

    heartbeat_interval_s: int = 10
    """The generator's window, and the interval of the sites' heartbeats."""
    per_source: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.heartbeat_interval_s < 1:
            raise ConfigError("heartbeat_interval_s must be at least 1")
        _known_sources("volumes", self.per_source)


def _known_sources(what: str, by_source: Mapping[str, object]) -> None:
    unknown = sorted(set(by_source) - set(SOURCES.by_name))
    if unknown:
        raise ConfigError(f"{what} of unknown source {unknown[0]!r} ({', '.join(SOURCES.by_name)})")


@dataclass(frozen=True, kw_only=True, slots=True)
class SimulatorConfig:
    """A simulation: what traffic (seed, scale, faults, registry) and when (timeline).

    Time: ``backfill`` of past traffic is produced first, ``compress`` times faster
    than real time (``math.inf``: as fast as possible), ending at now; then, when
    ``live``, events keep coming at the real pace. ``duration`` caps the total event
    time from the start (``None``: until stopped when live, the back-fill otherwise).
    ``start`` pins the first event's time instead of deriving it from the clock:
    the same seed and start give byte-identical streams.
    """

    seed: int | None = None
    multiplier: float = 1.0
    start: datetime | None = None
    backfill: timedelta = timedelta(0)
    compress: float = math.inf
    live: bool = True
    duration: timedelta | None = None
    max_events: int | None = None
    topics: tuple[str, ...] = SOURCE_TOPIC_NAMES
    faults: FaultConfig = field(default_factory=FaultConfig)
    volumes: Volumes = field(default_factory=Volumes)
    registry: Registry | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    """The envelope's ``source`` by source name, over each profile's own (``vc``: ``vc-mcu-1``)."""

    def __post_init__(self) -> None:
        if not 0 < self.multiplier <= 100_000:
            raise ConfigError(f"multiplier {self.multiplier}: must be above 0 (1 is the real province)")
        if self.compress <= 0:
            raise ConfigError("compress must be positive (inf: as fast as possible)")
        if self.backfill < timedelta(0) or (self.duration is not None and self.duration < timedelta(0)):
            raise ConfigError("backfill and duration cannot be negative")
        if self.max_events is not None and self.max_events < 0:
            raise ConfigError("max_events cannot be negative")
        if self.start is not None and self.start.tzinfo is None:
            raise ConfigError("start must be timezone-aware")
        unknown = set(self.topics) - set(SOURCE_TOPIC_NAMES)
        if unknown:
            raise ConfigError(f"unknown topic {sorted(unknown)[0]!r} ({', '.join(SOURCE_TOPIC_NAMES)})")
        _known_sources("envelope source", self.sources)

    def the_registry(self) -> Registry:
        """The registry to simulate: the configured one or the shipped province."""
        return self.registry if self.registry is not None else load_registry()


@dataclass(frozen=True, slots=True)
class Timeline:
    """Event-time span of a run and the wall-clock moment each event may be sent.

    Past traffic is paced at ``compress`` so that it reaches the present exactly when
    the back-fill ends: an event is never sent before it happened.
    """

    start_ms: int
    live_from_ms: int
    end_ms: int | None
    wall_start_ms: int
    compress: float

    def due_ms(self, event_ms: int) -> float:
        """Wall-clock ms at which an event that occurred at ``event_ms`` is sent."""
        if event_ms <= self.live_from_ms:
            return self.wall_start_ms + (event_ms - self.start_ms) / self.compress
        back_fill_wall = self.wall_start_ms + (self.live_from_ms - self.start_ms) / self.compress
        return back_fill_wall + (event_ms - self.live_from_ms)

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.start_ms / 1000, UTC)

    @property
    def end(self) -> datetime | None:
        return None if self.end_ms is None else datetime.fromtimestamp(self.end_ms / 1000, UTC)


def plan(config: SimulatorConfig, now: datetime) -> Timeline:
    """Place the run on the clock: the back-fill ends when its last event is due, at now's pace."""
    wall_ms = _ms(now)
    backfill_ms = _td_ms(config.backfill)
    if config.start is not None:
        start_ms = _ms(config.start)
    else:
        ahead = 0 if math.isinf(config.compress) else backfill_ms / config.compress
        start_ms = wall_ms + math.floor(ahead) - backfill_ms  # floor: the back-fill never runs ahead
    live_from = start_ms + backfill_ms
    if config.duration is not None:
        end_ms: int | None = start_ms + _td_ms(config.duration)
    else:
        end_ms = None if config.live else live_from
    return Timeline(start_ms, live_from, end_ms, wall_ms, config.compress)


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def _td_ms(span: timedelta) -> int:
    return round(span.total_seconds() * 1000)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNIT_S: Final = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1h30m``, ``7d`` or plain seconds."""
    text = text.strip().lower()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds):
            return timedelta(seconds=seconds)
    pos = 0
    seconds = 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNIT_S[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ConfigError(f"{text!r} is not a duration (e.g. 90s, 15m, 2h, 1h30m, 7d)")
    return timedelta(seconds=seconds)
