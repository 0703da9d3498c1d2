"""Reference implementation (oracle) of every KPI of contract/KPIS.md, computed from raw events.

The real pipeline (Kafka -> worker -> database -> SQL) is tested for equality against this
module, so it is written straight from the contract text, independently of the pipeline
(nothing is imported from ``streams``, ``api`` or ``ioc.kpi``), and it favours being
obviously correct over being fast: every call re-reads the whole event list.

Input is a list of wire-form event dicts (as ``tests.factories.valid_event`` makes them) in
ARRIVAL order. The oracle applies the contract's duplicate rule itself; it does not judge
late or future events (feed it accepted events only).

    window_kpi(events, "portal.on_time_pct", as_of=t, window="1h", by="agency")
    state_kpi(events, "vc.endpoints_online", as_of=t)
    range_kpi(events, "vc.heartbeats", start=t0, end=t1)   # one series point
    all_kpis(events, as_of=t)                              # the /api/v1/kpis body

Interpretation choices (where KPIS.md / EVENTS.md leave room; each is pinned by a test in
``tests/unit/test_oracle.py``, 18-26 in ``tests/unit/test_oracle_market_community.py``):

 1. Duplicates: the first event with a given ``event_id`` in arrival order wins, whatever its
    topic; later copies are ignored entirely, even when their other fields differ.
 2. Timestamps: RFC 3339 with ``T``/``t``/space, ``Z``/``z``/offset and any number of
    fraction digits (truncated to microseconds). Minute buckets are UTC minutes (identical
    to local minutes, since offsets are whole minutes).
 3. Window membership: bucket start in [floor(T) - W, floor(T)], both ends inclusive, i.e.
    ``occurred_at`` in [floor(T) - W, floor(T) + 1m). Events after the current minute (ahead
    of ``as_of``) are in no window.
 4. ``vc.availability_pct``: minutes [floor(T) - W, floor(T)) (W/1m complete minutes, the
    current one excluded). Numerator: distinct (endpoint, minute) pairs with a
    ``vc.heartbeat`` (a ``vc.status`` of ``online`` is not a heartbeat). Denominator:
    ``vc.endpoints_known`` at ``as_of`` (today's set, not the set known at each minute) times
    the number of minutes. By a dimension: the numerator takes the dimension each heartbeat
    carries, the denominator the endpoint's current dimension (choice 11). No known endpoint
    -> None.
 5. ``range_kpi`` (a series point) covers ``start <= occurred_at < end``; for availability the
    minute buckets whose start is in [start, end). State KPIs have no range form (their series
    are samples of ``state_kpi``): ValueError.
 6. State KPIs use every event given (the caller passes "accepted so far"), including events
    whose ``occurred_at`` is after ``as_of`` (allowed up to 5 minutes by the future rule).
 7. "Latest" event of an entity: greatest ``occurred_at``; on a tie, the one that arrived later
    wins (like an upsert with ``>=``). This is the only place where arrival order matters
    (besides duplicates).
 8. An endpoint is "seen" when a ``vc.heartbeat`` or ``vc.status`` names it. Being listed in
    ``planned_endpoints`` does not make an endpoint known.
 9. Online: latest telemetry event is a heartbeat or a status ``online``/``degraded``, and
    ``as_of - occurred_at <= offline_after`` ("at most" is inclusive; an event ahead of
    ``as_of`` has a negative age and is fresh). A registry site never seen is not online.
10. Meetings: active iff a ``vc.meeting.started`` was seen, no ``vc.meeting.ended`` was seen
    for it (whatever the ended's time or arrival order), and
    ``as_of < started + meeting_max_duration`` (at exactly 12 h it is closed). Start time and
    planned endpoints come from the latest started event. A start ahead of ``as_of`` counts
    as active (it was accepted). An ended without a started is not active.
11. Dimensions of an endpoint (vc state KPIs by district/site_level): its latest telemetry
    event's; else its registry site's; else ``unknown`` (a planned endpoint never seen and not
    registered). An endpoint planned for two active meetings counts once. Its commune (vc
    state KPIs and availability by commune) is its registry site's, whatever its events say
    (they carry none); ``unknown`` where the registry places it in no commune.
12. Backlogs: an entity with a received/submitted event and no processed/resolved event,
    whatever their times and arrival order. ``due_at`` and dimensions come from the latest
    received/submitted event. Overdue: ``due_at < as_of`` (strict: at ``due_at`` exactly it
    is still on time, matching the ``occurred_at <= due_at`` of the on-time KPIs).
13. Window counts count events, not entities (two ``document.processed`` of one document with
    different ``event_id`` count twice). On-time, processing and resolution hours use the
    event's own ``due_at``/``received_at``/``submitted_at`` fields.
14. ``signed``: ``digitally_signed is True``; ``level4``: ``service_level == 4``.
15. Entity dimensions: ``application.paid``/``rated`` take agency, district and service level,
    and ``application.resolved`` takes service level, from the application's latest
    ``application.submitted`` wherever it is in the list (before or after, in or out of the
    window); none -> ``unknown``. ``application.resolved`` keeps its own agency and district
    even if they differ from the submitted's. ``dimension_retention`` is not modelled (the
    oracle remembers forever): tests must stay within 90 days.
16. Breakdown keys depend only on the area (vc / eoffice / portal) and the dimension, never on
    the KPI or the window: registry values, plus values carried or resolved by any event of
    that area in the whole list, plus (vc) the values of every known or planned endpoint,
    plus ``unknown`` only if something actually resolves to it. Registry values:
    district -> ``district_codes`` (all, with or without sites); site_level -> the levels of
    registry sites; endpoint -> registry endpoint ids; agency -> ``agency_codes``;
    service_level -> ``service_levels``. Service levels are the strings "2", "3", "4".
    ``by=endpoint`` keys are registry, seen and planned endpoints (0 where they do not count).
17. Values: counts and ``portal.revenue_vnd`` are exact ints; ratios, means and percentiles are
    floats; percent is 100 x part / whole; means use a correctly rounded sum (``math.fsum``),
    so they do not depend on order. Nearest rank uses exact fractions, so p95 of 20 values is
    the 19th smallest and p50 of an even count is the lower middle value.

Market 4.0 and community teams (arithmetic in ``tests/oracle_market_community.py``):

18. ``market.merchants``: a merchant counts when the latest (greatest ``occurred_at``) of its
    ``merchant.onboarded`` / ``merchant.offboarded`` events is an onboarding; on a tie the
    offboarding wins, whatever the arrival order (of two events of one type, the earlier
    arrival stays). Its district, commune, market and provider are that latest event's.
19. ``market.merchants_active``: distinct ``merchant_id`` among the window's
    ``payment.completed``, exact; by a dimension, distinct merchants among the payments
    carrying that value (parts need not add up to the total). 0 where none: it is a count.
20. ``market.payment_vnd_p50``: nearest-rank median of ``amount_vnd`` (the pipeline's sketch
    may answer within 2 %), None where no payment. ``market.value_vnd``: the exact int sum.
21. ``market.active_pct`` = 100 x ``merchants_active`` / ``market.merchants`` now (at
    ``as_of``) for the same breakdown value; None where that is 0; a value with merchants
    and no payment is 0.0, and so is the total.
22. ``community.teams``: teams with a ``team.registered`` event (registry teams count only
    once they register). ``community.members``: over those teams, the ``members`` of each
    one's latest report (``team.registered`` or ``team.members_changed`` by ``occurred_at``;
    on a tie the larger count). A team's district, commune and level are those of its
    earliest ``team.registered`` (on a tie the earlier arrival); ``members_changed`` places
    nothing.
23. ``community.activities``, ``.citizens_helped`` (ints), ``.hours`` (``math.fsum``): count
    and sums over ``activity.reported``; by district, commune, kind: the event's; by level:
    the level of the activity's team from its registration wherever that is in the list,
    ``unknown`` when the team never registered.
24. ``community.teams_active_pct`` = 100 x distinct ``team_id`` among the window's
    activities / ``community.teams`` now, per breakdown value; by kind (teams have none),
    / all teams. None where the divisor is 0.
25. Breakdown keys (as choice 16, per area and dimension): district -> the districts that
    have communes in the registry (not ``PROVINCE``); commune -> ``commune_codes``; market ->
    the codes of ``registry.places["market"]``; provider, level and kind -> the contract's
    closed lists (four providers, commune/village, five kinds), with or without a registry;
    plus every value any event of the area carries as a field (merchant and team events
    too), plus ``unknown`` for level once some activity's team never registered (then every
    community KPI by level lists it, 0 or None there).
26. A series point of a share (``range_kpi``) divides by the state KPI as sampled in its step
    (``Sample``: the state after the events accepted by then, at the sample's time), for each
    value the sample holds; else by the state after all events at ``as_of``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, Protocol, TypeAlias

from schemas.kpis import UNKNOWN, WINDOWS, Kind
from sources import BY_NAME, CATALOG, SOURCE_TOPICS
from tests import oracle_market_community as mc

ONE_MINUTE = timedelta(minutes=1)

Result: TypeAlias = float | dict[str, float | None] | None
"""A total (``by=None``) or a breakdown ``{dimension value: value}``; None where a ratio,
average or percentile has no events."""

TELEMETRY = ("vc.heartbeat", "vc.status")
_ENTITY_FIELD = {t: topic.key_field for topic in SOURCE_TOPICS for t in topic.types}
"""Event type -> the field naming its entity (the record key of EVENTS.md)."""


# --- what the oracle needs from the site registry ------------------------------------------


class SiteLike(Protocol):
    """A registered conference endpoint (``ioc.registry.Site`` fits)."""

    @property
    def endpoint_id(self) -> str: ...
    @property
    def site_level(self) -> str: ...
    @property
    def district(self) -> str: ...
    @property
    def commune(self) -> str | None: ...


class RegistryLike(Protocol):
    """The parts of the site registry the KPIs use (``ioc.registry.Registry`` fits)."""

    @property
    def sites(self) -> Sequence[SiteLike]: ...
    @property
    def district_codes(self) -> Sequence[str]: ...
    @property
    def commune_codes(self) -> Sequence[str]: ...
    @property
    def agency_codes(self) -> Sequence[str]: ...
    @property
    def service_levels(self) -> Sequence[int]: ...
    @property
    def communes(self) -> Sequence[mc.CommuneLike]: ...
    @property
    def places(self) -> Mapping[str, Sequence[mc.PlaceLike]]: ...


@dataclass(frozen=True)
class OracleConfig:
    """The settings KPIs depend on (contract defaults) and the registry (None: no registry)."""

    offline_after: timedelta = timedelta(seconds=60)
    meeting_max_duration: timedelta = timedelta(hours=12)
    registry: RegistryLike | None = None


# --- time ----------------------------------------------------------------------------------


def parse_time(text: str) -> datetime:
    """An RFC 3339 timestamp as an aware UTC datetime (see choice 2)."""
    normal = text.strip().upper()
    date, sep, rest = normal.partition("T") if "T" in normal else normal.partition(" ")
    if not sep:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    # Truncate fractions beyond microseconds: Python accepts at most 6 digits everywhere.
    if "." in rest:
        whole, _, tail = rest.partition(".")
        digits = ""
        while tail and tail[0].isdigit():
            digits, tail = digits + tail[0], tail[1:]
        rest = f"{whole}.{(digits + '000000')[:6]}{tail}"
    moment = datetime.fromisoformat(f"{date}T{rest}")
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without an offset: {text!r}")
    return moment.astimezone(UTC)


def floor_minute(moment: datetime) -> datetime:
    """Start of the UTC minute bucket holding ``moment``."""
    _require_aware(moment)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass an aware one")


def _window_minutes(window: str) -> int:
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}; one of {sorted(WINDOWS)}")
    return WINDOWS[window]


# --- aggregates ----------------------------------------------------------------------------


def nearest_rank(values: Iterable[float], percent: int) -> float | None:
    """The ceil(p * n)-th smallest value (p = percent / 100), None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = math.ceil(Fraction(percent, 100) * len(ordered))
    return ordered[max(rank, 1) - 1]


