"""Durations as operators write them in rule files: `5m`, `4h`, `10s`, `1h30m`, `0s`.

The units and the compound form are Prometheus's, so a rule author writes the same thing in
our file as in a Prometheus rule.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS: dict[str, float] = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86_400,
    "w": 7 * 86_400,
}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(?:\d+(?:ms|s|m|h|d|w))+")


def parse_duration(text: object) -> timedelta:
    """`5m` -> 5 minutes; `0` and `0s` -> zero; anything else is a ValueError saying what is allowed."""
    if isinstance(text, timedelta):
        return text
    if text == "0" or (type(text) is int and text == 0):
        return timedelta(0)
    if not isinstance(text, str) or not _WHOLE.fullmatch(text.strip()):
        raise ValueError(
            f"invalid duration {text!r}: write a number and a unit (ms, s, m, h, d, w), e.g. 5m, 4h, 10s, 0s"
        )
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(text.strip()))
    return timedelta(seconds=seconds)


def format_duration(d: timedelta) -> str:
    """The shortest spelling `parse_duration` reads back (`1h30m`, `0s`)."""
    ms = round(d.total_seconds() * 1000)
    if ms == 0:
        return "0s"
    out = []
    for unit in ("w", "d", "h", "m", "s", "ms"):
        size = round(_UNITS[unit] * 1000)
        n, ms = divmod(ms, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)
