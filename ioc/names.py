"""Display names of dimension values, so people read "Chiêm Hóa", never CHIEM_HOA.

The registry of places names districts, communes, agencies, conference sites and each source's
own places (markets, teams); sources name the values of their fixed dimensions (site levels,
payment providers, ...). This is the one place that turns a (dimension, code) into names, for
the API (`/api/v1/dimensions`), the wall, alert texts and the database's name table (Grafana).
Where the registry gives no English name, the Vietnamese one without its diacritics stands in
("Điểm cầu xã Minh Quang" -> "Diem cau xa Minh Quang"): place names are written so in English.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from ioc.registry import Registry

_PLAIN = str.maketrans({"đ": "d", "Đ": "D"})


@dataclass(frozen=True, slots=True)
class ValueName:
    """One value of a dimension: its code, names, and the code of the place it lies in."""

    code: str
    name_vi: str
    name_en: str
    parent: str | None = None


def without_diacritics(text: str) -> str:
    """Vietnamese letters as plain Latin ones: "Chiêm Hóa" -> "Chiem Hoa", "Đạo" -> "Dao"."""
    decomposed = unicodedata.normalize("NFD", text.translate(_PLAIN))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _named(code: str, vi: str | None, en: str | None, parent: str | None = None) -> ValueName:
    vi = vi or code
    return ValueName(code, vi, en or without_diacritics(vi), parent)


def registry_values(registry: Registry, dimension: str) -> list[ValueName] | None:
    """The registry's values of `dimension` with their names and parents; None when the registry
    does not hold that dimension. A commune's parent is its district, a district agency's its
    district, a site's its commune (else its district), a market's or team's the place it is in."""
    if dimension == "district":
        return [_named(d.code, d.name_vi, d.name_en) for d in registry.districts]
    if dimension == "commune":
        return [_named(c.code, c.name_vi, c.name_en, c.district) for c in registry.communes]
    if dimension == "agency":
        return [_named(a.code, a.name, a.name_en, a.district) for a in registry.agencies]
    if dimension == "endpoint":
        return [_named(s.endpoint_id, s.name, None, s.commune or s.district) for s in registry.sites]
    if dimension in registry.places:
        return [_named(p.code, p.name_vi, p.name_en, p.parent) for p in registry.places[dimension]]
    return None


def dimension_values(
    registry: Registry, dimension: str, fixed: Mapping[str, Mapping[str, tuple[str, str]]]
) -> list[ValueName]:
    """Every named value of `dimension`: the registry's places, or the sources' fixed values
    (`fixed`: dimension -> code -> (vi, en), `Sources.value_names`); empty when neither has it."""
    found = registry_values(registry, dimension)
    if found is not None:
        return found
    return [_named(code, vi, en) for code, (vi, en) in fixed.get(dimension, {}).items()]


def name_lookup(
    registry: Registry, fixed: Mapping[str, Mapping[str, tuple[str, str]]]
) -> dict[tuple[str, str], ValueName]:
    """(dimension, code) -> its names, for every dimension the registry or a source names."""
    dims = {"district", "commune", "agency", "endpoint", *registry.places, *fixed}
    return {(d, v.code): v for d in sorted(dims) for v in dimension_values(registry, d, fixed)}
