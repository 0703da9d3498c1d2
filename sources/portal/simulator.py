"""The portal's simulator profile: applications submitted, resolved, paid and rated."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping

from ioc.errors import ConfigError
from ioc.registry import Service
from ioc.simulation import Entity, EntityProfile, Outlet, Payload, Picker, ProfileContext, World, lognormal
from ioc.simulation.rhythm import (
    COUNTER,
    DOCUMENT_OFFICE,
    HOUR_MS,
    MINUTE_MS,
    ONE_STOP_SHOP,
    ONLINE,
    profile_arrivals,
)
from sources.portal.kpis import APPLICATIONS

ENVELOPE_SOURCE = "dvc-portal"
"""The envelope's ``source`` of its events (a run may rename it: ``SimulatorConfig.sources``)."""
VOLUMES: Mapping[str, float] = {"applications_per_day": 2500.0, "online_share": 0.6}
"""Applications submitted on a working day, all channels, at multiplier 1, and the share of
them filed online (a run may override either by name)."""

_SCORE_APPROVED = Picker((1, 2, 3, 4, 5), (2, 2, 6, 20, 70))
_SCORE_REJECTED = Picker((1, 2, 3, 4, 5), (20, 20, 30, 20, 10))
_CASHLESS = {"online": 0.9, "counter": 0.35, "postal": 0.5}
_RATES = {"online": 0.45, "counter": 0.25, "postal": 0.15}


class Application(Entity):
    __slots__ = (
        "agency",
        "amount",
        "application_id",
        "channel",
        "district",
        "due_ms",
        "method",
        "outcome",
        "score",
        "service",
        "submitted_ms",
    )
    application_id: str
    service: Service
    agency: str
    district: str
    channel: str
    submitted_ms: int
    due_ms: int
    outcome: str
    amount: int
    method: str
    score: int


def profiles(ctx: ProfileContext) -> tuple[Applications]:
    """The source's traffic for one run (``Source.simulator``)."""
    volumes = ctx.volumes(VOLUMES)
    per_day, online_share = volumes["applications_per_day"], volumes["online_share"]
    if per_day < 0 or not 0 <= online_share <= 1:
        raise ConfigError("portal applications_per_day cannot be negative; online_share is a share (0 to 1)")
    outlet = ctx.outlet(APPLICATIONS, ENVELOPE_SOURCE)
    return (Applications(ctx.world, outlet, ctx.rng("applications"), per_day, online_share),)


class Applications(EntityProfile):
    """Two arrival streams: online (any hour, busiest in office hours) and counter (office hours
    and Saturday mornings). A few services get most applications; online ones favour level 4.

    The legal deadline is the service's working days; most are resolved well inside it. Fees
    are paid after an approval (online payers mostly cashless), and some applicants rate.
    """

    def __init__(
        self, world: World, outlet: Outlet, rng: random.Random, per_day: float, online_share: float
    ) -> None:
        self.world = world
        self.outlet = outlet
        self.rng = rng
        registry = world.registry
        self.per_day = volume = per_day * world.multiplier
        self.online_rates = ONLINE.per_ms(volume * online_share)
        self.counter_rates = COUNTER.per_ms(volume * (1 - online_share))
        # Popularity: a shuffled rank order (by seed), weight 1/rank.
        ranked = list(registry.services)
        rng.shuffle(ranked)
        popularity = {s.service_code: 1.0 / (rank + 1) for rank, s in enumerate(ranked)}
        online = [s for s in registry.services if s.level >= 3] or list(registry.services)
        self.online_service = Picker(
            online, [popularity[s.service_code] * (2.0 if s.level == 4 else 0.6) for s in online]
        )
        self.counter_service = Picker(
            registry.services, [popularity[s.service_code] for s in registry.services]
        )
        populated = [d for d in registry.districts if d.population > 0] or list(registry.districts)
        self.district = Picker([d.code for d in populated], [max(d.population, 1) for d in populated])
        self.committee = {d.code: registry.district_agency(d.code) for d in registry.districts}
        self.fallback_agency = registry.agencies[0].code
        self.prefix = world.id_prefix("HS")
        self.count = 0

    def events_per_day(self) -> float:
        """About three events an application (submitted, resolved, most paid or rated), working days."""
        return 3 * self.per_day * 5 / 7 if self.outlet.enabled else 0.0

    def spawn(self, start_ms: int, span_ms: int) -> Iterator[Application]:
        offset = self.world.offset_ms
        online = profile_arrivals(self.rng, self.online_rates, start_ms, span_ms, offset)
        counter = profile_arrivals(self.rng, self.counter_rates, start_ms, span_ms, offset)
        for t in online:
            yield self._create(t, "online")
        for t in counter:
            yield self._create(t, "postal" if self.rng.random() < 0.05 else "counter")

    def _create(self, t: int, channel: str) -> Application:
        rng, world = self.rng, self.world
        offset = world.offset_ms
        self.count += 1
        service = (self.online_service if channel == "online" else self.counter_service)(rng)
        district = self.district(rng)
        agency = service.agency or self.committee.get(district) or self.fallback_agency
        due = DOCUMENT_OFFICE.add_working_days(t, service.processing_days, offset)
        share = lognormal(rng, 0.35, 0.5) * world.slowness(agency)
        resolved = max(ONE_STOP_SHOP.next_working(t + int(share * (due - t)), offset, rng), t + MINUTE_MS)
        application_id = f"{self.prefix}{self.count:08d}"
        stages = [(t, "application.submitted"), (resolved, "application.resolved")]
        app = Application(application_id, stages)
        app.application_id = application_id
        app.service = service
        app.agency = agency
        app.district = district
        app.channel = channel
        app.submitted_ms = t
        app.due_ms = due
        app.outcome = "approved" if rng.random() < 0.96 else "rejected"
        last = resolved
        if app.outcome == "approved" and service.fee_vnd > 0:
            if channel == "online":
                paid = resolved + int((5 + rng.random() * 355) * MINUTE_MS)
            else:
                paid = ONE_STOP_SHOP.next_working(
                    resolved + int((1 + rng.random() * 47) * HOUR_MS), offset, rng
                )
            app.amount = service.fee_vnd
            app.method = "cashless" if rng.random() < _CASHLESS[channel] else "cash"
            stages.append((paid, "application.paid"))
            last = paid
        if rng.random() < _RATES[channel]:
            score = _SCORE_APPROVED if app.outcome == "approved" else _SCORE_REJECTED
            app.score = score(rng)
            stages.append((last + int((1 + rng.random() * 89) * MINUTE_MS), "application.rated"))
        return app

    def body(self, app: Application, type_name: str) -> Payload:
        fmt = self.world.fmt
        if type_name == "application.submitted":
            return {
                "application_id": app.application_id,
                "service_code": app.service.service_code,
                "service_level": app.service.level,
                "agency": app.agency,
                "district": app.district,
                "channel": app.channel,
                "due_at": fmt(app.due_ms),
            }
        if type_name == "application.resolved":
            return {
                "application_id": app.application_id,
                "service_code": app.service.service_code,
                "agency": app.agency,
                "district": app.district,
                "submitted_at": fmt(app.submitted_ms),
                "due_at": fmt(app.due_ms),
                "outcome": app.outcome,
            }
        if type_name == "application.paid":
            return {"application_id": app.application_id, "amount_vnd": app.amount, "method": app.method}
        return {"application_id": app.application_id, "score": app.score}
