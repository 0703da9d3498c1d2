"""The oracle's market-4.0 and community-team KPIs, from contract/KPIS.md and EVENTS.md.

A part of ``tests/oracle.py`` (read its docstring first: choices 18-26 are about this module),
kept apart so that each file stays readable. Like the oracle it imports nothing of the pipeline,
and nothing of ``tests/oracle.py`` either: it works on the accepted events the oracle hands it
(duplicates already dropped, in arrival order) and favours being obviously correct over being
fast.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from fractions import Fraction
from typing import Any, Protocol, TypeAlias

UNKNOWN = "unknown"

Result: TypeAlias = float | dict[str, float | None] | None

# The contract's closed lists (EVENTS.md), transcribed by hand.
PROVIDERS = ("vnpt_money", "viettel_money", "bank_qr", "other")
LEVELS = ("commune", "village")
KINDS = ("account_setup", "app_install", "online_service_help", "cashless_help", "training")

MERCHANT_TYPES = ("merchant.onboarded", "merchant.offboarded")
MARKET_TYPES = (*MERCHANT_TYPES, "payment.completed")
TEAM_TYPES = ("team.registered", "team.members_changed")
COMMUNITY_TYPES = (*TEAM_TYPES, "activity.reported")

CARRIED = {
    "merchant.onboarded": ("district", "commune", "market", "provider"),
    "merchant.offboarded": ("district", "commune", "market", "provider"),
    "payment.completed": ("district", "commune", "market", "provider"),
    "team.registered": ("district", "commune", "level"),
    "team.members_changed": ("district", "commune"),
    "activity.reported": ("district", "commune", "kind"),
}
"""The breakdown dimensions each event type carries as fields (EVENTS.md); extra fields a
source adds are ignored, whatever their names."""

STATE = ("market.merchants", "community.teams", "community.members")
DIVISORS = {"market.active_pct": "market.merchants", "community.teams_active_pct": "community.teams"}
"""The windowed KPIs that divide by a state KPI ("now"), and that state KPI."""
STATE_BREAKDOWNS = {
    "market.merchants": ("district", "commune", "market", "provider"),
    "community.teams": ("district", "commune", "level"),
    "community.members": ("district", "commune", "level"),
}


class Accepted(Protocol):
    """An accepted event as the oracle keeps it (``tests.oracle._Event`` fits)."""

    @property
    def arrival(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


class CommuneLike(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def district(self) -> str: ...


class PlaceLike(Protocol):
    @property
    def code(self) -> str: ...


class RegistryPart(Protocol):
    """What these KPIs read from the registry (``ioc.registry.Registry`` fits)."""

    @property
    def communes(self) -> Sequence[CommuneLike]: ...
    @property
    def commune_codes(self) -> Sequence[str]: ...
    @property
    def places(self) -> Mapping[str, Sequence[PlaceLike]]: ...


def area_of(type_name: str) -> str | None:
    """``market`` or ``community`` for this module's event types, else None."""
    if type_name in MARKET_TYPES:
        return "market"
    if type_name in COMMUNITY_TYPES:
        return "community"
    return None


def is_mine(name: str) -> bool:
    return name.startswith(("market.", "community."))


# --- arithmetic ----------------------------------------------------------------------------


