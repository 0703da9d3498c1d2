"""The e-office source's simulator profile: documents received by an agency, then processed
before (mostly) their deadline."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping

from ioc.errors import ConfigError
from ioc.simulation import Entity, EntityProfile, Outlet, Payload, Picker, ProfileContext, World, lognormal
from ioc.simulation.rhythm import DOCUMENT_OFFICE, HOUR_MS, MINUTE_MS, OFFICE, profile_arrivals
from sources.eoffice.kpis import DOCUMENTS

ENVELOPE_SOURCE = "eoffice"
"""The envelope's ``source`` of its events (a run may rename it: ``SimulatorConfig.sources``)."""
VOLUMES: Mapping[str, float] = {"documents_per_day": 3000.0}
"""Documents received on a working day, at multiplier 1 (a run may override it by name)."""

_DEADLINE_DAYS = {"normal": 5, "urgent": 2}
_EXPRESS_HOURS = 4
_URGENCY = Picker(("normal", "urgent", "express"), (0.85, 0.12, 0.03))


class Document(Entity):
    __slots__ = ("agency", "direction", "document_id", "due_ms", "received_ms", "signed", "urgency")
    document_id: str
    agency: str
    direction: str
    urgency: str
    received_ms: int
    due_ms: int
    signed: bool


def profiles(ctx: ProfileContext) -> tuple[Documents]:
    """The source's traffic for one run (``Source.simulator``)."""
    volumes = ctx.volumes(VOLUMES)
    per_day = volumes["documents_per_day"]
    if per_day < 0:
        raise ConfigError(f"eoffice documents_per_day={per_day}: cannot be negative")
    return (Documents(ctx.world, ctx.outlet(DOCUMENTS, ENVELOPE_SOURCE), ctx.rng("documents"), per_day),)


class Documents(EntityProfile):
    """Documents arrive in office hours; the deadline depends on urgency (express: hours, else days).

    Work takes a right-skewed share of the time allowed (median a quarter, about 4 % late)
    and happens in office hours; an agency falling behind takes several times longer.
    """

    def __init__(self, world: World, outlet: Outlet, rng: random.Random, per_day: float) -> None:
        self.world = world
        self.outlet = outlet
        self.rng = rng
        self.per_day = per_day * world.multiplier
        self.rates = OFFICE.per_ms(self.per_day)
        agencies = world.registry.agencies
        self.agency = Picker([a.code for a in agencies], [a.weight for a in agencies])
        self.prefix = world.id_prefix("VB")
        self.count = 0

    def events_per_day(self) -> float:
        """Two events a document, working days only."""
        return 2 * self.per_day * 5 / 7 if self.outlet.enabled else 0.0

    def spawn(self, start_ms: int, span_ms: int) -> Iterator[Document]:
        for t in profile_arrivals(self.rng, self.rates, start_ms, span_ms, self.world.offset_ms):
            yield self._create(t)

    def _create(self, t: int) -> Document:
        rng, world = self.rng, self.world
        self.count += 1
        agency = self.agency(rng)
        urgency = _URGENCY(rng)
        if urgency == "express":
            due = t + _EXPRESS_HOURS * HOUR_MS
        else:
            due = DOCUMENT_OFFICE.add_working_days(t, _DEADLINE_DAYS[urgency], world.offset_ms)
        share = lognormal(rng, 0.25, 0.8) * world.slowness(agency)
        done = DOCUMENT_OFFICE.next_working(t + int(share * (due - t)), world.offset_ms, rng)
        done = max(done, t + MINUTE_MS)
        document_id = f"{self.prefix}{self.count:07d}"
        doc = Document(document_id, [(t, "document.received"), (done, "document.processed")])
        doc.document_id = document_id
        doc.agency = agency
        doc.direction = "incoming" if rng.random() < 0.6 else "outgoing"
        doc.urgency = urgency
        doc.received_ms = t
        doc.due_ms = due
        doc.signed = rng.random() < (0.97 if doc.direction == "outgoing" else 0.85)
        return doc

    def body(self, doc: Document, type_name: str) -> Payload:
        fmt = self.world.fmt
        if type_name == "document.received":
            return {
                "document_id": doc.document_id,
                "agency": doc.agency,
                "direction": doc.direction,
                "urgency": doc.urgency,
                "due_at": fmt(doc.due_ms),
            }
        return {
            "document_id": doc.document_id,
            "agency": doc.agency,
            "received_at": fmt(doc.received_ms),
            "due_at": fmt(doc.due_ms),
            "digitally_signed": doc.signed,
        }
