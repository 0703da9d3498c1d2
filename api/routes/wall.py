"""GET /api/v1/wall: the wall's layout as data, from the sources' registry.

Each source declares its area (headline and secondary tiles, trend, ranking) and the words
for its topics and breakdowns; the page builds itself from this answer, so a new source
appears on the wall without touching the page.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import caller
from schemas.api import WallArea, WallBreakdown, WallDimension, WallResponse, WallTopic
from sources import SOURCES

router = APIRouter(prefix="/api/v1", tags=["wall"])


def wall_layout() -> WallResponse:
    areas = [
        WallArea(
            id=s.name,
            label_vi=s.label_vi,
            label_en=s.label_en,
            headline=list(s.wall.headline),
            secondary=list(s.wall.secondary),
            trend=list(s.wall.trend),
            breakdown=WallBreakdown(kpi=s.wall.breakdown[0], by=str(s.wall.breakdown[1])),
            of=dict(s.wall.of),
            aside=dict(s.wall.aside),
        )
        for s in SOURCES.all
    ]
    topics = [
        WallTopic(
            topic=t.name,
            source=s.name,
            label_vi=s.topic_labels[t.name][0],
            label_en=s.topic_labels[t.name][1],
        )
        for s in SOURCES.all
        for t in s.topics
    ]
    dimensions = [
        WallDimension(name=n, label_vi=vi, label_en=en) for n, (vi, en) in SOURCES.dimension_labels.items()
    ]
    return WallResponse(areas=areas, topics=topics, dimensions=dimensions)


@router.get("/wall", response_model=WallResponse, dependencies=[Depends(caller)], summary="The wall's layout")
async def wall() -> WallResponse:
    return wall_layout()
