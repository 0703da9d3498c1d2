"""What portal events change: application counts and rates, payments, ratings, backlog.

`application.paid` and `.rated` take agency, district and service level, and `.resolved`
takes service level, from the application's `application.submitted`. When that has not
arrived yet, the contribution is counted under `unknown` and held; when the submission
arrives, held contributions move to its dimensions, so once all events are in the KPIs are
as if they had arrived in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ioc.contributions import Dims, Effects, Pending, dims_of, hours, minute_of
from ioc.kpi.sketch import bin_of
from schemas.kpis import UNKNOWN
from schemas.wire import Event
from sources.portal import kpis as b
from sources.portal.wire import (
    ApplicationPaid,
    ApplicationRated,
    ApplicationResolved,
    ApplicationSubmitted,
)

AppDims = tuple[str, str, str]
"""(district, agency, service_level) of an application, from its submission."""


def app_dims(e: ApplicationSubmitted) -> AppDims:
    return (e.district, e.agency, str(e.service_level))


def _row(district: str, agency: str, level: str) -> Dims:
    return dims_of(district=district, agency=agency, service_level=level)


def lookups_needed(events: Iterable[Event]) -> tuple[set[str], dict[str, AppDims]]:
    """Applications whose submission this batch needs, and the submissions the batch itself holds."""
    needed: set[str] = set()
    own: dict[str, AppDims] = {}
    for e in events:
        if isinstance(e, ApplicationSubmitted):
            own[e.application_id] = app_dims(e)
        elif isinstance(e, ApplicationResolved | ApplicationPaid | ApplicationRated):
            needed.add(e.application_id)
    return needed - own.keys(), own


@dataclass
class Known:
    """What a batch's portal events need from the database (sources/portal/lookups.py)."""

    applications: dict[str, AppDims] = field(default_factory=dict)  # their submissions' dimensions
    held: list[Pending] = field(default_factory=list)  # held for submissions in this batch
    submitted_now: dict[str, AppDims] = field(default_factory=dict)  # submissions in this batch


class PortalEffects:
    """Portal arithmetic bound to the dimensions known for this batch's applications."""

    def __init__(self, lookups: Known | None = None, sums: object = None) -> None:
        self.lookups = lookups if lookups is not None else Known()
        self.known: Mapping[str, AppDims] = self.lookups.applications

    def event(self, e: Any, order: int, fx: Effects) -> None:
        if isinstance(e, ApplicationSubmitted):
            self.submitted(e, fx)
        elif isinstance(e, ApplicationResolved):
            self.resolved(e, fx)
        elif isinstance(e, ApplicationPaid):
            self.paid(e, fx)
        elif isinstance(e, ApplicationRated):
            self.rated(e, fx)

    def flush(self, fx: Effects) -> None:
        """Move contributions held in earlier batches to the submissions this batch brought."""
        move_held(self.lookups.held, self.lookups.submitted_now, fx)

    def submitted(self, e: ApplicationSubmitted, fx: Effects) -> None:
        dims = _row(*app_dims(e))
        at = e.occurred_at
        fx.add(b.SUBMITTED, at, dims)
        if e.channel == "online":
            fx.add(b.ONLINE, at, dims)
        if e.service_level == 4:
            fx.add(b.LEVEL4, at, dims)
        fx.entity("portal_applications", e.application_id).update(
            district=e.district,
            agency=e.agency,
            service_level=str(e.service_level),
            service_code=e.service_code,
            submitted_at=at,
            due_at=e.due_at,
        )

    def resolved(self, e: ApplicationResolved, fx: Effects) -> None:
        known = self.known.get(e.application_id)
        dims = (e.district, e.agency, known[2] if known else None)
        at = e.occurred_at
        self._add(fx, e.application_id, at, dims, b.RESOLVED, 1.0)
        if at <= e.due_at:
            self._add(fx, e.application_id, at, dims, b.ON_TIME, 1.0)
        if e.outcome == "approved":
            self._add(fx, e.application_id, at, dims, b.APPROVED, 1.0)
        took = hours(at - e.submitted_at)
        self._add(fx, e.application_id, at, dims, b.RESOLUTION_HOURS, took, sketch=True)
        fx.entity("portal_applications", e.application_id)["resolved_at"] = at

    def paid(self, e: ApplicationPaid, fx: Effects) -> None:
        dims = self._submitted_dims(e.application_id)
        at = e.occurred_at
        self._add(fx, e.application_id, at, dims, b.PAID, 1.0)
        self._add(fx, e.application_id, at, dims, b.REVENUE, float(e.amount_vnd))
        if e.method == "cashless":
            self._add(fx, e.application_id, at, dims, b.CASHLESS, 1.0)

    def rated(self, e: ApplicationRated, fx: Effects) -> None:
        dims = self._submitted_dims(e.application_id)
        self._add(fx, e.application_id, e.occurred_at, dims, b.RATED, 1.0)
        self._add(fx, e.application_id, e.occurred_at, dims, b.RATING_SUM, float(e.score))

    def _submitted_dims(self, app_id: str) -> tuple[str | None, str | None, str | None]:
        known = self.known.get(app_id)
        return known if known is not None else (None, None, None)

    @staticmethod
    def _add(
        fx: Effects,
        app_id: str,
        at: datetime,
        dims: tuple[str | None, str | None, str | None],
        metric: str,
        value: float,
        *,
        sketch: bool = False,
    ) -> None:
        """Count under the known dimensions, or hold under `unknown` until the submission arrives."""
        row = _row(*(d if d is not None else UNKNOWN for d in dims))
        if None not in dims:
            if sketch:
                fx.observe(metric, at, row, value)
            else:
                fx.add(metric, at, row, value)
        elif sketch:
            fx.hold(Pending(app_id, minute_of(at), metric, bin_of(value), 1.0, row))
        else:
            fx.hold(Pending(app_id, minute_of(at), metric, None, value, row))


def move_held(held: Iterable[Pending], submitted: Mapping[str, AppDims], fx: Effects) -> None:
    """Move contributions held under `unknown` to the dimensions their submission now gives."""
    for p in held:
        real = submitted[p.entity_id]
        was = dict(p.dims)
        district, agency, level = was["district"], was["agency"], was["service_level"]
        to = _row(
            real[0] if district == UNKNOWN else district,
            real[1] if agency == UNKNOWN else agency,
            real[2] if level == UNKNOWN else level,
        )
        fx.move(p, to)
