"""The video-conference network in the simulator: sites, their links, heartbeats and status changes.

Every online site sends a heartbeat every 10 s; link quality and the odds of
trouble grow with a district's ``remoteness`` (registry data: mountain districts
have long, fragile links). Trouble comes as single-site episodes and as
district-wide incidents (a cut fibre, a storm), so outages cluster where the
mountains are. Meetings (``simulator.py``) mark their planned sites ``in_meeting``,
which raises the bitrate.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Sequence
from typing import Any

from ioc.registry import Registry
from ioc.simulation import Entity, Item, Outlet, Payload, Schedule, cumulative
from ioc.simulation.rhythm import DAY_MS, MINUTE_MS, arrivals
from schemas.topics import SCHEMA_VERSION

ONLINE, DEGRADED, OFFLINE = "online", "degraded", "offline"
_START, _END = 0, 1

_SITE_REASONS = {
    DEGRADED: ("high packet loss on the access link", "bandwidth congestion", "unstable 4G backup link"),
    OFFLINE: ("power outage at the site", "equipment failure", "access link down"),
}
_INCIDENT_REASONS = (
    "fibre cut on the district backbone",
    "storm damage to the district network",
    "district power outage",
)


class Site:
    """One endpoint's identity, link quality and current state."""

    __slots__ = (
        "agency",
        "clone",
        "degraded_per_day",
        "district",
        "endpoint_id",
        "episode",
        "jitter",
        "kbps",
        "key",
        "level",
        "loss",
        "meeting_from",
        "meeting_until",
        "offline_per_day",
        "phase",
        "prev_state",
        "remoteness",
        "rtt",
        "since",
        "state",
    )

    def __init__(
        self,
        endpoint_id: str,
        level: str,
        district: str,
        agency: str | None,
        clone: int,
        remoteness: float,
        phase: int,
    ) -> None:
        self.endpoint_id = endpoint_id
        self.key = endpoint_id.encode()
        self.level = level
        self.district = district
        self.agency = agency
        self.clone = clone
        self.remoteness = remoteness
        self.phase = phase
        self.rtt = 6.0 + 70.0 * remoteness
        self.jitter = 1.0 + 14.0 * remoteness
        self.loss = 0.05 + 1.2 * remoteness
        self.kbps = 4000.0 - 2500.0 * remoteness
        # Episodes a day: city fibre rarely fails, long mountain links often do.
        self.degraded_per_day = 0.05 + 1.5 * remoteness**2
        self.offline_per_day = 0.005 + 0.3 * remoteness**2
        self.state = ONLINE
        self.prev_state = ONLINE
        self.since = 0
        self.episode = 0
        self.meeting_from = 0
        self.meeting_until = 0

    def state_at(self, ms: int) -> str:
        return self.state if ms >= self.since else self.prev_state


