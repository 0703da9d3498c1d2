"""The province's registry: areas, conference sites, agencies and portal services.

Administrative maps change (Vietnam's 2025 reform removed the district level), so
the registry is data loaded from a JSON file, never code: the simulator draws its
traffic from it and the KPI code takes its known endpoints and breakdown values
from it. The shipped default is Tuyên Quang before the reform
(``ioc/data/registry_tuyen_quang.json``); another province passes its own file.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Final, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator

PROVINCE: Final = "PROVINCE"
"""The district code the contract gives province-level sites."""

DEFAULT_REGISTRY_FILE: Final = "registry_tuyen_quang.json"

SiteLevel: TypeAlias = Literal["province", "department", "district", "commune"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Province(BaseModel):
    """Who the registry describes; ``code`` prefixes generated ids, the offset stamps event times."""

    model_config = _FROZEN

    code: str = Field(min_length=1)
    name_vi: str
    name_en: str | None = None
    utc_offset_minutes: int = Field(default=420, ge=-720, le=840)
    note: str | None = None


class District(BaseModel):
    """A district-level area (or ``PROVINCE``): a breakdown value of the vc and portal KPIs."""

    model_config = _FROZEN

    code: str = Field(min_length=1)
    name_vi: str
    name_en: str | None = None
    abbr: str = Field(min_length=1, description="Short form used in endpoint ids, e.g. YS.")
    population: int = Field(default=0, ge=0, description="Weights where citizens' applications come from.")
    remoteness: float = Field(
        default=0.0, ge=0, le=1, description="0 = city centre, 1 = remote mountains: worse links."
    )


class Commune(BaseModel):
    """A commune (xã, phường, thị trấn): the level below a district; a breakdown value."""

    model_config = _FROZEN

    code: str = Field(min_length=1)
    name_vi: str
    name_en: str | None = None
    district: str


class Place(BaseModel):
    """A source's own registered thing (a market, a community team, ...), under a commune or a
    district. Sources read theirs from `Registry.places[kind]`, so a source's registry data
    needs no change here; fields beyond these are kept as given (`model_extra`)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    code: str = Field(min_length=1)
    name_vi: str
    name_en: str | None = None
    parent: str | None = Field(default=None, description="The commune or district code it belongs to.")


class Site(BaseModel):
    """A video-conference endpoint (điểm cầu)."""

    model_config = _FROZEN

    endpoint_id: str = Field(min_length=1)
    site_level: SiteLevel
    district: str
    commune: str | None = Field(default=None, description="Set for a commune-level site.")
    name: str | None = None
    agency: str | None = Field(default=None, description="The agency the site belongs to, if any.")


class Agency(BaseModel):
    """An agency that handles documents and applications; a breakdown value."""

    model_config = _FROZEN

    code: str = Field(min_length=1)
    name: str
    name_en: str | None = None
    district: str | None = Field(default=None, description="Set for a district's people's committee.")
    weight: float = Field(default=1.0, gt=0, description="Relative volume of its documents and meetings.")


class Service(BaseModel):
    """An administrative procedure on the portal."""

    model_config = _FROZEN

    service_code: str = Field(min_length=1)
    level: Annotated[int, Field(ge=2, le=4)]
    agency: str | None = Field(
        default=None,
        description="Handling agency; None for a district-level procedure, handled by the "
        "people's committee of the applicant's district.",
    )
    processing_days: int = Field(default=5, ge=1, description="Legal deadline in working days.")
    fee_vnd: int = Field(default=0, ge=0)


