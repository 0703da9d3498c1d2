"""The market-4.0 source's simulator profile: traders at the province's markets
(``simulator_markets.py``) onboarded by the payment providers, and the cashless payments they
take while their market trades.

When the run starts, a share of each market's traders already take payments; their onboarding
is sent over the run's first minutes. More are onboarded on working days until a market's
roll-out is complete, and a few give up. A payment is always by a trader onboarded earlier in
the run and not gone, on one of the market's days, in its hours, busiest in the early morning.

Out of order on demand (the run's ``out_of_order``, a share of traders): a trader's onboarding
arrives after its first payment or its offboarding, or, if neither comes within ``max_disorder``,
late and with an offboarding and re-onboarding made up for the quiet span, the re-onboarding
arriving first (``ioc.simulation.Holdback``).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Mapping
from typing import Any

from ioc.errors import ConfigError
from ioc.simulation import Holdback, Item, Outlet, Payload, Picker, ProfileContext, Schedule, World, lognormal
from ioc.simulation.disorder import Events
from ioc.simulation.rhythm import DAY_MS, MINUTE_MS, OFFICE, SLOT_MS, poisson, profile_arrivals
from schemas.topics import SCHEMA_VERSION
from sources.market.kpis import PAYMENTS
from sources.market.simulator_markets import EPOCH_WEEKDAY, Market, Merchant, markets

ENVELOPE_SOURCE = "market-gw"
"""The envelope's ``source``: the providers report through one gateway (a run may rename it:
``SimulatorConfig.sources``)."""
VOLUMES: Mapping[str, float] = {
    "onboarded_share": 0.6,
    "onboardings_per_day": 12.0,
    "offboardings_per_day": 2.0,
    "payments_per_merchant_day": 12.0,
    "dormant_share": 0.1,
}
"""At multiplier 1: the share of each market's traders (``merchants``) already onboarded when
the run starts; traders onboarded and giving up on a working day, province-wide; the median
payments an onboarded trader takes on a market day (each trader's own rate, 5 to 30, a third
more at a city market open all day); and the share of onboarded traders who hardly use it (a
payment every few market days). A run may override any of them by name."""

PROVIDERS = Picker(("vnpt_money", "viettel_money", "bank_qr", "other"), (0.45, 0.28, 0.22, 0.05))
_HISTORY_MS = 10 * MINUTE_MS
"""The onboarding of the traders already taking payments is sent over the run's first minutes."""
_DORMANT_RATE = 0.3
_BIG_SHARE = 0.04


def profiles(ctx: ProfileContext) -> tuple[Payments]:
    """The source's traffic for one run (``Source.simulator``)."""
    volumes = ctx.volumes(VOLUMES)
    for name in ("onboarded_share", "dormant_share"):
        if not 0 <= volumes[name] <= 1:
            raise ConfigError(f"market {name}={volumes[name]}: must be a share (0 to 1)")
    for name in ("onboardings_per_day", "offboardings_per_day", "payments_per_merchant_day"):
        if volumes[name] < 0:
            raise ConfigError(f"market {name}={volumes[name]}: cannot be negative")
    outlet = ctx.outlet(PAYMENTS, ENVELOPE_SOURCE)
    rng = ctx.rng("market")
    disorder = ctx.rng("market-disorder")  # its own stream: the traffic's draws stay as they are
    holdback: Holdback[Merchant] = Holdback.of_run(ctx, disorder.random)
    return (Payments(ctx.world, outlet, ctx.schedule, rng, volumes, holdback),)


