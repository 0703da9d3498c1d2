"""Local time, working hours and arrival intensity: the province's daily and weekly rhythm.

Everything here works on integer milliseconds since the epoch, because the
generator handles hundreds of thousands of events a second and ``datetime`` is
too slow for the hot path. Local time is the registry's fixed UTC offset
(Vietnam has no daylight saving). Pure: the simulator's source profiles draw
from the random streams they are given and never read a clock.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
SLOT_MS = 30 * MINUTE_MS
SLOTS_PER_DAY = DAY_MS // SLOT_MS
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

Periods = tuple[tuple[int, int], ...]
"""Working periods of one day as (start minute, end minute) local, e.g. ((450, 690), (810, 1020))."""

_WORKDAY: Periods = ((7 * 60 + 30, 11 * 60 + 30), (13 * 60 + 30, 17 * 60))
_MORNING: Periods = ((7 * 60 + 30, 11 * 60 + 30),)


@dataclass(frozen=True, slots=True)
class Calendar:
    """When offices work, per weekday (Monday first); default: Vietnam's government hours."""

    days: tuple[Periods, ...] = (_WORKDAY,) * 5 + ((), ())

    def next_working(
        self, ms: int, offset_ms: int, rng: random.Random, spread_ms: int = 45 * MINUTE_MS
    ) -> int:
        """``ms`` if it falls in working hours, else a moment soon after the next period opens.

        Work that is due outside office hours happens when the office reopens, spread
        over the first ``spread_ms`` so that a morning does not start with a spike.
        """
        local = ms + offset_ms
        day, rem = divmod(local, DAY_MS)
        minute = rem // MINUTE_MS
        for ahead in range(8):
            periods = self.days[(day + ahead + _EPOCH_WEEKDAY) % 7]
            for start, end in periods:
                if ahead == 0 and start <= minute < end:
                    return ms
                if ahead > 0 or minute < start:
                    opens = (day + ahead) * DAY_MS + start * MINUTE_MS - offset_ms
                    span = min(spread_ms, (end - start) * MINUTE_MS)
                    return opens + int(rng.random() * span)
        return ms  # a calendar with no working period: work happens whenever

    def add_working_days(self, ms: int, days: int, offset_ms: int, close_minute: int = 17 * 60) -> int:
        """Close of business on the ``days``-th working day after the day of ``ms``: a legal deadline."""
        day = (ms + offset_ms) // DAY_MS
        counted = 0
        for _ in range(days * 7 + 7):
            if counted >= days:
                break
            day += 1
            if self.days[(day + _EPOCH_WEEKDAY) % 7]:
                counted += 1
        return day * DAY_MS + close_minute * MINUTE_MS - offset_ms


DOCUMENT_OFFICE = Calendar()
ONE_STOP_SHOP = Calendar(days=(_WORKDAY,) * 5 + (_MORNING, ()))
"""The one-stop shops (bộ phận một cửa) also open on Saturday mornings."""


def _shape(points: Sequence[tuple[str, float]]) -> tuple[float, ...]:
    """Half-hour weights of one day from (HH:MM, weight) steps, each holding until the next."""
    steps = sorted((int(t[:2]) * 60 + int(t[3:]), w) for t, w in points)
    out = []
    for slot in range(SLOTS_PER_DAY):
        minute = slot * 30
        weight = 0.0
        for start, w in steps:
            if start <= minute:
                weight = w
        out.append(weight)
    return tuple(out)


_OFFICE_DAY = _shape(
    [
        ("00:00", 0.0),
        ("07:30", 0.6),
        ("08:00", 1.3),
        ("10:00", 0.9),
        ("11:30", 0.05),
        ("13:30", 0.6),
        ("14:00", 1.1),
        ("16:00", 0.6),
        ("17:00", 0.02),
        ("18:00", 0.0),
    ]
)
_SATURDAY_MORNING = _shape([("00:00", 0.0), ("07:30", 0.5), ("08:00", 0.8), ("10:00", 0.6), ("11:30", 0.0)])
_ONLINE_WORKDAY = _shape(
    [
        ("00:00", 0.04),
        ("06:00", 0.15),
        ("07:00", 0.5),
        ("08:00", 1.2),
        ("10:00", 1.0),
        ("11:30", 0.45),
        ("13:30", 0.8),
        ("14:00", 1.1),
        ("16:00", 0.8),
        ("17:30", 0.45),
        ("20:00", 0.35),
        ("22:00", 0.12),
    ]
)
_ONLINE_WEEKEND = _shape(
    [
        ("00:00", 0.03),
        ("07:00", 0.2),
        ("09:00", 0.35),
        ("12:00", 0.2),
        ("14:00", 0.3),
        ("21:00", 0.15),
        ("22:00", 0.06),
    ]
)
_NOTHING = (0.0,) * SLOTS_PER_DAY


