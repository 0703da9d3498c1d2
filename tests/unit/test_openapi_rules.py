"""The OpenAPI document says which requests the API refuses, so a client generated from it cannot
build one without the schema saying so: each KPI's own operation lists exactly its breakdowns,
and the generic `{name}` operations offer none (they take any KPI, so no enum of theirs could be
right). The requests themselves are answered as before (tests/integration/test_hostile_input.py
runs schemathesis' checks over the running API)."""

from __future__ import annotations

from typing import Any

import pytest

from api.main import create_app
from ioc.settings import Settings
from sources import CATALOG


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    doc: dict[str, Any] = create_app(Settings()).openapi()
    return doc


def by_enum(operation: dict[str, Any]) -> list[str] | None:
    """The `by` values an operation documents; None when it documents no `by`."""
    found = [p for p in operation.get("parameters", []) if p["name"] == "by"]
    assert len(found) <= 1
    return found[0]["schema"]["enum"] if found else None


@pytest.mark.parametrize("route", ["kpis", "series"])
def test_each_kpi_with_breakdowns_has_an_operation_with_exactly_them(
    document: dict[str, Any], route: str
) -> None:
    paths = document["paths"]
    for kpi in CATALOG:
        path = f"/api/v1/{route}/{kpi.name}"
        if not kpi.breakdowns:
            assert path not in paths, path  # the generic operation is all there is to it
            continue
        operation = paths[path]["get"]
        assert by_enum(operation) == [str(d) for d in kpi.breakdowns], path
        assert operation["operationId"] == f"{route}_{kpi.name.replace('.', '_')}"


@pytest.mark.parametrize("route", ["kpis", "series"])
def test_the_generic_operation_offers_no_breakdown_but_keeps_its_path(
    document: dict[str, Any], route: str
) -> None:
    operation = document["paths"][f"/api/v1/{route}/{{name}}"]["get"]
    assert by_enum(operation) is None
    assert "404" in operation["responses"] and "400" in operation["responses"]


def test_eoffice_received_breaks_down_by_agency_only(document: dict[str, Any]) -> None:
    """What a client developer reads: e-office counts break down by agency alone."""
    assert by_enum(document["paths"]["/api/v1/kpis/eoffice.received"]["get"]) == ["agency"]
    assert "/api/v1/kpis/vc.meetings_active" not in document["paths"]
