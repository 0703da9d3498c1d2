"""The community digital-team source's simulator profile: the province's teams registered, their
members changing now and then, and the help they report.

Teams come from the registry (``registry.places["team"]``: commune, ``level``, ``members``);
each registers over the run's first minutes (a multiplier above 1 clones them, as the
video-conference network clones its sites). Teams help citizens mostly in office hours,
some in the evening, and at weekends in community campaigns, when more people come at once.
A share of the teams never report anything in the run; how busy the others are varies.

Out of order on demand (``out_of_order``, a share of teams; the engine's reorders only life-cycle
stages): a team's registration arrives just after its first activity or member change, or, if none
comes within ``max_disorder``, then, with two member changes made up (one more, then back) swapped
(``ioc.simulation.Holdback``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from ioc.errors import ConfigError
from ioc.simulation import Holdback, Item, Outlet, Payload, Picker, ProfileContext, Schedule, World, lognormal
from ioc.simulation.disorder import Events
from ioc.simulation.rhythm import DAY_MS, MINUTE_MS, OFFICE, SLOT_MS, SLOTS_PER_DAY, profile_arrivals
from schemas.topics import SCHEMA_VERSION
from sources.community.kpis import ACTIVITIES

ENVELOPE_SOURCE = "cns-community"
"""The envelope's ``source``: the teams' reporting app (a run may rename it:
``SimulatorConfig.sources``)."""
VOLUMES: Mapping[str, float] = {
    "activities_per_team_week": 4.0,
    "silent_share": 0.1,
    "members_changes_per_day": 30.0,
}
"""At multiplier 1: activities a reporting team reports in a week (on average: each team has
its own pace), the share of teams that report nothing in the run, and the teams whose member
count changes on a working day, province-wide. A run may override any of them by name."""

_HISTORY_MS = 10 * MINUTE_MS
"""The teams' registration is sent over the run's first minutes."""
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)
_KINDS = ("online_service_help", "account_setup", "app_install", "cashless_help", "training")
_WEEKDAY_KIND = Picker(_KINDS, (0.34, 0.30, 0.16, 0.13, 0.07))
_CAMPAIGN_KIND = Picker(_KINDS, (0.22, 0.34, 0.18, 0.14, 0.12))
_MEMBER_STEP = Picker((-2, -1, 1, 2, 3), (0.1, 0.35, 0.35, 0.15, 0.05))
_MAX_MEMBERS = 20


def _day(steps: tuple[tuple[int, float], ...], scale: float = 1.0) -> list[float]:
    """Half-hour weights of a day from (start minute, weight) steps, each holding until the next."""
    return [scale * [w for start, w in steps if start <= slot * 30][-1] for slot in range(SLOTS_PER_DAY)]


_WORKDAY = _day(
    (
        (0, 0.0),
        (450, 0.8),
        (480, 1.0),
        (690, 0.25),
        (810, 1.0),
        (990, 0.7),
        (1020, 0.3),
        (1140, 0.2),
        (1260, 0.0),
    )
)
"""Office hours (07:30-11:30, 13:30-17:00), a little at lunch, and evenings in the villages."""
_CAMPAIGN_DAY = _day(
    ((0, 0.0), (420, 0.6), (480, 1.0), (690, 0.35), (810, 0.8), (1020, 0.2), (1200, 0.0)), scale=0.6
)
"""Weekend campaigns: daytime, busiest in the morning."""
_WEEK = _WORKDAY * 5 + _CAMPAIGN_DAY * 2


def profiles(ctx: ProfileContext) -> tuple[Teams]:
    """The source's traffic for one run (``Source.simulator``)."""
    volumes = ctx.volumes(VOLUMES)
    if not 0 <= volumes["silent_share"] <= 1:
        raise ConfigError(f"community silent_share={volumes['silent_share']}: must be a share (0 to 1)")
    for name in ("activities_per_team_week", "members_changes_per_day"):
        if volumes[name] < 0:
            raise ConfigError(f"community {name}={volumes[name]}: cannot be negative")
    outlet = ctx.outlet(ACTIVITIES, ENVELOPE_SOURCE)
    # Its own stream, so the traffic's draws stay as they are; held in registration order.
    holdback: Holdback[Team] = Holdback.of_run(ctx, ctx.rng("community-disorder").random, ties="held")
    return (Teams(ctx.world, outlet, ctx.schedule, ctx.rng("community"), volumes, holdback),)


