"""What a batch of portal events reads before its effects: the dimensions of applications
submitted in earlier batches, and contributions held until this batch's submissions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ioc.contributions import Pending, dims_of
from ioc.db.pool import Conn
from sources.portal.arithmetic import AppDims, Known, lookups_needed


async def known_applications(conn: Conn, ids: Iterable[str]) -> dict[str, AppDims]:
    """Dimensions of applications whose submission is stored."""
    rows = await conn.fetch(
        "SELECT application_id, district, agency, service_level FROM portal_applications"
        " WHERE application_id = ANY($1::text[]) AND submitted_at IS NOT NULL",
        list(ids),
    )
    return {r["application_id"]: (r["district"], r["agency"], r["service_level"]) for r in rows}


async def take_held(conn: Conn, application_ids: Iterable[str]) -> list[Pending]:
    """Remove and return contributions held for applications whose submission just arrived."""
    rows = await conn.fetch(
        "DELETE FROM portal_pending WHERE application_id = ANY($1::text[])"
        " RETURNING application_id, bucket, metric, bin, value, district, agency, service_level",
        list(application_ids),
    )
    return [
        Pending(
            r["application_id"],
            r["bucket"],
            r["metric"],
            r["bin"],
            r["value"],
            dims_of(district=r["district"], agency=r["agency"], service_level=r["service_level"]),
        )
        for r in rows
    ]


class ApplicationLookups:
    def needed(self, events: Sequence[Any]) -> bool:
        return any(lookups_needed(events))

    async def load(self, conn: Conn, events: Sequence[Any]) -> Known:
        """Must run inside the batch's write transaction: taking held contributions deletes them."""
        needed, own = lookups_needed(events)
        known = await known_applications(conn, needed) if needed else {}
        known.update(own)
        held = await take_held(conn, own) if own else []
        return Known(applications=known, held=held, submitted_now=own)
