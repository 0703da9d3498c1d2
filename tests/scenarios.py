"""Event sets that exercise every KPI: entity life-cycles, out-of-order arrival, duplicates.

Built from a seeded `random.Random` so hypothesis can shrink by seed and a failure is replayed
exactly. Every event is contract-valid and none is late or in the future at `now` when the
events arrive in the order given on one partition per topic (as `history` needs).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from ioc.registry import Place, Registry
from tests.factories import valid_event

Event = dict[str, Any]


def _at(rng: random.Random, now: datetime, span_min: int) -> datetime:
    return now - timedelta(seconds=rng.uniform(0, span_min * 60))


def scenario(
    rng: random.Random,
    now: datetime,
    registry: Registry,
    *,
    span_min: int = 100,
    history: bool = False,
    reregistrations: bool = True,
) -> list[Event]:
    """A shuffled-per-entity, partly duplicated list of events spread over the last `span_min` minutes.

    With `history`, market and community entities also have events of the last 8 days, sent
    first and in time order (so that none is late on its partition), which 24h and 7d windows
    and the state KPIs see. With `reregistrations`, some teams register a second time, later,
    at another level and commune (the earliest registration places a team).
    """
    sites = rng.sample(list(registry.sites), 6)
    agencies = rng.sample(list(registry.agency_codes), 3)
    districts = rng.sample(list(registry.district_codes), 2)
    entities: list[list[Event]] = []

    endpoints = [(s.endpoint_id, s.district, s.site_level) for s in sites]
    endpoints.append(("TQ-NEW-001", districts[0], "commune"))  # seen, not in the registry
    for eid, district, level in endpoints:
        events = [
            valid_event(
                "vc.heartbeat",
                occurred_at=_at(rng, now, span_min if rng.random() < 0.7 else 2),
                endpoint_id=eid,
                district=district,
                site_level=level,
                rtt_ms=round(rng.uniform(5, 400), 1),
                jitter_ms=round(rng.uniform(0, 40), 1),
                packet_loss_pct=round(rng.uniform(0, 8), 2),
            )
            for _ in range(rng.randint(1, 6))
        ]
        if rng.random() < 0.5:
            events.append(
                valid_event(
                    "vc.status",
                    occurred_at=_at(rng, now, 3),
                    endpoint_id=eid,
                    district=district,
                    site_level=level,
                    status=rng.choice(["online", "degraded", "offline"]),
                )
            )
        entities.append(events)

    for m in range(2):
        mid = f"MTG-{m}"
        planned = [e[0] for e in rng.sample(endpoints, 3)] + (["TQ-NEVER-SEEN"] if m == 0 else [])
        started = _at(rng, now, span_min)
        events = [
            valid_event("vc.meeting.started", occurred_at=started, meeting_id=mid, planned_endpoints=planned)
        ]
        if rng.random() < 0.4:
            events.append(
                valid_event("vc.meeting.ended", occurred_at=started + timedelta(minutes=1), meeting_id=mid)
            )
        entities.append(events)

    for d in range(6):
        did = f"DOC-{d}"
        received = _at(rng, now, span_min)
        due = received + timedelta(hours=rng.choice([-1, 0.2, 1, 48]))
        agency = rng.choice(agencies)
        events = [
            valid_event("document.received", occurred_at=received, document_id=did, agency=agency, due_at=due)
        ]
        if rng.random() < 0.6:
            done = received + (now - received) * rng.random()
            events.append(
                valid_event(
                    "document.processed",
                    occurred_at=done,
                    document_id=did,
                    agency=agency,
                    received_at=received,
                    due_at=due,
                    digitally_signed=rng.random() < 0.7,
                )
            )
        entities.append(events)

    for a in range(7):
        aid = f"APP-{a}"
        submitted = _at(rng, now, span_min)
        due = submitted + timedelta(hours=rng.choice([0.1, 0.5, 24]))
        agency, district = rng.choice(agencies), rng.choice(districts)
        events = [
            valid_event(
                "application.submitted",
                occurred_at=submitted,
                application_id=aid,
                agency=agency,
                district=district,
                service_level=rng.choice([2, 3, 4]),
                channel=rng.choice(["online", "counter", "postal"]),
                due_at=due,
            )
        ]
        if rng.random() < 0.6:
            done = submitted + (now - submitted) * rng.random()
            events.append(
                valid_event(
                    "application.resolved",
                    occurred_at=done,
                    application_id=aid,
                    agency=agency,
                    district=district,
                    submitted_at=submitted,
                    due_at=due,
                    outcome=rng.choice(["approved", "approved", "rejected"]),
                )
            )
        for kind in ("application.paid", "application.rated"):
            if rng.random() < 0.5:
                extra = {"amount_vnd": rng.choice([0, 50_000, 120_000])} if kind == "application.paid" else {}
                if kind == "application.rated":
                    extra = {"score": rng.randint(1, 5)}
                events.append(
                    valid_event(
                        kind,
                        occurred_at=submitted + (now - submitted) * rng.random(),
                        application_id=aid,
                        **extra,
                    )
                )
        if rng.random() < 0.3:
            del events[0]  # the submission never arrives: its other events stay `unknown`
        entities.append(events)

    entities += market(rng, now, registry, span_min)
    entities += community(rng, now, registry, span_min, reregistrations=reregistrations)
    cutoff = now - timedelta(minutes=span_min)
    old = [e for events in entities for e in events if _time(e) < cutoff] if history else []
    entities = [[e for e in events if _time(e) >= cutoff] for events in entities]

    out: list[Event] = []
    for events in entities:
        if rng.random() < 0.4:
            rng.shuffle(events)  # e.g. processed before received, paid before submitted
        out.extend(events)
    # interleave the entities, then re-send some events verbatim (a source's retries)
    rng.shuffle(out)
    for e in rng.sample(out, k=max(1, len(out) // 10)):
        out.insert(rng.randrange(len(out) + 1), dict(e))
    if not old:
        return out
    old.sort(key=_time)
    resent = [dict(e) for e in rng.sample(old, k=max(1, len(old) // 10))]  # duplicates, not late
    return [*old, *out, *resent]


# --- market 4.0 and community teams ----------------------------------------------------------

PROVIDERS = ("vnpt_money", "viettel_money", "bank_qr", "other")
KINDS = ("account_setup", "app_install", "online_service_help", "cashless_help", "training")
WEEK_MIN = 8 * 24 * 60  # history reaches past the 7d window


def _time(e: Event) -> datetime:
    return datetime.fromisoformat(str(e["occurred_at"]))


def _extra(place: Place, name: str) -> str:
    return str((place.model_extra or {})[name])


def _when(rng: random.Random, now: datetime, span_min: int, *, old: float = 0.3) -> datetime:
    """Within the last `span_min` minutes, or (with probability `old`) up to 8 days before."""
    if rng.random() < old:
        return now - timedelta(minutes=rng.uniform(span_min + 1, WEEK_MIN))
    return _at(rng, now, span_min)


def market(rng: random.Random, now: datetime, registry: Registry, span_min: int) -> list[list[Event]]:
    """Merchants per entity: onboarded (some days ago), offboarded and back, some at another
    stall, an onboarding and an offboarding at one instant; payments over minutes and hours,
    some at a second market; a merchant paid and never onboarded; a market no registry lists."""
    tag = f"{rng.getrandbits(32):08x}"
    markets = rng.sample(list(registry.places["market"]), 3)
    stalls = [
        {"market": m.code, "district": _extra(m, "district"), "commune": _extra(m, "commune")}
        for m in markets
    ]
    unlisted = {**stalls[0], "market": f"CHO_MOI_{tag[:4].upper()}"}

    def stall() -> dict[str, str]:
        return {**rng.choice(stalls), "provider": rng.choice(PROVIDERS)}

    def payment(merchant: str, at: datetime, where: dict[str, str]) -> Event:
        amount = rng.choice([0, 15_000, 35_000, 50_000, 120_000, rng.randrange(1_000, 5_000_000)])
        return valid_event(
            "payment.completed", occurred_at=at, merchant_id=merchant, amount_vnd=amount, **where
        )

    entities: list[list[Event]] = []
    for i in range(6):
        merchant, home = f"MK-{tag}-{i}", stall()
        onboarded = _when(rng, now, span_min)
        events = [valid_event("merchant.onboarded", occurred_at=onboarded, merchant_id=merchant, **home)]
        changed, on = onboarded, True
        for _ in range(rng.choice([0, 0, 1, 2])):  # leaves, comes back (maybe elsewhere), ...
            changed += (now - changed) * rng.random()
            on = not on
            if on and rng.random() < 0.5:
                home = stall()
            kind = "merchant.onboarded" if on else "merchant.offboarded"
            events.append(valid_event(kind, occurred_at=changed, merchant_id=merchant, **home))
        if rng.random() < 0.15:  # the opposite report at the very same instant: the offboarding wins
            kind = "merchant.offboarded" if on else "merchant.onboarded"
            events.append(valid_event(kind, occurred_at=changed, merchant_id=merchant, **home))
        for _ in range(rng.choice([0, 1, 2, 3, 5])):
            where = home if rng.random() < 0.8 else stall()  # also sells at another market
            events.append(payment(merchant, _when(rng, now, span_min, old=0.2), where))
        entities.append(events)
    stranger = f"MK-{tag}-unknown"  # paid, never onboarded
    entities.append([payment(stranger, _at(rng, now, span_min), stall()) for _ in range(rng.randint(1, 2))])
    gone = f"MK-{tag}-gone"  # only its onboarding events name its market
    left = _at(rng, now, span_min)
    entities.append(
        [
            valid_event(
                "merchant.onboarded",
                occurred_at=left - timedelta(minutes=5),
                merchant_id=gone,
                **unlisted,
                provider="other",
            ),
            valid_event(
                "merchant.offboarded", occurred_at=left, merchant_id=gone, **unlisted, provider="other"
            ),
        ]
    )
    return entities


def community(
    rng: random.Random, now: datetime, registry: Registry, span_min: int, *, reregistrations: bool = False
) -> list[list[Event]]:
    """Teams per entity: registered (some days ago, some after their first activities), member
    counts changed (some before the registration, one at the same instant as another report),
    activities over minutes and hours; a team that never registers, one with member reports
    only (in a commune no registry lists)."""
    tag = f"{rng.getrandbits(32):08x}"
    entities: list[list[Event]] = []
    for i, place in enumerate(rng.sample(list(registry.places["team"]), 5)):
        team = f"CT-{tag}-{i}"
        where = {"district": _extra(place, "district"), "commune": _extra(place, "commune")}
        registered = _when(rng, now, span_min)
        events = [
            valid_event(
                "team.registered",
                occurred_at=registered,
                team_id=team,
                level=_extra(place, "level"),
                members=rng.randint(3, 12),
                **where,
            )
        ]
        reports = [registered]
        if reregistrations and rng.random() < 0.3:
            again = registered + (now - registered) * rng.random()
            elsewhere = rng.choice(registry.places["team"])
            level = "commune" if _extra(place, "level") == "village" else "village"
            events.append(
                valid_event(
                    "team.registered",
                    occurred_at=again,
                    team_id=team,
                    level=level,
                    members=rng.randint(3, 12),
                    district=_extra(elsewhere, "district"),
                    commune=_extra(elsewhere, "commune"),
                )
            )
            reports.append(again)
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            at = rng.choice(reports) if rng.random() < 0.15 else _when(rng, now, span_min)  # ties too
            reports.append(at)
            events.append(
                valid_event(
                    "team.members_changed", occurred_at=at, team_id=team, members=rng.randint(1, 15), **where
                )
            )
        events += _activities(rng, now, span_min, team, where, rng.choice([0, 1, 2, 3, 5]))
        entities.append(events)
    orphan = {"district": _extra(place, "district"), "commune": _extra(place, "commune")}
    entities.append(_activities(rng, now, span_min, f"CT-{tag}-orphan", orphan, rng.randint(1, 3)))
    entities.append(
        [
            valid_event(
                "team.members_changed",
                occurred_at=_at(rng, now, span_min),
                team_id=f"CT-{tag}-unregistered",
                members=4,
                district=orphan["district"],
                commune=f"XA_MOI_{tag[:4].upper()}",  # a commune only this event names
            )
        ]
    )
    return entities


def _activities(
    rng: random.Random, now: datetime, span_min: int, team: str, where: dict[str, str], n: int
) -> list[Event]:
    return [
        valid_event(
            "activity.reported",
            occurred_at=_when(rng, now, span_min, old=0.2),
            team_id=team,
            kind=rng.choice(KINDS),
            citizens_helped=rng.randint(0, 30),
            hours=rng.choice([0, 0.25, 0.5, 1, 1.5, 2.75, round(rng.uniform(0, 4), 3)]),
            **where,
        )
        for _ in range(n)
    ]