class Registry(BaseModel):
    """Everything the simulator and the KPI code need to know about the province."""

    model_config = _FROZEN

    province: Province
    districts: tuple[District, ...]
    communes: tuple[Commune, ...] = ()
    agencies: tuple[Agency, ...]
    sites: tuple[Site, ...]
    services: tuple[Service, ...]
    places: dict[str, tuple[Place, ...]] = Field(
        default_factory=dict, description="Each source's own registered things, by kind (market, team, ...)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Registry:
        """Reject a file whose references dangle or whose ids repeat: the error names the culprit."""
        for what, values in (
            ("district code", [d.code for d in self.districts]),
            ("commune code", [c.code for c in self.communes]),
            ("agency code", [a.code for a in self.agencies]),
            ("endpoint_id", [s.endpoint_id for s in self.sites]),
            ("service_code", [s.service_code for s in self.services]),
        ):
            repeated = [v for v, n in Counter(values).items() if n > 1]
            if repeated:
                raise ValueError(f"{what} {repeated[0]!r} appears more than once")
        districts = {d.code for d in self.districts}
        communes = {c.code: c.district for c in self.communes}
        agencies = {a.code for a in self.agencies}
        for commune in self.communes:
            if commune.district not in districts:
                raise ValueError(f"commune {commune.code}: unknown district {commune.district!r}")
        for kind, places in self.places.items():
            for place in places:
                if (
                    place.parent is not None
                    and place.parent not in districts
                    and place.parent not in communes
                ):
                    raise ValueError(f"{kind} {place.code}: unknown commune or district {place.parent!r}")
        for site in self.sites:
            if site.district not in districts:
                raise ValueError(f"site {site.endpoint_id}: unknown district {site.district!r}")
            if site.commune is not None and communes.get(site.commune) != site.district:
                raise ValueError(
                    f"site {site.endpoint_id}: commune {site.commune!r} is not in {site.district}"
                )
            if site.agency is not None and site.agency not in agencies:
                raise ValueError(f"site {site.endpoint_id}: unknown agency {site.agency!r}")
        for agency in self.agencies:
            if agency.district is not None and agency.district not in districts:
                raise ValueError(f"agency {agency.code}: unknown district {agency.district!r}")
        for service in self.services:
            if service.agency is not None and service.agency not in agencies:
                raise ValueError(f"service {service.service_code}: unknown agency {service.agency!r}")
        return self

    @property
    def endpoint_ids(self) -> tuple[str, ...]:
        """Every registered endpoint: ``vc.endpoints_known`` counts these even before they speak."""
        return tuple(s.endpoint_id for s in self.sites)

    @property
    def district_codes(self) -> tuple[str, ...]:
        """Breakdown values of ``by=district`` (``PROVINCE`` included when the file lists it)."""
        return tuple(d.code for d in self.districts)

    @property
    def commune_codes(self) -> tuple[str, ...]:
        """Breakdown values of ``by=commune``."""
        return tuple(c.code for c in self.communes)

    @property
    def agency_codes(self) -> tuple[str, ...]:
        """Breakdown values of ``by=agency``."""
        return tuple(a.code for a in self.agencies)

    @property
    def site_levels(self) -> tuple[SiteLevel, ...]:
        """Breakdown values of ``by=site_level``, in the contract's order, those present only."""
        present = {s.site_level for s in self.sites}
        order: tuple[SiteLevel, ...] = ("province", "department", "district", "commune")
        return tuple(level for level in order if level in present)

    @property
    def service_levels(self) -> tuple[int, ...]:
        """Breakdown values of ``by=service_level``."""
        return tuple(sorted({s.level for s in self.services}))

    def district_agency(self, district: str) -> str | None:
        """The people's committee of a district: who handles its district-level procedures."""
        for agency in self.agencies:
            if agency.district == district:
                return agency.code
        return None


def load_registry(path: Path | None = None) -> Registry:
    """Load and check a registry file; ``None`` loads the shipped province (cached, it never changes)."""
    if path is None:
        return _default_registry()
    return Registry.model_validate_json(Path(path).read_bytes())


@cache
def _default_registry() -> Registry:
    data = resources.files("ioc").joinpath("data", DEFAULT_REGISTRY_FILE).read_bytes()
    return Registry.model_validate_json(data)