def _percent_of(part: int, whole: int) -> float | None:
    return None if whole == 0 else 100 * part / whole


def _mean(values: list[float]) -> float | None:
    # fsum: the correctly rounded sum, so the mean does not depend on the order of the values.
    return None if not values else math.fsum(values) / len(values)


# --- accepted events -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Event:
    """One accepted event: its arrival position (for tie-breaks), type, event time and fields."""

    arrival: int
    type: str
    at: datetime
    data: Mapping[str, Any]

    def time(self, field: str) -> datetime:
        return parse_time(self.data[field])

    def hours_since(self, field: str) -> float:
        return (self.at - self.time(field)) / timedelta(hours=1)


def _accept(events: Iterable[Mapping[str, Any]]) -> list[_Event]:
    """The events minus duplicates: the first ``event_id`` in arrival order wins (choice 1)."""
    seen: set[str] = set()
    accepted: list[_Event] = []
    for arrival, raw in enumerate(events):
        if raw["event_id"] in seen:
            continue
        seen.add(raw["event_id"])
        accepted.append(_Event(arrival, raw["type"], parse_time(raw["occurred_at"]), raw))
    return accepted


def _latest(candidates: Iterable[_Event]) -> _Event | None:
    """Greatest ``occurred_at``; on a tie the later arrival (choice 7)."""
    best: _Event | None = None
    for event in candidates:
        if best is None or (event.at, event.arrival) > (best.at, best.arrival):
            best = event
    return best


