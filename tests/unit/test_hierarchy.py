"""What lies inside a scope, by the shipped registry's parent links (contract/KPIS.md, "Access")."""

from __future__ import annotations

from ioc.access import ALL, Scope
from ioc.hierarchy import Hierarchy
from ioc.registry import load_registry

REGISTRY = load_registry(None)
H = Hierarchy.of(REGISTRY)


def test_a_district_holds_its_communes_agencies_sites_markets_and_teams() -> None:
    district = REGISTRY.districts[1].code
    scope = Scope("district", district)
    communes = {c.code for c in REGISTRY.communes if c.district == district}
    assert communes and H.inside(scope, "commune", REGISTRY.commune_codes) == communes
    assert H.inside(scope, "district", REGISTRY.district_codes) == {district}
    agency = REGISTRY.district_agency(district)
    assert agency is not None and H.holds(scope, "agency", agency)
    assert not any(H.holds(scope, "agency", a.code) for a in REGISTRY.agencies if a.district is None)
    sites = {s.endpoint_id for s in REGISTRY.sites if s.district == district}
    assert H.inside(scope, "endpoint", REGISTRY.endpoint_ids) == sites
    for kind in ("market", "team"):
        inside = H.inside(scope, kind, [p.code for p in REGISTRY.places[kind]])
        under = {p.code for p in REGISTRY.places[kind] if p.parent in communes | {district}}
        assert inside == under
    assert H.reaches(scope, "commune") and H.reaches(scope, "endpoint") and H.reaches(scope, "market")
    assert not H.reaches(scope, "site_level") and not H.reaches(scope, "service_level")


def test_a_commune_holds_its_own_places_and_nothing_of_its_neighbours() -> None:
    commune = next(s.commune for s in REGISTRY.sites if s.commune is not None)
    assert commune is not None
    scope = Scope("commune", commune)
    assert H.inside(scope, "commune", REGISTRY.commune_codes) == {commune}
    assert H.inside(scope, "endpoint", REGISTRY.endpoint_ids) == {
        s.endpoint_id for s in REGISTRY.sites if s.commune == commune
    }
    assert not H.reaches(scope, "district") and not H.reaches(scope, "agency")


def test_an_agency_holds_its_sites_and_alerts_follow_their_labels() -> None:
    agency = next(s.agency for s in REGISTRY.sites if s.agency is not None)
    assert agency is not None
    scope = Scope("agency", agency)
    assert H.inside(scope, "endpoint", REGISTRY.endpoint_ids) == {
        s.endpoint_id for s in REGISTRY.sites if s.agency == agency
    }
    assert H.labels_inside(scope, {"alertname": "X", "agency": agency})
    assert not H.labels_inside(scope, {"alertname": "X", "severity": "warning"})  # a province total
    assert H.labels_inside(ALL, {"alertname": "X"})
