"""How the video-conference source writes its own tables: presence bits, endpoints, meetings.

Parts of the batch's one statement (ioc/db/writes.py) where arrays can carry them; a meeting's
start, whose planned endpoints are an array per row, row by row (meetings are rare).
"""

from __future__ import annotations

from ioc.contributions import Effects
from ioc.db.entities import merge_entities
from ioc.db.pool import Conn
from ioc.db.writes import Writes
from sources.vc.arithmetic import PRESENCE, Presence

_PRESENCE_CTE = """
presence AS (
    INSERT INTO vc_presence AS t (endpoint_id, hour, district, site_level, minutes)
    SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::bigint[])
    ON CONFLICT (hour, endpoint_id) DO UPDATE
    SET minutes = t.minutes | EXCLUDED.minutes,
        district = EXCLUDED.district, site_level = EXCLUDED.site_level
)"""

# One part for the batch's endpoints (every endpoint is in most batches): the newest event wins.
_ENDPOINT_CTE = """
endpoints AS (
    INSERT INTO vc_endpoints AS t (endpoint_id, district, site_level, last_event_at, last_offline)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bool[])
    ON CONFLICT (endpoint_id) DO UPDATE
    SET district = EXCLUDED.district, site_level = EXCLUDED.site_level,
        last_event_at = EXCLUDED.last_event_at, last_offline = EXCLUDED.last_offline
    WHERE t.last_event_at <= EXCLUDED.last_event_at
)"""

# A meeting's end is merged column-wise with its stored row.
_MERGED = {"vc_meetings": ("meeting_id", (("ended_at", "timestamptz"),))}

# A meeting's start fields come together from its latest start event (by event time).
_MEETING_START_SQL = """
INSERT INTO vc_meetings AS t (meeting_id, started_at, organiser, title, planned_endpoints)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (meeting_id) DO UPDATE
SET started_at = EXCLUDED.started_at, organiser = EXCLUDED.organiser, title = EXCLUDED.title,
    planned_endpoints = EXCLUDED.planned_endpoints
WHERE t.started_at IS NULL OR t.started_at <= EXCLUDED.started_at
"""


class VcStore:
    def add_parts(self, writes: Writes, fx: Effects) -> None:
        presence: Presence | None = fx.parts.get(PRESENCE)
        if presence:
            keys = list(presence)
            writes.add(
                _PRESENCE_CTE,
                [k[0] for k in keys],
                [k[1] for k in keys],
                [presence[k][0] for k in keys],
                [presence[k][1] for k in keys],
                [presence[k][2] for k in keys],
            )
        endpoints = fx.entities.get("vc_endpoints")
        if endpoints:
            latest = list(endpoints.values())
            writes.add(
                _ENDPOINT_CTE,
                list(endpoints),
                [r["district"] for r in latest],
                [r["site_level"] for r in latest],
                [r["last_event_at"] for r in latest],
                [r["last_offline"] for r in latest],
            )
        merge_entities(writes, fx, _MERGED)

    def has_rows(self, fx: Effects) -> bool:
        return any(r.get("started_at") for r in fx.entities.get("vc_meetings", {}).values())

    async def write_rows(self, conn: Conn, fx: Effects) -> None:
        meetings = fx.entities.get("vc_meetings", {})
        starts = [(mid, r) for mid, r in meetings.items() if r.get("started_at")]
        if starts:
            await conn.executemany(
                _MEETING_START_SQL,
                [
                    (mid, r["started_at"], r["organiser"], r["title"], r["planned_endpoints"])
                    for mid, r in starts
                ],
            )
