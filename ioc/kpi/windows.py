"""Time arithmetic of windows and series steps (contract/KPIS.md "Windows and time"), pure."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from schemas.kpis import STEPS, WINDOWS

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def floor_minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def ceil_hour(t: datetime) -> datetime:
    f = floor_hour(t)
    return f if f == t else f + HOUR


def window_range(as_of: datetime, window: str) -> tuple[datetime, datetime]:
    """[start, end) of the minute buckets a window covers: the W before the current minute plus it."""
    current = floor_minute(as_of)
    return current - timedelta(minutes=WINDOWS[window]), current + MINUTE


def availability_range(as_of: datetime, window: str) -> tuple[datetime, datetime]:
    """The W/1m complete minutes before the current one."""
    current = floor_minute(as_of)
    return current - timedelta(minutes=WINDOWS[window]), current


def split_by_hours(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """(h1, h2): [start, h1) and [h2, end) are read per minute, [h1, h2) per hour."""
    h1, h2 = ceil_hour(start), floor_hour(end)
    if h1 >= h2:
        return end, end
    return h1, h2


def step_starts(start: datetime, end: datetime, step: str, tz: ZoneInfo) -> list[datetime]:
    """Start of every step overlapping [start, end); `1d` steps begin at local midnight in `tz`."""
    if step == "1d":
        day = start.astimezone(tz).date()
        days = []
        while (t := datetime.combine(day, time(0), tz)) < end:
            days.append(t.astimezone(start.tzinfo))
            day += timedelta(days=1)
        return days
    size = timedelta(minutes=STEPS[step])
    epoch = datetime(1970, 1, 1, tzinfo=start.tzinfo)
    t = epoch + ((start - epoch) // size) * size
    out = []
    while t < end:
        out.append(t)
        t += size
    return out


def step_size(step: str) -> timedelta:
    return timedelta(minutes=STEPS[step])


def bucket_expr(step: str, column: str, param: int) -> str:
    """SQL for the start of the step holding `column`; the step (or time zone) is bind `$param`."""
    if step == "1d":
        return f"date_trunc('day', {column}, ${param}::text)"
    return f"date_bin(make_interval(mins => ${param}::int), {column}, TIMESTAMPTZ '2000-01-01 00:00+00')"


def step_arg(step: str, tz: ZoneInfo) -> object:
    """The bind value `bucket_expr` takes: the time zone's name for days, else the minutes."""
    return str(tz) if step == "1d" else STEPS[step]
