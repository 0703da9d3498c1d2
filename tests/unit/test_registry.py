"""The shipped registry is Tuyên Quang as the design describes it, and another province can bring its own."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from ioc.registry import PROVINCE, Place, Registry, load_registry

REAL_DISTRICTS = {
    "TUYEN_QUANG": "Thành phố Tuyên Quang",
    "LAM_BINH": "Huyện Lâm Bình",
    "NA_HANG": "Huyện Na Hang",
    "CHIEM_HOA": "Huyện Chiêm Hóa",
    "HAM_YEN": "Huyện Hàm Yên",
    "YEN_SON": "Huyện Yên Sơn",
    "SON_DUONG": "Huyện Sơn Dương",
}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def test_the_province_has_the_designed_counts(registry: Registry) -> None:
    levels = Counter(s.site_level for s in registry.sites)
    assert len(registry.sites) == 167
    assert levels["commune"] == 138
    assert levels["district"] == 7
    assert levels["province"] == 1
    assert levels["department"] == 167 - 138 - 7 - 1
    assert len(registry.services) == 1880
    assert sum(s.level == 4 for s in registry.services) == 1080
    assert {s.level for s in registry.services} == {2, 3, 4}


def test_districts_are_the_real_seven_plus_the_province_level(registry: Registry) -> None:
    names = {d.code: d.name_vi for d in registry.districts}
    assert names.pop(PROVINCE)
    assert names == REAL_DISTRICTS
    # Each district-level unit has its own site and its people's committee.
    for code in REAL_DISTRICTS:
        assert [s.site_level for s in registry.sites if s.district == code].count("district") == 1
        assert registry.district_agency(code) == f"UBND_{code}"
    assert registry.district_agency(PROVINCE) is None
    assert all(s.district == PROVINCE for s in registry.sites if s.site_level in ("province", "department"))


def test_mountain_districts_are_the_remote_ones(registry: Registry) -> None:
    remoteness = {d.code: d.remoteness for d in registry.districts}
    assert min(remoteness["LAM_BINH"], remoteness["NA_HANG"]) > max(
        remoteness["TUYEN_QUANG"], remoteness["YEN_SON"], remoteness["SON_DUONG"]
    )


def test_ids_and_codes_have_the_documented_shapes(registry: Registry) -> None:
    abbr = {d.code: d.abbr for d in registry.districts}
    for site in registry.sites:
        assert re.fullmatch(rf"TQ-{abbr[site.district]}-\d{{3}}", site.endpoint_id), site.endpoint_id
    assert all(re.fullmatch(r"\d\.\d{6}", s.service_code) for s in registry.services)
    assert {"SO_TTTT", "UBND_HAM_YEN"} <= set(registry.agency_codes)
    assert registry.site_levels == ("province", "department", "district", "commune")
    assert registry.service_levels == (2, 3, 4)


def test_the_default_is_loaded_once(registry: Registry) -> None:
    assert load_registry(None) is registry


def _extra(place: Place, name: str) -> object:
    """A field a source keeps on its place beyond the common ones (`district`, `schedule`, ...)."""
    assert place.model_extra is not None and name in place.model_extra, (place.code, name)
    return place.model_extra[name]


def test_the_community_teams_are_the_provinces_published_totals(registry: Registry) -> None:
    teams = registry.places["team"]
    levels = Counter(_extra(t, "level") for t in teams)
    assert len(teams) == 1871
    assert levels == {"commune": 138, "village": 1733}
    commune_level = Counter(_extra(t, "commune") for t in teams if _extra(t, "level") == "commune")
    assert set(commune_level) == set(registry.commune_codes)
    assert set(commune_level.values()) == {1}
    members = [_extra(t, "members") for t in teams]
    assert all(isinstance(m, int) and m >= 1 for m in members)
    assert sum(m for m in members if isinstance(m, int)) == 10257


@pytest.mark.parametrize("kind", ["market", "team"])
def test_every_place_sits_in_a_commune_of_its_district(registry: Registry, kind: str) -> None:
    commune_district = {c.code: c.district for c in registry.communes}
    places = registry.places[kind]
    assert places
    for place in places:
        district, commune = _extra(place, "district"), _extra(place, "commune")
        assert district != PROVINCE, place.code
        assert commune == place.parent, place.code
        assert isinstance(commune, str) and commune_district.get(commune) == district, place.code
    repeated = [code for code, n in Counter(p.code for p in places).items() if n > 1]
    assert repeated == []


def test_team_codes_carry_their_districts_abbreviation(registry: Registry) -> None:
    abbr = {d.code: d.abbr for d in registry.districts}
    for team in registry.places["team"]:
        district = _extra(team, "district")
        assert isinstance(district, str)
        assert re.fullmatch(rf"CT-{abbr[district]}-\d{{4}}", team.code), team.code


def test_markets_keep_a_schedule_and_opening_hours(registry: Registry) -> None:
    markets = registry.places["market"]
    assert 45 <= len(markets) <= 60
    assert {_extra(m, "district") for m in markets} == set(REAL_DISTRICTS)
    for market in markets:
        assert re.fullmatch(r"CHO_[A-Z_]+", market.code), market.code
        schedule = _extra(market, "schedule")
        if schedule != "daily":
            assert isinstance(schedule, list) and schedule, market.code
            assert all(isinstance(day, int) and 0 <= day <= 6 for day in schedule), market.code
        opens, closes = _extra(market, "opens"), _extra(market, "closes")
        assert isinstance(opens, str) and isinstance(closes, str)
        assert re.fullmatch(r"\d\d:\d\d", opens) and re.fullmatch(r"\d\d:\d\d", closes), market.code
        assert opens < closes, market.code
        merchants = _extra(market, "merchants")
        assert isinstance(merchants, int) and merchants >= 1, market.code


def _tiny_province() -> dict[str, object]:
    return {
        "province": {"code": "XY", "name_vi": "Tỉnh Thử", "utc_offset_minutes": 420},
        "districts": [
            {"code": "PROVINCE", "name_vi": "Cấp tỉnh", "abbr": "PV"},
            {
                "code": "NUI_CAO",
                "name_vi": "Huyện Núi Cao",
                "abbr": "NC",
                "population": 5000,
                "remoteness": 1,
            },
        ],
        "agencies": [
            {"code": "UBND_XY", "name": "UBND tỉnh"},
            {"code": "UBND_NUI_CAO", "name": "UBND huyện Núi Cao", "district": "NUI_CAO"},
        ],
        "sites": [
            {
                "endpoint_id": "XY-PV-000",
                "site_level": "province",
                "district": "PROVINCE",
                "agency": "UBND_XY",
            },
            {"endpoint_id": "XY-NC-001", "site_level": "commune", "district": "NUI_CAO"},
        ],
        "services": [{"service_code": "1.000001", "level": 4, "agency": None}],
    }


def test_another_province_loads_from_its_own_file(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_bytes(orjson.dumps(_tiny_province()))
    other = load_registry(path)
    assert other.province.code == "XY"
    assert other.endpoint_ids == ("XY-PV-000", "XY-NC-001")
    assert other.district_codes == ("PROVINCE", "NUI_CAO")
    assert other.district_agency("NUI_CAO") == "UBND_NUI_CAO"


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda d: d["sites"].append({**d["sites"][1]}), "XY-NC-001"),
        (lambda d: d["sites"][1].update(district="ATLANTIS"), "ATLANTIS"),
        (lambda d: d["services"][0].update(agency="SO_NOWHERE"), "SO_NOWHERE"),
        (lambda d: d["services"][0].update(level=5), "level"),
    ],
)
def test_a_broken_file_is_refused_naming_the_culprit(tmp_path: Path, break_it: object, message: str) -> None:
    data = _tiny_province()
    break_it(data)  # type: ignore[operator]
    path = tmp_path / "broken.json"
    path.write_bytes(orjson.dumps(data))
    with pytest.raises(ValidationError, match=message):
        load_registry(path)
