"""Event sets that exercise every KPI: entity life-cycles, out-of-order arrival, duplicates.

Built from a seeded `random.Random` so hypothesis can shrink by seed and a failure is replayed
exactly. Every event is contract-valid and none is late or in the future at `now`.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from ioc.registry import Registry
from tests.factories import valid_event

Event = dict[str, Any]


def _at(rng: random.Random, now: datetime, span_min: int) -> datetime:
    return now - timedelta(seconds=rng.uniform(0, span_min * 60))


def scenario(rng: random.Random, now: datetime, registry: Registry, *, span_min: int = 100) -> list[Event]:
    """A shuffled-per-entity, partly duplicated list of events spread over the last `span_min` minutes."""
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

    out: list[Event] = []
    for events in entities:
        if rng.random() < 0.4:
            rng.shuffle(events)  # e.g. processed before received, paid before submitted
        out.extend(events)
    # interleave the entities, then re-send some events verbatim (a source's retries)
    rng.shuffle(out)
    for e in rng.sample(out, k=max(1, len(out) // 10)):
        out.insert(rng.randrange(len(out) + 1), dict(e))
    return out