def _area(type_name: str) -> str:
    if (area := mc.area_of(type_name)) is not None:
        return area
    if type_name.startswith("vc."):
        return "vc"
    if type_name.startswith("document."):
        return "eoffice"
    return "portal"


class _World:
    """Everything known after all the events: entity lookups, dimensions, breakdown keys."""

    def __init__(self, events: Iterable[Mapping[str, Any]], config: OracleConfig) -> None:
        self.config = config
        self.events = _accept(events)
        # An index only, so that big lists stay usable: (type, entity id) -> events in arrival order.
        self._by_entity: dict[tuple[str, str], list[_Event]] = defaultdict(list)
        self._communes: dict[str, str] | None = None
        self._mc: mc.MarketCommunity | None = None
        for event in self.events:
            self._by_entity[(event.type, event.data[_ENTITY_FIELD[event.type]])].append(event)

    def of_type(self, *types: str) -> list[_Event]:
        return [e for e in self.events if e.type in types]

    def for_entity(self, key: str, *types: str) -> list[_Event]:
        """The events of these types about entity ``key`` (an endpoint, meeting, document or application)."""
        return [e for t in types for e in self._by_entity.get((t, key), [])]

    # endpoints ------------------------------------------------------------------------------

    def registry_sites(self) -> dict[str, SiteLike]:
        registry = self.config.registry
        return {} if registry is None else {s.endpoint_id: s for s in registry.sites}

    def seen_endpoints(self) -> set[str]:
        return {e.data["endpoint_id"] for e in self.of_type(*TELEMETRY)}

    def known_endpoints(self) -> set[str]:
        return self.seen_endpoints() | set(self.registry_sites())

    def planned_endpoints_ever(self) -> set[str]:
        return {p for e in self.of_type("vc.meeting.started") for p in e.data["planned_endpoints"]}

    def latest_telemetry(self, endpoint_id: str) -> _Event | None:
        return _latest(self.for_entity(endpoint_id, *TELEMETRY))

    def endpoint_dim(self, endpoint_id: str, dim: str) -> str:
        """Choice 11: latest event's value, else the registry's, else unknown."""
        if dim == "endpoint":
            return endpoint_id
        if dim == "commune":
            return self.registry_commune(endpoint_id)
        latest = self.latest_telemetry(endpoint_id)
        if latest is not None:
            return str(latest.data[dim])
        site = self.registry_sites().get(endpoint_id)
        if site is not None:
            return str(getattr(site, dim))
        return UNKNOWN

    def registry_commune(self, endpoint_id: str) -> str:
        """Choice 11: the commune the registry places an endpoint in, else unknown."""
        if self._communes is None:  # an index only: asked once per event and key
            self._communes = {
                eid: site.commune for eid, site in self.registry_sites().items() if site.commune is not None
            }
        return self._communes.get(endpoint_id, UNKNOWN)

    def is_online(self, endpoint_id: str, as_of: datetime) -> bool:
        latest = self.latest_telemetry(endpoint_id)
        if latest is None:
            return False
        says_up = latest.type == "vc.heartbeat" or latest.data["status"] != "offline"
        return says_up and as_of - latest.at <= self.config.offline_after

    # meetings -------------------------------------------------------------------------------

    def active_meetings(self, as_of: datetime) -> dict[str, _Event]:
        """Meeting id -> its latest started event, for the meetings active at ``as_of`` (choice 10)."""
        active: dict[str, _Event] = {}
        for meeting_id in {e.data["meeting_id"] for e in self.of_type("vc.meeting.started")}:
            started = _latest(self.for_entity(meeting_id, "vc.meeting.started"))
            ended = self.for_entity(meeting_id, "vc.meeting.ended")
            assert started is not None
            if not ended and as_of < started.at + self.config.meeting_max_duration:
                active[meeting_id] = started
        return active

    # applications and documents -------------------------------------------------------------

    def submitted(self, application_id: str) -> _Event | None:
        return _latest(self.for_entity(application_id, "application.submitted"))

    def received(self, document_id: str) -> _Event | None:
        return _latest(self.for_entity(document_id, "document.received"))

    # dimensions of events -------------------------------------------------------------------

    def event_dim(self, event: _Event, dim: str) -> str:
        """The breakdown value of a windowed event: carried, or from its entity (choice 15)."""
        if event.type in TELEMETRY:
            if dim == "commune":
                return self.registry_commune(str(event.data["endpoint_id"]))
            return str(event.data["endpoint_id" if dim == "endpoint" else dim])
        if event.type.startswith("document."):
            return str(event.data[dim])
        if event.type == "application.submitted":
            return self.submitted_dim(event, dim)
        if event.type == "application.resolved" and dim != "service_level":
            return str(event.data[dim])
        if event.type.startswith("application."):
            submitted = self.submitted(event.data["application_id"])
            return UNKNOWN if submitted is None else self.submitted_dim(submitted, dim)
        raise ValueError(f"{event.type} has no {dim}")

    @staticmethod
    def submitted_dim(submitted: _Event, dim: str) -> str:
        return str(submitted.data[dim])

    # breakdown keys -------------------------------------------------------------------------

    @property
    def mc(self) -> mc.MarketCommunity:
        """Merchants and teams (tests/oracle_market_community.py), worked out when first asked."""
        if self._mc is None:
            self._mc = mc.MarketCommunity(self.events, self.config.registry)
        return self._mc

    def keys(self, area: str, dim: str) -> set[str]:
        """Choice 16: registry values, values of this area's events (and endpoints), unknown if used."""
        if area in ("market", "community"):
            return self.mc.keys(area, dim)  # choice 25
        values = set(self.registry_values(dim))
        if area == "vc":
            values |= {self.event_dim(e, dim) for e in self.of_type(*TELEMETRY)}
            every = self.known_endpoints() | self.planned_endpoints_ever()
            values |= {self.endpoint_dim(e, dim) for e in every}
        else:
            values |= {self.event_dim(e, dim) for e in self.events if _area(e.type) == area}
        return values

    def registry_values(self, dim: str) -> list[str]:
        registry = self.config.registry
        if registry is None:
            return []
        match dim:
            case "district":
                return list(registry.district_codes)
            case "site_level":
                return [s.site_level for s in registry.sites]
            case "commune":
                return [*registry.commune_codes, *(UNKNOWN for s in registry.sites if s.commune is None)]
            case "endpoint":
                return [s.endpoint_id for s in registry.sites]
            case "agency":
                return list(registry.agency_codes)
            case "service_level":
                return [str(level) for level in registry.service_levels]
        raise ValueError(dim)


