"""Dependencies point one way (shared/DESIGN.md, "Data flow"), checked on every import.

- `schemas/` imports nothing of the project;
- the kernel `ioc/` imports only `schemas/`;
- a source (`sources/<name>/`) imports only `schemas/`, the kernel and itself; the registry
  (`sources/__init__.py`) imports the sources;
- `streams/`, `alerts/` and `api/` never import one another;
- nothing of the product imports the entry points (`cli/`, `simulator/`).

Every import counts, also one inside a function (the command line imports lazily).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "ioc", "sources", "streams", "alerts", "api", "cli", "simulator")
ALLOWED: dict[str, set[str]] = {
    "schemas": {"schemas"},
    "ioc": {"ioc", "schemas"},
    "sources": {"sources", "ioc", "schemas"},
    "streams": {"streams", "sources", "ioc", "schemas"},
    "alerts": {"alerts", "sources", "ioc", "schemas"},
    "api": {"api", "sources", "ioc", "schemas"},
    "cli": set(PACKAGES),
    "simulator": {"simulator", "sources", "ioc", "schemas"},
}


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Project modules `path` imports (absolute names; relative imports are not used here)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            assert node.level == 0, f"{path}: relative import"
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in out if m.split(".")[0] in PACKAGES}


def _package(path: Path) -> str:
    return path.relative_to(ROOT).parts[0]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path: Path) -> None:
    package = _package(path)
    bad = sorted(m for m in _imports(path) if m.split(".")[0] not in ALLOWED[package])
    assert bad == [], f"{path.relative_to(ROOT)} ({package}/) may not import {bad}"


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if _package(p) == "sources" and len(p.relative_to(ROOT).parts) > 2],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_a_source_imports_no_other_source(path: Path) -> None:
    own = path.relative_to(ROOT).parts[1]
    others = sorted(
        m for m in _imports(path) if m.startswith("sources") and m.split(".")[1:2] not in ([own], [])
    )
    assert others == [], f"{path.relative_to(ROOT)} imports another source: {others}"
    assert "sources" not in {m for m in _imports(path)}, "a source must not import the registry"


def test_the_rule_sees_every_product_module() -> None:
    found = {_package(p) for p in _modules()}
    assert found == set(PACKAGES)
    assert len(_modules()) > 100