class Payments:
    """Onboardings on working days, a few offboardings, and payments in each market's hours.

    A profile with no life-cycles: every event is single, made in ``emit`` in bulk (as the
    network's heartbeats are), so the busiest of the new topics costs little at scale.
    """

    def __init__(
        self,
        world: World,
        outlet: Outlet,
        schedule: Schedule,
        rng: random.Random,
        volumes: Mapping[str, float],
        holdback: Holdback[Merchant],
    ) -> None:
        self.world = world
        self.outlet = outlet
        self.schedule = schedule
        self.rng = rng
        self.markets = markets(world.registry, world.multiplier)
        self.median = volumes["payments_per_merchant_day"]
        self.dormant = volumes["dormant_share"]
        self.onboard_per_day = volumes["onboardings_per_day"] * world.multiplier
        self.offboard_per_day = volumes["offboardings_per_day"] * world.multiplier
        self.onboard_rates = OFFICE.per_ms(self.onboard_per_day)
        self.offboard_rates = OFFICE.per_ms(self.offboard_per_day)
        share = volumes["onboarded_share"]
        # The traders taking payments when the run starts; their times are set by the first window.
        self.history = [self._merchant(m) for m in self.markets for _ in range(round(m.roster * share))]
        self.started = False
        self._pending = 0  # the first of ``history`` not yet sent
        self.prefix = world.id_prefix("GD")
        self.count = 0
        self._version = 0  # changes whenever a market's traders do
        self._rates_key = (-1, -1, -1)
        self._open: list[Market] = []
        self._cum: list[float] = []
        self.holdback = holdback

    @property
    def reordered(self) -> int:
        """Traders delivered out of order so far."""
        return self.holdback.reordered

    def events_per_day(self) -> float:
        """Payments of the traders onboarded at the start, averaged over the week's market days,
        and the working days' onboardings and offboardings (the start's onboardings not counted)."""
        if not self.outlet.enabled:
            return 0.0
        week = sum(m.weight * len(m.market.days) for m in self.history)
        return week / 7 + (self.onboard_per_day + self.offboard_per_day) * 5 / 7

    def _merchant(self, market: Market) -> Merchant:
        """The market's next roster place as a trader: provider and how busy (the roster has room)."""
        rng = self.rng
        merchant_id = market.next_id()
        if rng.random() < self.dormant:
            weight = _DORMANT_RATE
        else:
            weight = lognormal(rng, self.median * (1.3 if market.long_day else 1.0), 0.45)
            weight = min(30.0, max(5.0, weight))
        return Merchant(merchant_id, market, PROVIDERS(rng), weight)

    # --- the Profile protocol: no entities, nothing planned; everything is emitted ---------

    def spawn(self, start_ms: int, span_ms: int) -> tuple[()]:
        return ()

    def body(self, entity: Any, type_name: str) -> Payload:
        raise AssertionError("market payments spawn no entities")

    def plan(self, start_ms: int, span_ms: int) -> None:
        """Nothing is scheduled: every event is made in ``emit``."""

    def emit(self, start_ms: int, end_ms: int, out: list[Item]) -> None:
        if not self.outlet.enabled:
            return
        if not self.started:
            self.started = True
            for merchant in self.history:
                merchant.since = start_ms + int(self.rng.random() * _HISTORY_MS)
            self.history.sort(key=lambda m: m.since)
        events: Events = []
        self._onboardings(start_ms, end_ms, events)
        self._offboardings(start_ms, end_ms, events)
        self._payments(start_ms, end_ms, events)
        self.holdback.due(end_ms, events, self._off_and_on)
        seq = self.schedule.reserve(len(events))
        outlet = self.outlet
        for n, (t, occurred, key, payload) in enumerate(events, seq + 1):
            out.append((t, n, occurred, outlet, key, payload))

    # --- traders -----------------------------------------------------------------------------

    def _onboardings(self, start_ms: int, end_ms: int, events: Events) -> None:
        """The start's traders due in the window, then new ones where rosters have room."""
        history, i = self.history, self._pending
        while i < len(history) and history[i].since < end_ms:
            self._onboard(history[i], history[i].since, events)
            i += 1
        self._pending = i
        rng = self.rng
        for t in profile_arrivals(rng, self.onboard_rates, start_ms, end_ms - start_ms, self.world.offset_ms):
            room = [m for m in self.markets if m.next_slot < m.roster]
            if not room:
                return
            market = Picker(room, [m.roster - m.next_slot for m in room])(rng)
            self._onboard(self._merchant(market), t, events)

    def _onboard(self, merchant: Merchant, at: int, events: Events) -> None:
        merchant.market.onboard(merchant, at)
        self._version += 1
        payload = self._merchant_event("merchant.onboarded", merchant)
        self.holdback.first(merchant, merchant.key, at, payload, events)

    def _offboardings(self, start_ms: int, end_ms: int, events: Events) -> None:
        rng, holdback = self.rng, self.holdback
        for t in profile_arrivals(
            rng, self.offboard_rates, start_ms, end_ms - start_ms, self.world.offset_ms
        ):
            with_some = [m for m in self.markets if m.active > 0]
            if not with_some:
                return
            merchant = Picker(with_some, [m.active for m in with_some])(rng).offboard(rng, t)
            if merchant is not None:
                self._version += 1
                events.append((t, t, merchant.key, self._merchant_event("merchant.offboarded", merchant)))
                if holdback.held:
                    holdback.sent(merchant.key, t, events)

    def _off_and_on(self, merchant: Merchant, _onboarded: Payload) -> tuple[Payload, Payload]:
        """A trader offboarded and onboarded again (a made-up pair for an out-of-order trader)."""
        off = self._merchant_event("merchant.offboarded", merchant)
        return off, self._merchant_event("merchant.onboarded", merchant)

    def _merchant_event(self, type_name: str, merchant: Merchant) -> Payload:
        market = merchant.market
        return {
            "event_id": None,
            "type": type_name,
            "occurred_at": None,
            "source": self.outlet.source,
            "schema_version": SCHEMA_VERSION,
            "merchant_id": merchant.merchant_id,
            "market": market.code,
            "district": market.district,
            "commune": market.commune,
            "provider": merchant.provider,
        }

    # --- payments ----------------------------------------------------------------------------

    def _payments(self, start_ms: int, end_ms: int, events: Events) -> None:
        """Payments in each half hour at the trading markets' rates, each by a trader of the
        market taking payments then, in the market's hours."""
        rng, offset, holdback = self.rng, self.world.offset_ms, self.holdback
        t = start_ms
        while t < end_ms:
            local = t + offset
            stop = min(end_ms, t - local % SLOT_MS + SLOT_MS)
            total = self._slot_rates(local // DAY_MS, (local % DAY_MS) // SLOT_MS)
            span = stop - t
            for _ in range(poisson(rng, total * span)):
                at = t + int(rng.random() * span)
                i = bisect.bisect_right(self._cum, rng.random() * total)
                market = self._open[min(i, len(self._open) - 1)]
                if not market.is_open(at + offset):
                    continue  # the half hour the market opens or closes in
                merchant = market.pick(rng, at)
                if merchant is not None:
                    events.append((at, at, merchant.key, self._payment(merchant)))
                    if holdback.held:
                        holdback.sent(merchant.key, at, events)
            t = stop

    def _slot_rates(self, day: int, slot: int) -> float:
        """The markets trading in a half hour and their payments a ms (running total), cached."""
        key = (day, slot, self._version)
        if key != self._rates_key:
            self._rates_key = key
            weekday = (day + EPOCH_WEEKDAY) % 7
            self._open = [
                m for m in self.markets if weekday in m.days and m.per_ms[slot] > 0 and m.weight > 0
            ]
            self._cum = []
            total = 0.0
            for m in self._open:
                total += m.weight * m.per_ms[slot]
                self._cum.append(total)
        return self._cum[-1] if self._cum else 0.0

    def _payment(self, merchant: Merchant) -> Payload:
        """Tens of thousands of đồng (median about 50,000), rounded to 1,000; now and then a few
        hundred thousand."""
        rng = self.rng
        big = rng.random() < _BIG_SHARE
        amount = lognormal(rng, 250_000, 0.5) if big else lognormal(rng, 48_000, 0.65)
        self.count += 1
        market = merchant.market
        return {
            "event_id": None,
            "type": "payment.completed",
            "occurred_at": None,
            "source": self.outlet.source,
            "schema_version": SCHEMA_VERSION,
            "payment_id": f"{self.prefix}{self.count:09d}",
            "merchant_id": merchant.merchant_id,
            "market": market.code,
            "district": market.district,
            "commune": market.commune,
            "provider": merchant.provider,
            "amount_vnd": max(1, int(amount / 1000 + 0.5)) * 1000,
        }
