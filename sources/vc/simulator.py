"""The video-conference source's simulator profile: the network of sites (``simulator_network.py``)
and its meetings, the weekly provincial conference most sites join and ad-hoc ones.

A meeting marks its planned sites as in a meeting for its span (the network's
heartbeats then say so), and may, on demand, lose a site part-way through.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping

from ioc.errors import ConfigError
from ioc.registry import Agency
from ioc.simulation import Entity, EntityProfile, Outlet, Payload, Picker, Profile, ProfileContext, World
from ioc.simulation.rhythm import DAY_MS, MINUTE_MS, OFFICE, profile_arrivals
from sources.vc.kpis import MEETINGS, TELEMETRY
from sources.vc.simulator_network import Network, Site

ENVELOPE_SOURCE = "vc-mcu-1"
"""The envelope's ``source`` of its events, the conference bridge (a run may rename it:
``SimulatorConfig.sources``)."""
VOLUMES: Mapping[str, float] = {
    "adhoc_meetings_per_day": 6.0,
    "conference_weekday": 0,
    "conference_start_minute": 8 * 60,
    "conference_minutes": 150,
    "conference_join_share": 0.95,
}
"""Ad-hoc meetings on a working day at multiplier 1, and the weekly provincial conference
(giao ban tuần): weekday (Monday = 0), local start minute, length and the share of sites that
join. A run may override any of them by name."""

_EPOCH_WEEKDAY = 3


def profiles(ctx: ProfileContext) -> tuple[Profile, ...]:
    """The network and its meetings for one run (``Source.simulator``): both run when either
    topic is asked for, since meetings change what the heartbeats say."""
    volumes = ctx.volumes(VOLUMES)
    if not 0 <= volumes["conference_join_share"] <= 1 or volumes["adhoc_meetings_per_day"] < 0:
        raise ConfigError("vc conference_join_share is a share (0 to 1); adhoc_meetings_per_day >= 0")
    if volumes["conference_weekday"] not in range(7):
        raise ConfigError("vc conference_weekday is 0 (Monday) to 6 (Sunday)")
    dark = ctx.rng("dark")
    world = ctx.world
    network = Network(
        world.registry,
        world.multiplier,
        ctx.interval_ms,
        ctx.outlet(TELEMETRY, ENVELOPE_SOURCE),
        ctx.schedule,
        ctx.rng("network"),
        dark.random,
    )
    meetings = Meetings(
        world,
        ctx.outlet(MEETINGS, ENVELOPE_SOURCE),
        ctx.rng("meetings"),
        network,
        volumes,
        dark_site=ctx.fault("dark_site"),
        fault_rand=dark.random,
    )
    return (network, meetings)


class Meeting(Entity):
    __slots__ = ("meeting_id", "organiser", "planned", "title")
    meeting_id: str
    title: str
    organiser: str
    planned: list[str]


class Meetings(EntityProfile):
    """Who meets when. Planned endpoints: the organiser's site and those it directs
    (a district's communes; for a department, the district-level sites); a site already
    in a meeting is left out."""

    def __init__(
        self,
        world: World,
        outlet: Outlet,
        rng: random.Random,
        network: Network,
        volumes: Mapping[str, float],
        *,
        dark_site: float,
        fault_rand: Callable[[], float],
    ) -> None:
        self.world = world
        self.outlet = outlet
        self.rng = rng
        self.network = network
        self.dark_site = dark_site
        self.fault_rand = fault_rand
        registry = world.registry
        self.agencies = {a.code: a for a in registry.agencies}
        self.organiser = Picker(list(registry.agencies), [a.weight for a in registry.agencies])
        head = next((s.agency for s in registry.sites if s.site_level == "province" and s.agency), None)
        self.head: Agency = self.agencies.get(head or "", registry.agencies[0])
        self.adhoc_per_day = volumes["adhoc_meetings_per_day"] * world.multiplier
        self.adhoc_rates = OFFICE.per_ms(self.adhoc_per_day)
        self.conference_weekday = int(volumes["conference_weekday"])
        self.conference_start_ms = int(volumes["conference_start_minute"] * MINUTE_MS)
        self.conference_minutes = volumes["conference_minutes"]
        self.conference_join_share = volumes["conference_join_share"]
        self.clone_sites: list[list[Site]] = [[] for _ in range(network.clones)]
        self.site_of: dict[tuple[int, str], Site] = {}
        for site in network.sites:
            self.clone_sites[site.clone].append(site)
            if site.agency is not None:
                self.site_of.setdefault((site.clone, site.agency), site)
        self.prefix = world.id_prefix("HOP")
        self.count = 0

    def events_per_day(self) -> float:
        """Two events a meeting (the weekly conference is a few more a week)."""
        return 2 * self.adhoc_per_day * 5 / 7 if self.outlet.enabled else 0.0

    def spawn(self, start_ms: int, span_ms: int) -> Iterator[Meeting]:
        offset = self.world.offset_ms
        first_day = (start_ms + offset) // DAY_MS
        last_day = (start_ms + span_ms - 1 + offset) // DAY_MS
        for day in range(first_day, last_day + 1):
            if (day + _EPOCH_WEEKDAY) % 7 != self.conference_weekday:
                continue
            t = day * DAY_MS + self.conference_start_ms - offset
            if start_ms <= t < start_ms + span_ms:
                for clone in range(self.network.clones):
                    yield self._conference(t, clone)
        for t in profile_arrivals(self.rng, self.adhoc_rates, start_ms, span_ms, offset):
            meeting = self._adhoc(t)
            if meeting is not None:
                yield meeting

    def _conference(self, t: int, clone: int) -> Meeting:
        rng, join = self.rng, self.conference_join_share
        own = self.site_of.get((clone, self.head.code))
        planned = [s for s in self.clone_sites[clone] if s is own or rng.random() < join]
        minutes = self.conference_minutes * (0.9 + 0.25 * rng.random())
        title = f"Giao ban trực tuyến tuần – {self.head.name}"
        return self._meeting(t, t + int(minutes * MINUTE_MS), self.head.code, title, planned)

    def _adhoc(self, t: int) -> Meeting | None:
        rng = self.rng
        agency = self.organiser(rng)
        clone = int(rng.random() * self.network.clones)
        own = self.site_of.get((clone, agency.code))
        sites = self.clone_sites[clone]
        if agency.district is not None:
            invited = self.network.groups.get((clone, agency.district), [])
        elif own is not None:
            invited = [s for s in sites if s.level in ("province", "district")]
            invited += [sites[int(rng.random() * len(sites))] for _ in range(3)]
        else:
            invited = [sites[int(rng.random() * len(sites))] for _ in range(5 + int(rng.random() * 10))]
        planned = list(dict.fromkeys(s for s in ([own] if own else []) + invited if s.meeting_until <= t))
        if not planned:
            return None
        minutes = 45 + rng.random() * 135
        return self._meeting(
            t, t + int(minutes * MINUTE_MS), agency.code, f"Họp trực tuyến – {agency.name}", planned
        )

    def _meeting(self, start: int, end: int, organiser: str, title: str, planned: list[Site]) -> Meeting:
        self.count += 1
        meeting_id = f"{self.prefix}{self.count:06d}"
        meeting = Meeting(meeting_id, [(start, "vc.meeting.started"), (end, "vc.meeting.ended")])
        meeting.meeting_id = meeting_id
        meeting.title = title
        meeting.organiser = organiser
        meeting.planned = [s.endpoint_id for s in planned]
        self.network.join(planned, start, end)
        if self.dark_site and planned and self.fault_rand() < self.dark_site:
            self.network.pick_dark(planned, start, end)
        return meeting

    def body(self, meeting: Meeting, type_name: str) -> Payload:
        if type_name == "vc.meeting.started":
            return {
                "meeting_id": meeting.meeting_id,
                "title": meeting.title,
                "organiser": meeting.organiser,
                "planned_endpoints": meeting.planned,
            }
        return {"meeting_id": meeting.meeting_id}