# --- windowed KPIs -------------------------------------------------------------------------


def _count(events: list[_Event]) -> int:
    return len(events)


def _share(test: Callable[[_Event], bool]) -> Callable[[list[_Event]], float | None]:
    return lambda events: _percent_of(sum(1 for e in events if test(e)), len(events))


def _average(field: str) -> Callable[[list[_Event]], float | None]:
    return lambda events: _mean([e.data[field] for e in events])


def _percentile(percent: int, value: Callable[[_Event], float]) -> Callable[[list[_Event]], float | None]:
    return lambda events: nearest_rank([value(e) for e in events], percent)


def _total(field: str) -> Callable[[list[_Event]], int]:
    return lambda events: sum(e.data[field] for e in events)


def _on_time(event: _Event) -> bool:
    return event.at <= event.time("due_at")


@dataclass(frozen=True)
class _Spec:
    """A windowed KPI: which events it reads and what it computes over them."""

    types: tuple[str, ...]
    compute: Callable[[list[_Event]], float | None]


_WINDOWED: dict[str, _Spec] = {
    "vc.heartbeats": _Spec(("vc.heartbeat",), _count),
    "vc.rtt_ms_p95": _Spec(("vc.heartbeat",), _percentile(95, lambda e: e.data["rtt_ms"])),
    "vc.jitter_ms_avg": _Spec(("vc.heartbeat",), _average("jitter_ms")),
    "vc.packet_loss_pct_avg": _Spec(("vc.heartbeat",), _average("packet_loss_pct")),
    "eoffice.received": _Spec(("document.received",), _count),
    "eoffice.processed": _Spec(("document.processed",), _count),
    "eoffice.on_time_pct": _Spec(("document.processed",), _share(_on_time)),
    "eoffice.signed_pct": _Spec(
        ("document.processed",), _share(lambda e: e.data["digitally_signed"] is True)
    ),
    "eoffice.processing_hours_p50": _Spec(
        ("document.processed",), _percentile(50, lambda e: e.hours_since("received_at"))
    ),
    "eoffice.processing_hours_p95": _Spec(
        ("document.processed",), _percentile(95, lambda e: e.hours_since("received_at"))
    ),
    "portal.submitted": _Spec(("application.submitted",), _count),
    "portal.online_pct": _Spec(("application.submitted",), _share(lambda e: e.data["channel"] == "online")),
    "portal.level4_pct": _Spec(("application.submitted",), _share(lambda e: e.data["service_level"] == 4)),
    "portal.resolved": _Spec(("application.resolved",), _count),
    "portal.on_time_pct": _Spec(("application.resolved",), _share(_on_time)),
    "portal.approved_pct": _Spec(
        ("application.resolved",), _share(lambda e: e.data["outcome"] == "approved")
    ),
    "portal.resolution_hours_p50": _Spec(
        ("application.resolved",), _percentile(50, lambda e: e.hours_since("submitted_at"))
    ),
    "portal.paid": _Spec(("application.paid",), _count),
    "portal.cashless_pct": _Spec(("application.paid",), _share(lambda e: e.data["method"] == "cashless")),
    "portal.revenue_vnd": _Spec(("application.paid",), _total("amount_vnd")),
    "portal.rating_avg": _Spec(("application.rated",), _average("score")),
}