class Team:
    __slots__ = ("commune", "district", "key", "level", "members", "pace", "registered", "team_id")

    def __init__(self, team_id: str, level: str, district: str, commune: str, members: int) -> None:
        self.team_id = team_id
        self.key = team_id.encode()
        self.level = level
        self.district = district
        self.commune = commune
        self.members = members
        self.pace = 0.0  # relative activities a week; 0: silent in this run
        self.registered = 1 << 62  # ms; not yet


def _teams(world: World) -> list[Team]:
    registry = world.registry
    district_of = {c.code: c.district for c in registry.communes}
    base = []
    for place in registry.places.get("team", ()):
        extra: dict[str, Any] = place.model_extra or {}
        commune = str(extra.get("commune") or place.parent or "")
        district = str(extra.get("district") or district_of.get(commune, place.parent or ""))
        level, members = extra.get("level", "village"), extra.get("members", 1)
        if level not in ("commune", "village") or not isinstance(members, int) or members < 1:
            raise ConfigError(
                f"team {place.code}: level {level!r} or members {members!r} not as the contract says"
            )
        base.append((place.code, level, district, commune, members))
    if not base:
        return []
    count = max(1, round(len(base) * world.multiplier))
    out = []
    for i in range(count):
        clone, spec = divmod(i, len(base))
        code, level, district, commune, members = base[spec]
        out.append(Team(code if clone == 0 else f"{code}-{clone:04d}", level, district, commune, members))
    return out


