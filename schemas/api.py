"""Bodies of the HTTP API (contract/KPIS.md), shared by the API and its clients and tests."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SourceStatus(BaseModel):
    """One source topic's freshness, as the wall and the operators see it."""

    topic: str
    newest_event_at: datetime | None = Field(description="Event time of the newest accepted event")
    accepted_5m: int = Field(description="Events accepted in the last 5 minutes")
    rejected_5m: int = Field(description="Records dead-lettered in the last 5 minutes")
    duplicates_5m: int = Field(description="Duplicates ignored in the last 5 minutes")
    consumer_lag: int | None = Field(default=None, description="Records not yet consumed, where known")
    stale: bool = Field(
        description="Silent longer than expected while it should be speaking (never outside its hours)"
    )
    active: bool = Field(
        default=True, description="Within the hours it is expected to speak (false: quiet hours, not stale)"
    )
    expected_every_s: float | None = Field(
        default=None, description="The longest silence expected while active, in seconds"
    )


class SourcesResponse(BaseModel):
    as_of: datetime
    sources: list[SourceStatus]


class ErrorBody(BaseModel):
    """Every 4xx: what was wrong and what is allowed."""

    error: str
    detail: str
    allowed: list[str] | None = None


class KpisResponse(BaseModel):
    """Every KPI's total for one window (state KPIs ignore the window)."""

    window: str
    as_of: datetime
    kpis: dict[str, float | None]


class KpiResponse(BaseModel):
    """One KPI, as a total (`by` null, key "") or per dimension value."""

    name: str
    window: str
    by: str | None
    as_of: datetime
    values: dict[str, float | None]


class Point(BaseModel):
    t: datetime
    value: float | None


class SeriesResponse(BaseModel):
    """Points of one KPI; `points` without `by`, `series` (per dimension value) with it."""

    name: str
    step: str
    by: str | None = None
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    points: list[Point] | None = None
    series: dict[str, list[Point]] | None = None


class Thresholds(BaseModel):
    """Traffic-light bounds of the wall: `warn` and `bad`, in the KPI's unit and direction."""

    warn: float
    bad: float


class CatalogEntry(BaseModel):
    name: str
    kind: str
    unit: str
    better: str
    breakdowns: list[str]
    label_vi: str
    label_en: str
    prometheus: str
    thresholds: Thresholds | None = None


class CatalogResponse(BaseModel):
    windows: list[str]
    steps: list[str]
    default_window: str
    kpis: list[CatalogEntry]


class WallBreakdown(BaseModel):
    kpi: str
    by: str


class WallArea(BaseModel):
    """One source's area on the wall: which KPIs it shows where (sources/*/__init__.py)."""

    id: str
    label_vi: str
    label_en: str
    headline: list[str]
    secondary: list[str]
    trend: list[str]
    breakdown: WallBreakdown
    of: dict[str, str]
    aside: dict[str, str]
    script: str | None = Field(
        default=None,
        description="The source's own wall script (its lists in a place's view), relative to the "
        "API's root; null when the source shows its tiles alone.",
    )


class WallTopic(BaseModel):
    topic: str
    source: str
    label_vi: str
    label_en: str


class WallDimension(BaseModel):
    name: str
    label_vi: str
    label_en: str
    values: dict[str, tuple[str, str]] | None = Field(
        default=None,
        description="Names (vi, en) of this dimension's values, by code, where the registry names them"
        " as places (districts, communes, markets, ...) and a wall ranking shows them.",
    )


class WallResponse(BaseModel):
    """What the wall page lays out, from the sources' registry: areas, topics, breakdown words."""

    areas: list[WallArea]
    topics: list[WallTopic]
    dimensions: list[WallDimension]


class DimensionInfo(BaseModel):
    """A dimension KPIs break down by (or a kind of registry place), and what uses it."""

    name: str
    label_vi: str = Field(description="How a breakdown by it is worded on the wall, in Vietnamese")
    label_en: str
    kpis: list[str] = Field(description="KPIs that break down by it (empty: it only names places)")
    areas: list[str] = Field(description="Sources (wall areas) that declare it")
    values: int = Field(description="How many named values /api/v1/dimensions/{name} lists")


class DimensionsResponse(BaseModel):
    dimensions: list[DimensionInfo]


class DimensionValue(BaseModel):
    """One value of a dimension with its display names and the code of the place it lies in."""

    code: str
    name_vi: str
    name_en: str = Field(
        description="The registry's English name, else the Vietnamese one without diacritics"
    )
    parent: str | None = Field(
        description="A commune's district, a district agency's district, a site's commune (else "
        "district), a market's or team's commune; null at the top"
    )


class DimensionValuesResponse(BaseModel):
    name: str
    values: list[DimensionValue]


class PlaceRef(BaseModel):
    """A place by its dimension and code, with its names (a step of a place view's path)."""

    dimension: str
    code: str
    name_vi: str
    name_en: str


class PlaceRanking(BaseModel):
    """One wall area's ranking inside a place, one level down (a district's communes)."""

    kpi: str
    by: str
    values: dict[str, float | None]


class PlaceResponse(BaseModel):
    """A place's view: every KPI's total over the place and each area's ranking inside it."""

    dimension: str
    code: str
    name_vi: str
    name_en: str
    path: list[PlaceRef] = Field(description="The places above it the token may open, from the top")
    window: str
    as_of: datetime
    kpis: dict[str, float | None]
    rankings: dict[str, PlaceRanking] = Field(
        description="Per wall area (api/v1/wall), its ranking KPI by a dimension under the place"
    )


class OfflineSite(BaseModel):
    """A video-conference site not online now: its last event (null: never seen)."""

    endpoint_id: str
    district: str
    commune: str
    last_seen: datetime | None


class OverdueItem(BaseModel):
    """A document or an application past its due time and not finished."""

    id: str
    agency: str | None
    district: str | None
    started_at: datetime | None
    due_at: datetime
    overdue_s: float


class MeetingMissingEndpoints(BaseModel):
    """A meeting in progress whose planned sites in the place are not all online (the rule of
    vc.meeting_endpoints_offline): which of them are missing."""

    meeting_id: str
    title: str | None
    organiser: str | None = Field(description="Its agency's code; null when outside the place")
    started_at: datetime
    planned_endpoints: int = Field(description="Of its planned sites, those in the place")
    endpoints_offline: list[OfflineSite] = Field(description="Of those, the ones not online now")


class PlaceLists(BaseModel):
    """The lists behind a place's numbers, most overdue (or longest offline) first."""

    as_of: datetime
    offline_sites: list[OfflineSite]
    offline_sites_total: int
    meetings_missing_endpoints: list[MeetingMissingEndpoints] = Field(
        description="Meetings in progress with planned sites not online, most missing first"
    )
    meetings_missing_endpoints_total: int
    overdue_documents: list[OverdueItem]
    overdue_documents_total: int
    overdue_applications: list[OverdueItem]
    overdue_applications_total: int
