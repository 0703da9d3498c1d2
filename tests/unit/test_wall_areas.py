"""Each source's wall script (sources/<name>/wall.js) is served from its package at
/api/v1/wall/<name>/wall.js, as JavaScript; nothing else under that path is ever read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from api.errors import ApiError
from api.routes.wall import area_file, wall_layout
from ioc.registry import load_registry
from sources import SOURCES

REPO = Path(__file__).resolve().parents[2]


def test_every_shipped_wall_script_is_served_as_javascript() -> None:
    shipped = sorted(REPO.glob("sources/*/wall.js"))
    assert {p.parent.name for p in shipped} >= {"vc", "eoffice", "portal"}  # the areas with lists
    for path in shipped:
        assert path.parent.name in {s.name for s in SOURCES.all}, path  # only registered sources
        response = asyncio.run(area_file(path.parent.name, "wall.js"))
        assert response.body == path.read_bytes()
        assert response.media_type is not None and response.media_type.startswith("text/javascript")


@pytest.mark.parametrize(
    ("source", "file"),
    [("nowhere", "wall.js"), ("vc", "kpis.py"), ("vc", "../__init__.py"), ("..", "wall.js")],
)
def test_anything_else_is_a_404(source: str, file: str) -> None:
    """Unknown sources and other files of a source (its Python): never read."""
    with pytest.raises(ApiError) as refused:
        asyncio.run(area_file(source, file))
    assert refused.value.status == 404


def test_the_layout_names_a_script_only_where_the_package_ships_one() -> None:
    """The page loads what the layout names, so a source without a script costs no 404."""
    layout = wall_layout(load_registry(None))
    scripts = {a.id: a.script for a in layout.areas}
    shipped = {p.parent.name for p in REPO.glob("sources/*/wall.js")}
    assert scripts == {name: (f"api/v1/wall/{name}/wall.js" if name in shipped else None) for name in scripts}
    assert {"vc", "eoffice", "portal"} <= shipped and {"market", "community"} <= set(scripts) - shipped
    for name, script in scripts.items():
        if script is not None:
            assert (
                asyncio.run(area_file(name, "wall.js")).body
                == (REPO / "sources" / name / "wall.js").read_bytes()
            )