class Network:
    """All sites of the run (the registry's, cloned for a multiplier above 1) and their links.

    A profile with no entities: it plans trouble each window and emits the heartbeats.
    """

    def __init__(
        self,
        registry: Registry,
        multiplier: float,
        interval_ms: int,
        outlet: Outlet,
        scheduler: Schedule,
        rng: random.Random,
        fault_rand: Callable[[], float],
    ) -> None:
        self.outlet = outlet
        self.interval_ms = interval_ms
        self.scheduler = scheduler
        self.rng = rng
        self.fault_rand = fault_rand
        remoteness = {d.code: d.remoteness for d in registry.districts}
        base = registry.sites
        count = max(1, round(len(base) * multiplier))
        self.sites: list[Site] = []
        for i in range(count):
            clone, spec = divmod(i, len(base))
            s = base[spec]
            endpoint_id = s.endpoint_id if clone == 0 else f"{s.endpoint_id}-{clone:04d}"
            extra = 0.15 if s.site_level == "commune" else 0.0
            r = min(1.0, remoteness[s.district] + extra)
            self.sites.append(Site(endpoint_id, s.site_level, s.district, s.agency, clone, r, 0))
        for site in self.sites:
            site.phase = int(rng.random() * interval_ms)
        self.by_phase = sorted(self.sites, key=lambda s: (s.phase, s.endpoint_id))
        self.clones = (count - 1) // len(base) + 1
        self.groups: dict[tuple[int, str], list[Site]] = {}
        for site in self.sites:
            self.groups.setdefault((site.clone, site.district), []).append(site)
        # Per-site trouble: degraded and offline episodes a day, worse in the mountains.
        per_day = [s.degraded_per_day + s.offline_per_day for s in self.sites]
        self._site_weights = cumulative(per_day)
        self._site_rate = self._site_weights[-1] / DAY_MS
        # District incidents: a day's odds grow with the square of remoteness.
        group_keys = sorted(self.groups)
        self._group_keys = group_keys
        incident_per_day = [0.02 + 0.4 * remoteness.get(k[1], 0.0) ** 2 for k in group_keys]
        self._group_weights = cumulative(incident_per_day)
        self._incident_rate = self._group_weights[-1] / DAY_MS

    def spawn(self, start_ms: int, span_ms: int) -> tuple[Entity, ...]:
        """Sites are there from the start: nothing appears."""
        return ()

    def body(self, entity: Any, type_name: str) -> Payload:
        raise AssertionError("the network spawns no entities")

    def events_per_day(self) -> float:
        """A heartbeat per site and interval (status changes are few)."""
        return len(self.sites) * DAY_MS / self.interval_ms if self.outlet.enabled else 0.0

    # --- trouble ---------------------------------------------------------------------

    def plan(self, start_ms: int, span_ms: int) -> None:
        """Schedule the episodes and incidents that begin in this window."""
        rng = self.rng
        for t in arrivals(rng, self._site_rate, start_ms, span_ms):
            i = bisect.bisect_right(self._site_weights, rng.random() * self._site_weights[-1])
            site = self.sites[min(i, len(self.sites) - 1)]
            r = site.remoteness
            if rng.random() * (site.degraded_per_day + site.offline_per_day) < site.offline_per_day:
                state, mean_min, floor_min = OFFLINE, 40.0, 3.0
            else:
                state, mean_min, floor_min = DEGRADED, 20.0, 2.0
            minutes = floor_min + rng.expovariate(1.0 / mean_min) * (1.0 + r)
            reasons = _SITE_REASONS[state]
            reason = reasons[int(rng.random() * len(reasons))]
            self.trouble(site, t, state, reason, int(minutes * MINUTE_MS))
        for t in arrivals(rng, self._incident_rate, start_ms, span_ms):
            i = bisect.bisect_right(self._group_weights, rng.random() * self._group_weights[-1])
            group = self.groups[self._group_keys[min(i, len(self._group_keys) - 1)]]
            reason = _INCIDENT_REASONS[int(rng.random() * len(_INCIDENT_REASONS))]
            minutes = 20.0 + rng.expovariate(1.0 / 60.0)
            for site in group:
                if rng.random() < 0.6:
                    state = OFFLINE if rng.random() < 0.4 else DEGRADED
                    lag = int(rng.random() * 120_000)
                    spread = 0.8 + 0.4 * rng.random()
                    self.trouble(site, t + lag, state, reason, int(minutes * spread * MINUTE_MS))

    def trouble(
        self, site: Site, at_ms: int, state: str, reason: str, duration_ms: int, *, force: bool = False
    ) -> None:
        """Schedule a spell of ``state``; unless forced it is dropped if the site is already in trouble."""
        self.scheduler.at(at_ms, at_ms, self, (site, state, reason, duration_ms, force), _START)

    def fire(
        self, emit_ms: int, seq: int, occurred_ms: int, subject: Any, stage: int, out: list[Item]
    ) -> None:
        if stage == _START:
            site, state, reason, duration_ms, force = subject
            if site.state != ONLINE and not force:
                return
            site.episode += 1
            self._change(site, occurred_ms, state, reason, seq, out)
            self.scheduler.at(
                occurred_ms + duration_ms, occurred_ms + duration_ms, self, (site, site.episode), _END
            )
        else:
            site, episode = subject
            if site.episode == episode:
                self._change(site, occurred_ms, ONLINE, "link restored", seq, out)

    def _change(self, site: Site, ms: int, state: str, reason: str, seq: int, out: list[Item]) -> None:
        site.prev_state = site.state_at(ms)
        site.state = state
        site.since = ms
        if self.outlet.enabled:
            payload = self.outlet.envelope("vc.status")
            payload.update(
                endpoint_id=site.endpoint_id,
                site_level=site.level,
                district=site.district,
                status=state,
                reason=reason,
            )
            out.append((ms, seq, ms, self.outlet, site.key, payload))

    # --- meetings ----------------------------------------------------------------------

    def join(self, sites: Sequence[Site], from_ms: int, until_ms: int) -> None:
        """Mark sites as in a meeting for its planned span (heartbeats say ``in_meeting``)."""
        for site in sites:
            site.meeting_from = from_ms
            site.meeting_until = until_ms

    # --- heartbeats ----------------------------------------------------------------------

    def emit(self, start_ms: int, end_ms: int, out: list[Item]) -> None:
        """One heartbeat per site not offline, at the site's phase within the window."""
        outlet = self.outlet
        if not outlet.enabled:
            return
        rand = self.rng.random
        source = outlet.source
        seq = self.scheduler.reserve(len(self.by_phase))
        append = out.append
        interval = end_ms - start_ms
        for site in self.by_phase:
            if site.phase >= interval:
                break
            t = start_ms + site.phase
            state = site.state if t >= site.since else site.prev_state
            if state == OFFLINE:
                continue
            seq += 1
            r1 = rand()
            r2 = rand()
            r3 = rand()
            rtt = site.rtt * (0.85 + 0.3 * r1)
            jitter = site.jitter * (0.5 + r2)
            in_meeting = site.meeting_from <= t < site.meeting_until
            kbps = site.kbps * (0.9 + 0.2 * r2) if in_meeting else 16.0 + 48.0 * r1
            if state == DEGRADED:
                rtt *= 2.5 + r2
                jitter *= 4.0
                loss = 3.0 + 12.0 * r3
                kbps *= 0.5
            else:
                loss = site.loss * 3.0 * r3 * r3  # mean site.loss, mostly low
                if r1 > 0.995:
                    rtt *= 3.0
            # int(x * 10 + 0.5) / 10 rounds a positive float to 0.1 at a fifth of round()'s cost.
            append(
                (
                    t,
                    seq,
                    t,
                    outlet,
                    site.key,
                    {
                        "event_id": None,
                        "type": "vc.heartbeat",
                        "occurred_at": None,
                        "source": source,
                        "schema_version": SCHEMA_VERSION,
                        "endpoint_id": site.endpoint_id,
                        "site_level": site.level,
                        "district": site.district,
                        "in_meeting": in_meeting,
                        "rtt_ms": int(rtt * 10 + 0.5) / 10,
                        "jitter_ms": int(jitter * 10 + 0.5) / 10,
                        "packet_loss_pct": int(loss * 100 + 0.5) / 100,
                        "bitrate_kbps": int(kbps * 10 + 0.5) / 10,
                    },
                )
            )

    def pick_dark(self, planned: Sequence[Site], start_ms: int, end_ms: int) -> None:
        """A planned site goes dark part-way through a meeting and comes back after it (a fault on demand)."""
        rand = self.fault_rand
        site = planned[int(rand() * len(planned))]
        at = start_ms + int((0.1 + 0.5 * rand()) * (end_ms - start_ms))
        back = end_ms + int((5 + 25 * rand()) * MINUTE_MS)
        self.trouble(site, at, OFFLINE, "site went dark during the meeting", back - at, force=True)
