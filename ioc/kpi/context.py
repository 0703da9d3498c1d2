"""What KPI definitions depend on besides the data: the sources, the registry and settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ioc.freshness import DEFAULT_OFFICE_HOURS, Freshness, freshness_from
from ioc.registry import Registry, load_registry
from ioc.settings import KpiSettings

if TYPE_CHECKING:
    from ioc.sources import Sources


@dataclass(frozen=True)
class KpiContext:
    """The registry of places, the registry of sources, and the settings KPIs are defined by.

    The sources are passed in (the kernel imports no source): whoever starts a process hands
    over `sources.SOURCES`.
    """

    registry: Registry
    sources: Sources
    offline_after: timedelta = timedelta(seconds=60)
    meeting_max_duration: timedelta = timedelta(hours=12)
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))
    office_hours: str = DEFAULT_OFFICE_HOURS
    source_freshness: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def freshness(self) -> Freshness:
        """When each source topic is expected to speak: its source's declaration, or the
        operator's override (IOC_SOURCE_FRESHNESS), in office hours IOC_OFFICE_HOURS."""
        return freshness_from(
            {t.name: s.freshness.get(t.name) for s in self.sources.all for t in s.topics},
            overrides=self.source_freshness,
            office_hours=self.office_hours,
            timezone=self.timezone.key,
        )


def context_from(settings: KpiSettings, sources: Sources) -> KpiContext:
    """The KPI context the settings describe (loads the registry file once)."""
    ctx = KpiContext(
        registry=load_registry(settings.registry_file),
        sources=sources,
        offline_after=settings.offline_after,
        meeting_max_duration=settings.meeting_max_duration,
        timezone=ZoneInfo(settings.timezone),
        office_hours=settings.office_hours,
        source_freshness=settings.freshness_overrides,
    )
    _ = ctx.freshness  # an override naming an unknown topic is refused at start, not at first use
    return ctx
