"""The registry's parent links as one lookup: is this dimension value inside that scope?

A district holds its communes, its agencies (its people's committee), its sites and every
market and team registered under it or under one of its communes; a commune holds its sites,
markets and teams; an agency holds its sites. A scoped token sees exactly that part
(contract/KPIS.md, "Access"), and this is the one place that knows what "inside" means.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ioc.access import Scope
from ioc.registry import Registry

Node = tuple[str, str]
"""(dimension, value): ("commune", "TP-001")."""


@dataclass(frozen=True)
class Hierarchy:
    """Each registered value's ancestors, by dimension (`district`, `commune`, `agency`)."""

    ancestors: dict[Node, frozenset[Node]] = field(default_factory=dict)
    children: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per ancestor dimension, the dimensions with values under it (district: commune, ...)."""

    @classmethod
    def of(cls, registry: Registry) -> Hierarchy:
        up: defaultdict[Node, set[Node]] = defaultdict(set)
        commune_district = {c.code: c.district for c in registry.communes}
        districts = {d.code for d in registry.districts}
        for commune, district in commune_district.items():
            up[("commune", commune)].add(("district", district))
        for agency in registry.agencies:
            if agency.district is not None:
                up[("agency", agency.code)].add(("district", agency.district))
        for site in registry.sites:
            node = ("endpoint", site.endpoint_id)
            up[node].add(("district", site.district))
            if site.commune is not None:
                up[node].add(("commune", site.commune))
            if site.agency is not None:
                up[node].add(("agency", site.agency))
        for kind, places in registry.places.items():
            for place in places:
                node = (kind, place.code)
                parent = place.parent
                if parent in commune_district:
                    up[node] |= {("commune", parent), ("district", commune_district[parent])}
                elif parent in districts:
                    up[node].add(("district", parent))
        children: defaultdict[str, set[str]] = defaultdict(set)
        for (dimension, _), parents in up.items():
            for parent_dimension, _ in parents:
                children[parent_dimension].add(dimension)
        return cls(
            {node: frozenset(parents) for node, parents in up.items()},
            {k: frozenset(v) for k, v in children.items()},
        )

    @functools.cached_property
    def places(self) -> frozenset[str]:
        """The dimensions whose values are places (have parents or children), found once."""
        return frozenset(self.children).union(*self.children.values())

    def holds(self, scope: Scope, dimension: str, value: str) -> bool:
        """Whether `value` of `dimension` lies inside `scope` (a scope holds its own value)."""
        if scope.is_all:
            return True
        if dimension == scope.kind:
            return value == scope.value
        return (scope.kind, str(scope.value)) in self.ancestors.get((dimension, value), frozenset())

    def inside(self, scope: Scope, dimension: str, values: Iterable[str]) -> set[str]:
        """Those of `values` inside `scope`."""
        return {v for v in values if self.holds(scope, dimension, v)}

    def reaches(self, scope: Scope, dimension: str) -> bool:
        """Whether any value of `dimension` can lie inside `scope`: its own kind, or a dimension
        whose values have parents of that kind (a district's communes, an agency's sites)."""
        if scope.is_all or dimension == scope.kind:
            return True
        return dimension in self.children.get(scope.kind, frozenset())

    def visible(self, scope: Scope, dimension: str, value: str) -> bool:
        """Whether a token of `scope` may see that this value exists: a place inside its scope
        or above it (a commune's token sees its own district's name), or a value that is no
        place at all (a site level, a payment provider)."""
        if scope.is_all or self.holds(scope, dimension, value):
            return True
        if dimension not in self.places:
            return True  # not a place: nobody's part of the province
        return (dimension, value) in self.ancestors.get((scope.kind, str(scope.value)), frozenset())

    def labels_inside(self, scope: Scope, labels: dict[str, str]) -> bool:
        """An alert falls in `scope` when one of its labels names a value inside it."""
        if scope.is_all:
            return True
        return any(self.holds(scope, name, value) for name, value in labels.items())
