"""The schematic map's arithmetic: a place's traffic light by its worst KPI against the wall's
thresholds, and its video-conference sites offline (api/routes/map.py)."""

from __future__ import annotations

from api.routes.map import MapProblem, judge_place, offline, status_of

THRESHOLDS = {
    "vc.availability_pct": (99.0, 95.0),
    "portal.overdue": (20.0, 100.0),
    "vc.rtt_ms_p95": (150.0, 300.0),
}
BETTER = {"vc.availability_pct": "higher", "portal.overdue": "lower", "vc.rtt_ms_p95": "lower"}


def test_status_follows_the_better_direction_and_null_is_no_data() -> None:
    assert [status_of(v, (99.0, 95.0), "higher") for v in (99.5, 99.0, 97.0, 95.0, 94.9)] == [
        "ok", "ok", "warn", "warn", "bad",
    ]  # fmt: skip
    assert [status_of(v, (20.0, 100.0), "lower") for v in (0.0, 20.0, 21.0, 100.0, 101.0)] == [
        "ok", "ok", "warn", "warn", "bad",
    ]  # fmt: skip
    assert status_of(None, (99.0, 95.0), "higher") == "none"


def test_a_place_takes_its_worst_kpi_and_lists_its_problems_worst_first() -> None:
    values = {"vc.availability_pct": 97.0, "portal.overdue": 250.0, "vc.rtt_ms_p95": 40.0}
    status, problems = judge_place(values, THRESHOLDS, BETTER)
    assert status == "bad"
    assert problems == [
        MapProblem(kpi="portal.overdue", value=250.0, status="bad"),
        MapProblem(kpi="vc.availability_pct", value=97.0, status="warn"),
    ]
    assert judge_place({"vc.availability_pct": 99.9, "portal.overdue": None}, THRESHOLDS, BETTER) == (
        "ok",
        [],
    )
    assert judge_place({"vc.availability_pct": None}, THRESHOLDS, BETTER) == ("none", [])
    assert judge_place({}, THRESHOLDS, BETTER) == ("none", [])


def test_sites_offline_are_known_minus_online_and_null_without_counts() -> None:
    assert offline(19.0, 0.0) == 19
    assert offline(29.0, 29.0) == 0
    assert offline(3.0, 4.0) == 0  # a site heard of before the registry knows it
    assert offline(None, 3.0) is None
    assert offline(5.0, None) is None