_STATE = (
    "vc.endpoints_known",
    "vc.endpoints_online",
    "vc.meetings_active",
    "vc.meeting_endpoints_offline",
    "eoffice.backlog",
    "eoffice.overdue",
    "portal.backlog",
    "portal.overdue",
)


def _check(name: str, kind: Kind, by: str | None) -> None:
    if name not in BY_NAME:
        raise ValueError(f"unknown KPI {name!r}")
    kpi = BY_NAME[name]
    if kpi.kind != kind:
        raise ValueError(f"{name} is a {kpi.kind} KPI, not {kind}")
    if by is not None and by not in [str(d) for d in kpi.breakdowns]:
        raise ValueError(f"{name} has no breakdown by {by!r}; allowed: {[str(d) for d in kpi.breakdowns]}")


Divisor: TypeAlias = Callable[[str | None], Result]
"""The state KPI a share divides by, by a dimension or in total (choices 21, 24 and 26)."""


def _no_divisor(by: str | None) -> Result:
    raise ValueError("this KPI divides by a state KPI: pass as_of")


def _windowed(
    world: _World,
    name: str,
    selected: Callable[[_Event], bool],
    minutes: list[datetime],
    by: str | None,
    divisor: Divisor = _no_divisor,
) -> Result:
    """A windowed KPI over the events ``selected`` picks (``minutes``: availability's minutes)."""
    if mc.is_mine(name):
        return _in_order(world.mc.windowed(name, [e for e in world.events if selected(e)], by, divisor))
    if name == "vc.availability_pct":
        return _availability(world, minutes, by)
    spec = _WINDOWED[name]
    events = [e for e in world.of_type(*spec.types) if selected(e)]
    if by is None:
        return spec.compute(events)
    area = _area(spec.types[0])
    return {
        key: spec.compute([e for e in events if world.event_dim(e, by) == key])
        for key in _ordered(world.keys(area, by))
    }


