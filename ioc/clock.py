"""The one clock the product reads "now" from, so tests can set it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time in UTC, optionally shifted (a replay of old traffic can run "in the past")."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(at: datetime) -> int:
    """Unix microseconds of an aware instant: exact, unlike `timestamp()`'s float, whose last
    digits round away far from 1970."""
    return (at - _EPOCH) // _MICROSECOND


def from_micros(us: int) -> datetime:
    """The UTC instant of unix microseconds `us`."""
    return _EPOCH + timedelta(microseconds=us)
