"""When is a source stale: silent longer than it is expected to be, while it should be speaking.

A source topic declares an expectation, written `"<every> <when>"`: `"10s always"` (heartbeats,
around the clock), `"15m office"` (office hours, `IOC_OFFICE_HOURS`), or explicit hours such as
`"30m monday:friday 07:30-17:00"`. Only silence inside the active hours counts, so a quiet night
is not stale, and a source silent since yesterday evening is judged on the minutes since the
office opened this morning. Pure: no clock, no I/O; times are aware datetimes, hours are local
to the time zone given (DST-safe: every instant is compared in UTC).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_OFFICE_HOURS = "monday:saturday 07:00-17:30"
_DAY = 24 * 60
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(s|m|h|d)")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CLOCK = re.compile(r"([0-9]{2}):([0-9]{2})")


@dataclass(frozen=True, slots=True)
class ActiveHours:
    """Weekdays (0 = Monday) and a daily span in minutes after local midnight, start included,
    end excluded (`end` up to 1440)."""

    days: frozenset[int]
    start: int = 0
    end: int = _DAY

    def contains(self, at: datetime, tz: ZoneInfo) -> bool:
        local = at.astimezone(tz)
        minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60e6
        return local.weekday() in self.days and self.start <= minute < self.end

    def active_between(
        self, since: datetime, until: datetime, tz: ZoneInfo, *, enough: timedelta
    ) -> timedelta:
        """Active time in [since, until), counted day by day; stops once past `enough` (a source
        silent for a year is not walked day by day)."""
        total = timedelta(0)
        if until <= since or not self.days or self.end <= self.start:
            return total
        day = since.astimezone(tz).date()
        last = until.astimezone(tz).date()
        while day <= last and total <= enough:
            if day.weekday() in self.days:
                opens = _at(day, self.start, tz)
                closes = _at(day, self.end, tz)
                lo, hi = max(opens, since.astimezone(UTC)), min(closes, until.astimezone(UTC))
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total


ALWAYS = ActiveHours(frozenset(range(7)))


def _at(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of `minutes` after local midnight of `day` (1440: the next midnight)."""
    day += timedelta(days=minutes // _DAY)
    minutes %= _DAY
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Expectation:
    """How often a topic speaks (`every`) and when (`hours`)."""

    every: timedelta
    hours: ActiveHours

    def active(self, at: datetime, tz: ZoneInfo) -> bool:
        """Whether the source should be speaking at `at`."""
        return self.hours.contains(at, tz)

    def stale(self, newest: datetime | None, now: datetime, tz: ZoneInfo) -> bool:
        """Silent longer than `every`, counting active time only, while it should speak now.
        Never heard from at all, while it should speak: stale."""
        if not self.active(now, tz):
            return False
        if newest is None:
            return True
        return self.hours.active_between(newest, now, tz, enough=self.every) > self.every


def parse_duration(text: str) -> timedelta:
    """`10s`, `15m`, `8h`, `1d` (a positive number and one unit)."""
    m = _DURATION.fullmatch(text.strip())
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration such as 10s, 15m, 8h or 1d")
    return timedelta(seconds=float(m.group(1)) * _UNIT_S[m.group(2)])


def _clock(text: str) -> int:
    m = _CLOCK.fullmatch(text)
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59 or (m.group(1) == "24" and m.group(2) != "00"):
        raise ValueError(f"{text!r} is not a time HH:MM between 00:00 and 24:00")
    return int(m.group(1)) * 60 + int(m.group(2))


def _days(text: str) -> frozenset[int]:
    out: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().lower().partition(":")
        try:
            a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        except ValueError:
            raise ValueError(
                f"{part.strip()!r} is not a weekday or a range such as monday:saturday"
            ) from None
        out.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(out)


def parse_hours(text: str, *, office: ActiveHours | None = None) -> ActiveHours:
    """`always`, `office` (the `office` hours given), or `[DAYS] [HH:MM-HH:MM]`: days as
    `monday:saturday` or `monday,wednesday` (default every day), hours default all day."""
    words = text.strip().split()
    if words == ["always"]:
        return ALWAYS
    if words == ["office"]:
        if office is None:
            raise ValueError("'office' needs the office hours (IOC_OFFICE_HOURS)")
        return office
    if not words or len(words) > 2:
        raise ValueError(f"{text!r}: write 'always', 'office' or e.g. 'monday:saturday 07:00-17:30'")
    days, span = frozenset(range(7)), (0, _DAY)
    for word in words:
        if "-" in word:
            start, _, end = word.partition("-")
            span = (_clock(start), _clock(end))
            if span[1] <= span[0]:
                raise ValueError(
                    f"{word!r}: the end must come after the start (split a span across midnight)"
                )
        else:
            days = _days(word)
    return ActiveHours(days, *span)


def parse_expectation(text: str, *, office: ActiveHours) -> Expectation:
    """`"<every> <when>"`, e.g. `"10s always"`, `"15m office"`, `"1h monday:friday 08:00-17:00"`."""
    every, _, when = text.strip().partition(" ")
    try:
        return Expectation(parse_duration(every), parse_hours(when or "always", office=office))
    except ValueError as exc:
        raise ValueError(f"expectation {text!r}: {exc}") from None


@dataclass(frozen=True)
class Freshness:
    """Every source topic's expectation, in one time zone. A topic that declares none is
    expected around the clock, at least every `fallback` (IOC_STALE_AFTER_S)."""

    topics: Mapping[str, Expectation]
    tz: ZoneInfo

    def of(self, topic: str, fallback: timedelta) -> Expectation:
        return self.topics.get(topic) or Expectation(fallback, ALWAYS)

    def stale(self, topic: str, newest: datetime | None, now: datetime, *, fallback: timedelta) -> bool:
        return self.of(topic, fallback).stale(newest, now, self.tz)

    def active(self, topic: str, now: datetime, *, fallback: timedelta) -> bool:
        return self.of(topic, fallback).active(now, self.tz)


def freshness_from(
    declared: Mapping[str, str | None], *, overrides: Mapping[str, str], office_hours: str, timezone: str
) -> Freshness:
    """Every source topic's declared expectation (`"<every> <when>"`, None: none declared), each
    replaced by the operator's override where one is given (IOC_SOURCE_FRESHNESS)."""
    office = parse_hours(office_hours)
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise ValueError(f"freshness given for unknown topics {unknown}; topics: {sorted(declared)}")
    given = {t: overrides.get(t) or text for t, text in declared.items()}
    topics = {t: parse_expectation(text, office=office) for t, text in given.items() if text}
    return Freshness(topics, ZoneInfo(timezone))
