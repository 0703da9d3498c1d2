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
    stale: bool = Field(description="No event newer than the staleness threshold")


class SourcesResponse(BaseModel):
    as_of: datetime
    sources: list[SourceStatus]


class ErrorBody(BaseModel):
    """Every 4xx: what was wrong and what is allowed."""

    error: str
    detail: str
    allowed: list[str] | None = None