@dataclass(frozen=True, slots=True)
class Rhythm:
    """Relative arrival intensity for each half hour of a week (Monday 00:00 first)."""

    weights: tuple[float, ...]

    @classmethod
    def from_days(cls, days: Sequence[tuple[float, ...]]) -> Rhythm:
        return cls(tuple(w for day in days for w in day))

    def per_ms(self, daily_volume: float) -> tuple[float, ...]:
        """Events per millisecond in each slot, so that a Monday sees ``daily_volume`` events."""
        monday = sum(self.weights[:SLOTS_PER_DAY]) * SLOT_MS
        if monday <= 0:
            return (0.0,) * len(self.weights)
        return tuple(daily_volume * w / monday for w in self.weights)


OFFICE = Rhythm.from_days([_OFFICE_DAY] * 5 + [_NOTHING, _NOTHING])
"""Documents and ad-hoc meetings: working hours, Monday to Friday."""
COUNTER = Rhythm.from_days([_OFFICE_DAY] * 5 + [_SATURDAY_MORNING, _NOTHING])
"""Applications at a counter: working hours plus Saturday morning."""
ONLINE = Rhythm.from_days([_ONLINE_WORKDAY] * 5 + [_ONLINE_WEEKEND, _ONLINE_WEEKEND])
"""Online applications: any time, busiest in office hours."""


def slot_of(ms: int, offset_ms: int) -> int:
    """Index of the half hour of the (local) week that ``ms`` falls in."""
    local = ms + offset_ms
    day = local // DAY_MS
    return ((day + _EPOCH_WEEKDAY) % 7) * SLOTS_PER_DAY + (local % DAY_MS) // SLOT_MS


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: exact (Knuth) for small means, normal approximation for large ones."""
    if mean <= 0:
        return 0
    if mean < 30:
        limit = math.exp(-mean)
        k = 0
        p = rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, int(rng.gauss(mean, math.sqrt(mean)) + 0.5))


def arrivals(rng: random.Random, rate_per_ms: float, start_ms: int, span_ms: int) -> list[int]:
    """Sorted arrival instants of a Poisson process of constant rate within [start, start + span)."""
    n = poisson(rng, rate_per_ms * span_ms)
    return sorted(start_ms + int(rng.random() * span_ms) for _ in range(n))


def profile_arrivals(
    rng: random.Random, rates: tuple[float, ...], start_ms: int, span_ms: int, offset_ms: int
) -> list[int]:
    """Sorted arrivals in [start, start + span) at each half hour's own rate (``Rhythm.per_ms``)."""
    out: list[int] = []
    t, end = start_ms, start_ms + span_ms
    while t < end:
        stop = min(end, t - (t + offset_ms) % SLOT_MS + SLOT_MS)
        out.extend(arrivals(rng, rates[slot_of(t, offset_ms)], t, stop - t))
        t = stop
    return out


def offset_suffix(offset_minutes: int) -> str:
    """The RFC 3339 offset of local time, e.g. ``+07:00``."""
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def time_formatter(offset_minutes: int) -> Callable[[int], str]:
    """A fast ms → RFC 3339 local-time formatter (``2024-03-12T09:15:03.123+07:00``).

    It caches the current day and second, since consecutive events mostly share them;
    ``datetime.isoformat`` would cost more than encoding the whole event.
    """
    offset_ms = offset_minutes * MINUTE_MS
    suffix = offset_suffix(offset_minutes)
    last_day = -1
    day_text = ""
    last_sec = -1
    sec_text = ""

    def fmt(ms: int) -> str:
        nonlocal last_day, day_text, last_sec, sec_text
        sec = ms // 1000
        if sec != last_sec:
            day, rem = divmod(sec * 1000 + offset_ms, DAY_MS)
            if day != last_day:
                last_day = day
                day_text = date.fromordinal(_EPOCH_ORDINAL + day).isoformat()
            s = rem // 1000
            last_sec = sec
            sec_text = f"{day_text}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}."
        return f"{sec_text}{ms % 1000:03d}{suffix}"

    return fmt
