"""The markets of the market-4.0 simulator (``simulator.py``): where and when each trades, its
roster of traders, and who of them takes payments now.

A market's registry entry (``registry.places["market"]``) gives its commune and district,
``schedule`` (``daily`` or weekdays, 0 = Monday), local ``opens``/``closes`` (``HH:MM``) and
``merchants``, its traders at full roll-out: the roster, numbered per district
(``MK-HY-0001`` on), scaled by the run's multiplier.
"""

from __future__ import annotations

import bisect
import random
from typing import Any

from ioc.errors import ConfigError
from ioc.registry import Place, Registry
from ioc.simulation.rhythm import DAY_MS, MINUTE_MS, SLOT_MS, SLOTS_PER_DAY

EPOCH_WEEKDAY = 3
"""1970-01-01 was a Thursday (Monday = 0)."""
NOT_YET = 1 << 62
_LONG_DAY_MIN = 10 * 60
_RETRIES = 4

_STEPS = (
    (0, 0.05),
    (4 * 60, 0.3),
    (5 * 60, 0.7),
    (6 * 60, 1.3),
    (6 * 60 + 30, 1.6),
    (8 * 60, 1.3),
    (9 * 60, 0.9),
    (10 * 60, 0.6),
    (11 * 60, 0.4),
    (12 * 60, 0.25),
    (14 * 60, 0.3),
    (15 * 60 + 30, 0.5),
    (17 * 60, 0.35),
    (19 * 60, 0.1),
)
SHAPE = tuple([w for start, w in _STEPS if start <= slot * 30][-1] for slot in range(SLOTS_PER_DAY))
"""Half-hour weights of a market day, local: a dawn rush, the morning peak (06:30-08:00), a quiet
noon, and the city markets' afternoon shoppers."""


class Merchant:
    """A trader: id, market, provider, and payments taken on a market day."""

    __slots__ = ("key", "market", "merchant_id", "provider", "since", "until", "weight")

    def __init__(self, merchant_id: str, market: Market, provider: str, weight: float) -> None:
        self.merchant_id = merchant_id
        self.key = merchant_id.encode()
        self.market = market
        self.provider = provider
        self.weight = weight
        self.since = NOT_YET  # onboarded at (ms)
        self.until = NOT_YET  # offboarded at (ms)


def _minute(text: Any, what: str) -> int:
    try:
        hours, minutes = str(text).split(":")
        value = int(hours) * 60 + int(minutes)
    except ValueError:
        value = -1
    if not 0 <= value <= 24 * 60:
        raise ConfigError(f"market {what}={text!r}: expected local time HH:MM")
    return value


class Market:
    """One market: its place, days and hours, roster, and the traders onboarded so far."""

    __slots__ = (
        "abbr",
        "active",
        "closes",
        "code",
        "commune",
        "cum",
        "days",
        "district",
        "first_id",
        "long_day",
        "merchants",
        "next_slot",
        "opens",
        "per_ms",
        "roster",
        "weight",
    )

    def __init__(self, place: Place, district_of: dict[str, str], abbr: dict[str, str], roster: int) -> None:
        extra = place.model_extra or {}
        self.code = place.code
        self.commune = str(extra.get("commune") or place.parent or "")
        self.district = str(extra.get("district") or district_of.get(self.commune, place.parent or ""))
        self.abbr = abbr.get(self.district, self.district[:2])
        schedule = extra.get("schedule", "daily")
        if schedule == "daily":
            self.days = frozenset(range(7))
        elif isinstance(schedule, list) and schedule and all(d in range(7) for d in schedule):
            self.days = frozenset(schedule)
        else:
            raise ConfigError(f"market {place.code}: schedule {schedule!r} is neither daily nor weekdays 0-6")
        self.opens = _minute(extra.get("opens", "05:30"), f"{place.code} opens")
        self.closes = _minute(extra.get("closes", "11:30"), f"{place.code} closes")
        if self.closes <= self.opens:
            raise ConfigError(f"market {place.code}: closes at or before it opens")
        self.long_day = self.closes - self.opens >= _LONG_DAY_MIN
        # Payments a ms in each half hour the market is open in, per payment a market day (a
        # half hour it opens or closes in is thinned by ``is_open``).
        share = [
            max(0, min(self.closes, s * 30 + 30) - max(self.opens, s * 30)) / 30 for s in range(SLOTS_PER_DAY)
        ]
        day = sum(w * s for w, s in zip(SHAPE, share, strict=True)) * SLOT_MS
        self.per_ms = tuple(w / day if s > 0 else 0.0 for w, s in zip(SHAPE, share, strict=True))
        self.roster = roster
        self.first_id = 0
        self.next_slot = 0  # roster places taken so far
        self.merchants: list[Merchant] = []  # onboarded, in order (the offboarded stay, inactive)
        self.cum: list[float] = []  # running total of their weights, for a weighted pick
        self.weight = 0.0  # payments a market day of those taking payments
        self.active = 0

    def next_id(self) -> str:
        """The id of the roster's next trader (the caller has checked the roster has room)."""
        self.next_slot += 1
        return f"MK-{self.abbr}-{self.first_id + self.next_slot:04d}"

    def is_open(self, local_ms: int) -> bool:
        day, rem = divmod(local_ms, DAY_MS)
        return (day + EPOCH_WEEKDAY) % 7 in self.days and self.opens <= rem // MINUTE_MS < self.closes

    def onboard(self, merchant: Merchant, at: int) -> None:
        merchant.since = at
        self.merchants.append(merchant)
        self.cum.append((self.cum[-1] if self.cum else 0.0) + merchant.weight)
        self.weight += merchant.weight
        self.active += 1

    def offboard(self, rng: random.Random, at: int) -> Merchant | None:
        """A trader onboarded before ``at`` gives up (None if the draws find none)."""
        for _ in range(_RETRIES):
            merchant = self.merchants[int(rng.random() * len(self.merchants))]
            if merchant.since < at < merchant.until:
                merchant.until = at
                self.weight = max(0.0, self.weight - merchant.weight)
                self.active -= 1
                return merchant
        return None

    def pick(self, rng: random.Random, at: int) -> Merchant | None:
        """A trader taking payments at ``at``, by how busy each is (None if the draws find none)."""
        cum = self.cum
        for _ in range(_RETRIES):
            i = bisect.bisect_right(cum, rng.random() * cum[-1])
            merchant = self.merchants[min(i, len(cum) - 1)]
            if merchant.since < at < merchant.until:
                return merchant
        return None


def markets(registry: Registry, multiplier: float) -> list[Market]:
    """The registry's markets, rosters scaled by ``multiplier`` and numbered per district (by the
    district's abbreviation, so ids stay unique)."""
    district_of = {c.code: c.district for c in registry.communes}
    abbr = {d.code: d.abbr for d in registry.districts}
    out = []
    numbered: dict[str, int] = {}
    for place in registry.places.get("market", ()):
        full = (place.model_extra or {}).get("merchants", 0)
        if not isinstance(full, int) or full < 0:
            raise ConfigError(f"market {place.code}: merchants={full!r} is not a count")
        market = Market(place, district_of, abbr, round(full * multiplier))
        market.first_id = numbered.get(market.abbr, 0)
        numbered[market.abbr] = market.first_id + market.roster
        out.append(market)
    return out