def _median(values: list[int]) -> int | None:
    """Nearest rank: the ceil(n / 2)-th smallest (the lower middle of an even count)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(math.ceil(Fraction(len(ordered), 2)), 1) - 1]


def _percent(part: int, whole: float | None) -> float | None:
    return None if not whole else 100 * part / whole


# --- the world -----------------------------------------------------------------------------


class MarketCommunity:
    """Merchants, teams and breakdown keys after all the accepted ``events``."""

    def __init__(self, events: Sequence[Accepted], registry: RegistryPart | None) -> None:
        self.events = [e for e in events if area_of(e.type) is not None]
        self.registry = registry
        self.onboarded = self._onboarded()
        self.registrations = self._registrations()
        self.members = self._members()

    # market.merchants (choice 18) -------------------------------------------------------------

    def _onboarded(self) -> dict[str, Accepted]:
        """Merchant id -> the onboarding that makes it count now: the latest of its onboarded /
        offboarded events (greatest ``occurred_at``; an offboarding wins a tie with an
        onboarding; between two events of one type the earlier arrival stays)."""
        latest: dict[str, Accepted] = {}
        for e in self.events:  # arrival order
            if e.type not in MERCHANT_TYPES:
                continue
            merchant = str(e.data["merchant_id"])
            best = latest.get(merchant)
            offboarding_ties = best is not None and e.at == best.at and e.type == "merchant.offboarded"
            if best is None or e.at > best.at or offboarding_ties:
                latest[merchant] = e
        return {m: e for m, e in latest.items() if e.type == "merchant.onboarded"}

    # community.teams and community.members (choice 22) -----------------------------------------

    def _registrations(self) -> dict[str, Accepted]:
        """Team id -> its earliest ``team.registered`` (on a tie, the earlier arrival)."""
        earliest: dict[str, Accepted] = {}
        for e in self.events:
            if e.type == "team.registered":
                team = str(e.data["team_id"])
                if team not in earliest or e.at < earliest[team].at:
                    earliest[team] = e
        return earliest

    def _members(self) -> dict[str, int]:
        """Team id -> the ``members`` of its latest report (registered or members_changed, by
        ``occurred_at``; on a tie the larger count)."""
        latest: dict[str, tuple[datetime, int]] = {}
        for e in self.events:
            if e.type in TEAM_TYPES:
                team, report = str(e.data["team_id"]), (e.at, int(e.data["members"]))
                latest[team] = max(latest.get(team, report), report)
        return {team: members for team, (_, members) in latest.items()}

    def team_level(self, team: str) -> str:
        """The level of a team from its registration; ``unknown`` if it never registered."""
        registration = self.registrations.get(team)
        return UNKNOWN if registration is None else str(registration.data["level"])

    # dimensions ---------------------------------------------------------------------------------

    def event_dim(self, e: Accepted, dim: str) -> str:
        """The breakdown value of a payment or an activity (choice 23)."""
        if e.type == "activity.reported" and dim == "level":
            return self.team_level(str(e.data["team_id"]))
        return str(e.data[dim])

    def keys(self, area: str, dim: str) -> set[str]:
        """Choice 25: the registry's values, every value an event of the area carries, and the
        levels activities resolve to (``unknown`` among them when a team never registered)."""
        keys = set(self.registry_values(dim))
        for e in self.events:
            if area_of(e.type) == area and dim in CARRIED[e.type]:
                keys.add(str(e.data[dim]))
            if area == "community" and e.type == "activity.reported" and dim == "level":
                keys.add(self.event_dim(e, dim))
        return keys

    def registry_values(self, dim: str) -> list[str]:
        match dim:
            case "provider":
                return list(PROVIDERS)
            case "level":
                return list(LEVELS)
            case "kind":
                return list(KINDS)
        registry = self.registry
        if registry is None:
            return []
        match dim:
            case "district":
                return [c.district for c in registry.communes]
            case "commune":
                return list(registry.commune_codes)
            case "market":
                return [p.code for p in registry.places.get("market", ())]
        raise ValueError(dim)

    # KPIs -----------------------------------------------------------------------------------------

    def state(self, name: str, by: str | None) -> Result:
        """A state KPI: the total, or {value: number} over ``keys`` of its area."""
        if name == "market.merchants":
            area = "market"
            items: list[tuple[Accepted, int]] = [(e, 1) for e in self.onboarded.values()]
        elif name in ("community.teams", "community.members"):
            area = "community"
            items = [
                (e, 1 if name == "community.teams" else self.members[team])
                for team, e in self.registrations.items()
            ]
        else:
            raise ValueError(name)
        if by is None:
            return sum(n for _, n in items)
        return {key: sum(n for e, n in items if str(e.data[by]) == key) for key in self.keys(area, by)}

    def windowed(
        self, name: str, selected: Iterable[Accepted], by: str | None, divisor: Callable[[str | None], Result]
    ) -> Result:
        """A windowed KPI over the ``selected`` events (those of the window or step).

        ``divisor(by)`` gives the state KPI a share divides by (choices 21 and 24), the total
        for ``by=None``.
        """
        if name in DIVISORS:
            return self._share(name, selected, by, divisor)
        area, event_type, compute = _WINDOWED[name]
        events = [e for e in selected if e.type == event_type]
        if by is None:
            return compute(events)
        return {
            key: compute([e for e in events if self.event_dim(e, by) == key]) for key in self.keys(area, by)
        }

    def _share(
        self, name: str, selected: Iterable[Accepted], by: str | None, divisor: Callable[[str | None], Result]
    ) -> Result:
        """100 x distinct merchants (teams) among the payments (activities) ÷ the state KPI."""
        area, event_type, member = (
            ("market", "payment.completed", "merchant_id")
            if name == "market.active_pct"
            else ("community", "activity.reported", "team_id")
        )
        events = [e for e in selected if e.type == event_type]

        def active(events: list[Accepted]) -> int:
            return len({e.data[member] for e in events})

        state = DIVISORS[name]
        if by is None:
            whole = divisor(None)
            assert not isinstance(whole, dict)
            return _percent(active(events), whole)
        if by in STATE_BREAKDOWNS[state]:
            wholes = divisor(by)
            assert isinstance(wholes, dict)
        else:  # teams have no kind: every kind divides by all teams
            total = divisor(None)
            assert not isinstance(total, dict)
            wholes = dict.fromkeys(self.keys(area, by), total)
        return {
            key: _percent(active([e for e in events if self.event_dim(e, by) == key]), wholes.get(key, 0))
            for key in self.keys(area, by)
        }


def _count(events: list[Accepted]) -> int:
    return len(events)


def _total(field: str) -> Callable[[list[Accepted]], int]:
    return lambda events: sum(int(e.data[field]) for e in events)


def _distinct(field: str) -> Callable[[list[Accepted]], int]:
    return lambda events: len({e.data[field] for e in events})


def _hours(events: list[Accepted]) -> float:
    return math.fsum(e.data["hours"] for e in events)


_WINDOWED: dict[str, tuple[str, str, Callable[[list[Accepted]], float | None]]] = {
    "market.payments": ("market", "payment.completed", _count),
    "market.value_vnd": ("market", "payment.completed", _total("amount_vnd")),
    "market.payment_vnd_p50": (
        "market",
        "payment.completed",
        lambda events: _median([int(e.data["amount_vnd"]) for e in events]),
    ),
    "market.merchants_active": ("market", "payment.completed", _distinct("merchant_id")),
    "community.activities": ("community", "activity.reported", _count),
    "community.citizens_helped": ("community", "activity.reported", _total("citizens_helped")),
    "community.hours": ("community", "activity.reported", _hours),
}
WINDOWED = (*_WINDOWED, *DIVISORS)
