"""The province's KPI targets (IOC_KPI_TARGETS) and the arithmetic of the wall's comparisons
with the same time yesterday and last week."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from api.routes.kpis import kpi_targets
from api.routes.series import compared_times, headline_kpis, last_sampled
from ioc.settings import DEFAULT_KPI_TARGETS, ApiExtraSettings, Settings, parse_targets
from sources import SOURCES

T = datetime(2026, 3, 3, 3, 17, 42, tzinfo=UTC)


def test_targets_default_set_and_none() -> None:
    assert parse_targets("") == DEFAULT_KPI_TARGETS
    assert parse_targets("  ") == DEFAULT_KPI_TARGETS
    assert parse_targets("{}") == {}
    assert parse_targets('{"portal.on_time_pct": 97.5, "eoffice.on_time_pct": 90}') == {
        "portal.on_time_pct": 97.5,
        "eoffice.on_time_pct": 90.0,
    }


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("95", "JSON object"),
        ("{nope", "not JSON"),
        ('{"portal.on_time_pct": "95"}', "must be a number"),
        ('{"portal.on_time_pct": true}', "must be a number"),
        ('{"portal.on_time_pct": NaN}', "must be a number"),
        ('{"portal.on_time_pct": null}', "must be a number"),
    ],
)
def test_bad_targets_are_refused_at_start(monkeypatch: pytest.MonkeyPatch, text: str, says: str) -> None:
    monkeypatch.setenv("IOC_KPI_TARGETS", text)
    with pytest.raises(ValidationError, match=says):
        ApiExtraSettings()


def test_a_target_must_name_a_kpi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_KPI_TARGETS", '{"portal.on_time_pct": 95, "portal.ontime_pct": 90}')
    with pytest.raises(ValueError, match=r"no KPI is named 'portal\.ontime_pct'"):
        kpi_targets(Settings())
    monkeypatch.delenv("IOC_KPI_TARGETS")
    assert kpi_targets(Settings()) == DEFAULT_KPI_TARGETS
    assert set(DEFAULT_KPI_TARGETS) <= set(SOURCES.kpis)


def test_a_state_kpi_then_is_its_newest_sample() -> None:
    minute = [datetime(2026, 3, 3, 3, m, tzinfo=UTC) for m in range(13, 18)]
    assert last_sampled(list(zip(minute, [1.0, 2.0, 3.0, None, None], strict=True))) == 3.0
    assert last_sampled(list(zip(minute, [0.0, None, None, None, None], strict=True))) == 0.0
    assert last_sampled([(m, None) for m in minute]) is None  # no sample then: no data, never 0
    assert last_sampled([]) is None


def test_compared_times_and_kpis() -> None:
    times = compared_times(T)
    assert times == {
        "yesterday": datetime(2026, 3, 2, 3, 17, 42, tzinfo=UTC),
        "last_week": datetime(2026, 2, 24, 3, 17, 42, tzinfo=UTC),
    }
    names = headline_kpis()
    assert names[:2] == ["vc.endpoints_online", "vc.availability_pct"]
    assert len(names) == len(set(names))
    assert all(n in SOURCES.kpis for n in names)