def _availability(world: _World, minutes: list[datetime], by: str | None) -> Result:
    """Choice 4: endpoint-minutes with a heartbeat / (known endpoints x minutes)."""
    in_minutes = set(minutes)
    heartbeats = [e for e in world.of_type("vc.heartbeat") if floor_minute(e.at) in in_minutes]
    known = world.known_endpoints()

    def value(heartbeats: list[_Event], known: set[str]) -> float | None:
        endpoint_minutes = {(e.data["endpoint_id"], floor_minute(e.at)) for e in heartbeats}
        return _percent_of(len(endpoint_minutes), len(known) * len(minutes))

    if by is None:
        return value(heartbeats, known)
    return {
        key: value(
            [e for e in heartbeats if world.event_dim(e, by) == key],
            {k for k in known if world.endpoint_dim(k, by) == key},
        )
        for key in _ordered(world.keys("vc", by))
    }


def _ordered(keys: set[str]) -> list[str]:
    """Sorted for readable output, ``unknown`` last (dict equality ignores order anyway)."""
    return sorted(keys, key=lambda k: (k == UNKNOWN, k))


def _in_order(result: Result) -> Result:
    return {k: result[k] for k in _ordered(set(result))} if isinstance(result, dict) else result


def _window_kpi(world: _World, name: str, as_of: datetime, window: str, by: str | None) -> Result:
    _check(name, Kind.WINDOW, by)
    _require_aware(as_of)
    width = _window_minutes(window)
    now = floor_minute(as_of)
    first = now - timedelta(minutes=width)
    complete = [first + i * ONE_MINUTE for i in range(width)]  # [floor(T) - W, floor(T))

    def divisor(dim: str | None) -> Result:  # choice 21: the state KPI now
        return _state_kpi(world, mc.DIVISORS[name], as_of, dim)

    return _windowed(world, name, lambda e: first <= floor_minute(e.at) <= now, complete, by, divisor)