class Teams:
    """Registrations at the start, member changes on working days, activities by rhythm.

    A profile with no life-cycles: every event is single and made in ``emit``.
    """

    def __init__(
        self,
        world: World,
        outlet: Outlet,
        schedule: Schedule,
        rng: random.Random,
        volumes: Mapping[str, float],
        holdback: Holdback[Team],
    ) -> None:
        self.world = world
        self.outlet = outlet
        self.schedule = schedule
        self.rng = rng
        self.teams = _teams(world)
        silent = volumes["silent_share"]
        for team in self.teams:
            if rng.random() >= silent:
                # Commune-level teams (the commune's officials) report more than a village's.
                team.pace = lognormal(rng, 1.5 if team.level == "commune" else 1.0, 0.5)
        reporting = [t for t in self.teams if t.pace > 0]
        self.team = Picker(reporting, [t.pace for t in reporting]) if reporting else None
        per_week = volumes["activities_per_team_week"] * len(reporting)
        week_weight = sum(_WEEK) * SLOT_MS
        self.activity_rates = tuple(per_week * w / week_weight for w in _WEEK)
        self.activities_per_week = per_week
        self.changes_per_day = volumes["members_changes_per_day"] * world.multiplier if self.teams else 0.0
        self.change_rates = OFFICE.per_ms(self.changes_per_day)
        self.started = False
        self.unregistered: list[Team] = []  # the teams by registration time, once the run starts
        self.next_registered = 0
        self.prefix = world.id_prefix("HD")
        self.count = 0
        self.holdback = holdback

    @property
    def reordered(self) -> int:
        """Teams delivered out of order so far."""
        return self.holdback.reordered

    def events_per_day(self) -> float:
        """Activities averaged over the week and member changes on working days (the start's
        registrations not counted)."""
        if not self.outlet.enabled:
            return 0.0
        return self.activities_per_week / 7 + self.changes_per_day * 5 / 7

    # --- the Profile protocol: no entities, nothing planned; everything is emitted ---------

    def spawn(self, start_ms: int, span_ms: int) -> tuple[()]:
        return ()

    def body(self, entity: Any, type_name: str) -> Payload:
        raise AssertionError("community teams spawn no entities")

    def plan(self, start_ms: int, span_ms: int) -> None:
        """Nothing is scheduled: every event is made in ``emit``."""

    def emit(self, start_ms: int, end_ms: int, out: list[Item]) -> None:
        if not self.outlet.enabled:
            return
        rng, offset, span, holdback = self.rng, self.world.offset_ms, end_ms - start_ms, self.holdback
        events: Events = []
        if not self.started:
            self.started = True
            for team in self.teams:
                team.registered = start_ms + int(rng.random() * _HISTORY_MS)
            self.unregistered = sorted(self.teams, key=lambda t: t.registered)
            self.next_registered = 0
        queue, i = self.unregistered, self.next_registered
        while i < len(queue) and queue[i].registered < end_ms:
            team = queue[i]
            holdback.first(team, team.key, team.registered, self._registered(team), events)
            i += 1
        self.next_registered = i
        if self.teams:
            for t in profile_arrivals(rng, self.change_rates, start_ms, span, offset):
                team = self.teams[int(rng.random() * len(self.teams))]
                if team.registered < t:
                    members = min(_MAX_MEMBERS, max(1, team.members + _MEMBER_STEP(rng)))
                    if members != team.members:
                        team.members = members
                        events.append((t, t, team.key, self._members(team, members)))
                        holdback.sent(team.key, t, events)
        if self.team is not None:
            for t in profile_arrivals(rng, self.activity_rates, start_ms, span, offset):
                team = self.team(rng)
                if team.registered < t:
                    events.append((t, t, team.key, self._activity(team, t)))
                    holdback.sent(team.key, t, events)
        holdback.due(end_ms, events, self._join_and_leave)
        seq = self.schedule.reserve(len(events))
        outlet = self.outlet
        for n, (t, occurred, key, payload) in enumerate(events, seq + 1):
            out.append((t, n, occurred, outlet, key, payload))

    def _join_and_leave(self, team: Team, registered: Payload) -> tuple[Payload, Payload]:
        """A member joining (or, at the most, leaving) and the count going back to the registered
        one (a made-up pair for an out-of-order team; a real change would have sent the
        registration)."""
        members = registered["members"]
        changed = self._members(team, members + 1 if members < _MAX_MEMBERS else members - 1)
        return changed, self._members(team, members)

    def _envelope(self, type_name: str, team: Team) -> Payload:
        return {
            "event_id": None,
            "type": type_name,
            "occurred_at": None,
            "source": self.outlet.source,
            "schema_version": SCHEMA_VERSION,
            "team_id": team.team_id,
        }

    def _registered(self, team: Team) -> Payload:
        payload = self._envelope("team.registered", team)
        payload.update(level=team.level, district=team.district, commune=team.commune, members=team.members)
        return payload

    def _members(self, team: Team, members: int) -> Payload:
        payload = self._envelope("team.members_changed", team)
        payload.update(district=team.district, commune=team.commune, members=members)
        return payload

    def _activity(self, team: Team, t: int) -> Payload:
        """What kind of help, for how many (1-15; more at a weekend campaign or a training) and
        how long (0.5-4 h in half hours)."""
        rng = self.rng
        campaign = ((t + self.world.offset_ms) // DAY_MS + _EPOCH_WEEKDAY) % 7 >= 5
        kind = (_CAMPAIGN_KIND if campaign else _WEEKDAY_KIND)(rng)
        median = (6.0 if campaign else 3.0) * (2.0 if kind == "training" else 1.0)
        helped = min(15, max(1, int(lognormal(rng, median, 0.6) + 0.5)))
        hours = min(4.0, max(0.5, round((0.3 + 0.2 * helped + rng.random()) * 2) / 2))
        self.count += 1
        payload = self._envelope("activity.reported", team)
        payload.update(
            activity_id=f"{self.prefix}{self.count:08d}",
            district=team.district,
            commune=team.commune,
            kind=kind,
            citizens_helped=helped,
            hours=hours,
        )
        return payload
