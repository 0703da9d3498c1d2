"""The registry of sources: what it holds, and the mistakes it refuses when a source is added."""

from __future__ import annotations

import dataclasses

import pytest

from ioc.errors import SourceError
from ioc.sources import Source, Sources
from schemas.kpis import Better, Dimension, Kind, Kpi
from sources import SOURCES
from sources.eoffice import SOURCE as EOFFICE


def test_the_registry_holds_the_contracts_sources_topics_and_kpis() -> None:
    assert [s.name for s in SOURCES.all] == ["vc", "eoffice", "portal", "market", "community"]
    assert [t.name for t in SOURCES.topics] == [
        "ioc.vc.telemetry",
        "ioc.vc.meetings",
        "ioc.eoffice.documents",
        "ioc.portal.applications",
        "ioc.market.payments",
        "ioc.community.activities",
    ]
    assert len(SOURCES.kpis) == 42 and all(k.area == SOURCES.source_of(k.name).name for k in SOURCES.catalog)


def test_every_wall_tile_and_ranking_is_a_kpi_of_its_own_source() -> None:
    for source in SOURCES.all:
        wall = source.wall
        named = {*wall.headline, *wall.secondary, *wall.trend, *wall.of.values(), *wall.aside.values()}
        assert named <= {k.name for k in source.kpis}, source.name
        kpi, by = wall.breakdown
        assert by in SOURCES.kpis[kpi].breakdowns


def test_every_declared_dimension_has_words_on_the_wall() -> None:
    assert set(SOURCES.dimensions) - {Dimension.ENDPOINT} <= set(SOURCES.dimension_labels)
    # beyond the breakdowns, only a kind of registry place is worded: teams (/api/v1/dimensions)
    assert set(SOURCES.dimension_labels) - set(SOURCES.dimensions) == {"team"}


def _with(**changes: object) -> Source:
    return dataclasses.replace(EOFFICE, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "says"),
    [
        (_with(name="market"), "must be named market.*"),
        (
            _with(kpis=(*EOFFICE.kpis, Kpi("eoffice.late", Kind.STATE, "count", Better.LOWER, (), "x", "y"))),
            "has no query",
        ),
        (
            _with(
                kpis=(*EOFFICE.kpis, Kpi("eoffice.sent", Kind.WINDOW, "count", Better.NEITHER, (), "x", "y"))
            ),
            "has no formula",
        ),
        (
            _with(
                kpis=(
                    *EOFFICE.kpis[1:],
                    dataclasses.replace(EOFFICE.kpis[0], breakdowns=(Dimension.COMMUNE,)),
                )
            ),
            "undeclared ['commune']",
        ),
        (_with(dimension_labels={}), "dimensions without labels: ['agency']"),
    ],
)
def test_a_source_whose_parts_disagree_is_refused_with_what_is_wrong(source: Source, says: str) -> None:
    with pytest.raises(SourceError) as err:
        Sources((source,))
    assert says in str(err.value)


def test_two_sources_may_not_declare_the_same_kpi_or_topic() -> None:
    with pytest.raises(SourceError, match="two sources declare the source 'eoffice'"):
        Sources((EOFFICE, EOFFICE))
    twin = _with(name="eoffice2", kpis=(), formulas={}, state={}, sum_blocks=(), sketch_blocks=())
    with pytest.raises(SourceError, match="topic"):
        Sources(
            (
                EOFFICE,
                dataclasses.replace(
                    twin, topics=tuple(dataclasses.replace(t, source="eoffice2") for t in EOFFICE.topics)
                ),
            )
        )