def window_kpi(
    events: Sequence[Mapping[str, Any]],
    name: str,
    *,
    as_of: datetime,
    window: str = "1h",
    by: str | None = None,
    config: OracleConfig = OracleConfig(),  # frozen: a shared default is safe
) -> Result:
    """A windowed KPI at ``as_of``: events in the minute buckets [floor(T) - W, floor(T)]."""
    return _window_kpi(_World(events, config), name, as_of, window, by)


@dataclass(frozen=True)
class Sample:
    """A state KPI's sample taken in a series step: at ``at``, over the first ``events`` events
    of the list (those accepted by then)."""

    at: datetime
    events: int


def range_kpi(
    events: Sequence[Mapping[str, Any]],
    name: str,
    *,
    start: datetime,
    end: datetime,
    by: str | None = None,
    config: OracleConfig = OracleConfig(),
    as_of: datetime | None = None,
    sample: Sample | None = None,
) -> Result:
    """A windowed KPI over the events with ``start <= occurred_at < end`` (a series point).

    A share of a state KPI (``market.active_pct``, ``community.teams_active_pct``) divides by
    that KPI as sampled in the step (``sample``) for each value the sample holds, else by its
    value after all ``events`` at ``as_of`` (choice 26); other KPIs need neither.
    """
    _check(name, Kind.WINDOW, by)
    _require_aware(start)
    _require_aware(end)
    minutes: list[datetime] = []
    minute = floor_minute(start)
    if minute < start:
        minute += ONE_MINUTE
    while minute < end:
        minutes.append(minute)
        minute += ONE_MINUTE
    world = _World(events, config)

    def divisor(dim: str | None) -> Result:  # choice 26
        state = mc.DIVISORS[name]
        if as_of is None:
            raise ValueError(f"{name} divides by {state}, a state KPI: pass as_of")
        now = _state_kpi(world, state, as_of, dim)
        if sample is None:
            return now
        sampled = _state_kpi(_World(events[: sample.events], config), state, sample.at, dim)
        if isinstance(now, dict) and isinstance(sampled, dict):
            return {**now, **sampled}
        return sampled

    return _windowed(world, name, lambda e: start <= e.at < end, minutes, by, divisor)


# --- state KPIs ----------------------------------------------------------------------------


def _state_items(world: _World, name: str, as_of: datetime) -> tuple[str, list[str]]:
    """The things a state KPI counts (endpoint, meeting, document or application ids) and their area."""
    match name:
        case "vc.endpoints_known":
            return "vc", sorted(world.known_endpoints())
        case "vc.endpoints_online":
            return "vc", sorted(e for e in world.known_endpoints() if world.is_online(e, as_of))
        case "vc.meetings_active":
            return "vc", sorted(world.active_meetings(as_of))
        case "vc.meeting_endpoints_offline":
            planned = {p for m in world.active_meetings(as_of).values() for p in m.data["planned_endpoints"]}
            return "vc", sorted(e for e in planned if not world.is_online(e, as_of))
        case "eoffice.backlog" | "eoffice.overdue":
            backlog = []
            for document_id in {e.data["document_id"] for e in world.of_type("document.received")}:
                if world.for_entity(document_id, "document.processed"):
                    continue
                received = world.received(document_id)
                assert received is not None
                if name == "eoffice.backlog" or received.time("due_at") < as_of:
                    backlog.append(document_id)
            return "eoffice", sorted(backlog)
        case "portal.backlog" | "portal.overdue":
            backlog = []
            for application_id in {e.data["application_id"] for e in world.of_type("application.submitted")}:
                if world.for_entity(application_id, "application.resolved"):
                    continue
                submitted = world.submitted(application_id)
                assert submitted is not None
                if name == "portal.backlog" or submitted.time("due_at") < as_of:
                    backlog.append(application_id)
            return "portal", sorted(backlog)
    raise ValueError(name)


def _item_dim(world: _World, area: str, item: str, dim: str) -> str:
    if area == "vc":
        return world.endpoint_dim(item, dim)
    if area == "eoffice":
        received = world.received(item)
        assert received is not None
        return str(received.data[dim])
    submitted = world.submitted(item)
    assert submitted is not None
    return world.submitted_dim(submitted, dim)


def _state_kpi(world: _World, name: str, as_of: datetime, by: str | None) -> Result:
    _check(name, Kind.STATE, by)
    _require_aware(as_of)
    if mc.is_mine(name):
        return _in_order(world.mc.state(name, by))  # choices 18 and 22: nothing depends on as_of
    area, items = _state_items(world, name, as_of)
    if by is None:
        return len(items)
    return {
        key: sum(1 for item in items if _item_dim(world, area, item, by) == key)
        for key in _ordered(world.keys(area, by))
    }


def state_kpi(
    events: Sequence[Mapping[str, Any]],
    name: str,
    *,
    as_of: datetime,
    by: str | None = None,
    config: OracleConfig = OracleConfig(),
) -> Result:
    """A state ("now") KPI: the state after all ``events``, judged at ``as_of``."""
    return _state_kpi(_World(events, config), name, as_of, by)


# --- dispatch ------------------------------------------------------------------------------


def _kpi(world: _World, name: str, as_of: datetime, window: str, by: str | None) -> Result:
    if name not in BY_NAME:
        raise ValueError(f"unknown KPI {name!r}")
    if BY_NAME[name].kind == Kind.STATE:
        _window_minutes(window)  # state KPIs ignore the window, but a bad one is still bad
        return _state_kpi(world, name, as_of, by)
    return _window_kpi(world, name, as_of, window, by)


def kpi(
    events: Sequence[Mapping[str, Any]],
    name: str,
    *,
    as_of: datetime,
    window: str = "1h",
    by: str | None = None,
    config: OracleConfig = OracleConfig(),
) -> Result:
    """Any KPI by name: ``window_kpi`` or ``state_kpi`` after its kind in the catalogue."""
    return _kpi(_World(events, config), name, as_of, window, by)


def all_kpis(
    events: Sequence[Mapping[str, Any]],
    *,
    as_of: datetime,
    window: str = "1h",
    config: OracleConfig = OracleConfig(),
) -> dict[str, float | None]:
    """Every KPI of the catalogue (totals), like the ``kpis`` of ``GET /api/v1/kpis``."""
    world = _World(events, config)
    totals: dict[str, float | None] = {}
    for entry in CATALOG:
        value = _kpi(world, entry.name, as_of, window, None)
        assert not isinstance(value, dict)
        totals[entry.name] = value
    return totals


assert set(_WINDOWED) | {"vc.availability_pct"} | set(_STATE) | set(mc.WINDOWED) | set(mc.STATE) == set(
    BY_NAME
), "catalogue drifted"
