"""Freshness: a source is stale only when silent past its expectation while it should speak.

Times are local to Asia/Ho_Chi_Minh (UTC+7, no DST) unless a test says otherwise; 2026-03-02
is a Monday, 2026-03-07 a Saturday, 2026-03-08 a Sunday.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from ioc.freshness import (
    ALWAYS,
    DEFAULT_OFFICE_HOURS,
    ActiveHours,
    freshness_from,
    parse_duration,
    parse_expectation,
    parse_hours,
)
from ioc.kpi.context import context_from
from ioc.settings import KpiSettings
from sources import SOURCES

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICE = parse_hours(DEFAULT_OFFICE_HOURS)
EOFFICE = parse_expectation("15m office", office=OFFICE)
HEARTBEATS = parse_expectation("10s always", office=OFFICE)


def local(day: int, hh: int, mm: int = 0, ss: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hh, mm, ss, tzinfo=HCM)


def test_office_hours_are_monday_to_saturday_7_to_17_30_start_in_end_out() -> None:
    assert ActiveHours(frozenset(range(6)), 7 * 60, 17 * 60 + 30) == OFFICE
    assert OFFICE.contains(local(2, 7), HCM)
    assert not OFFICE.contains(local(2, 6, 59, 59), HCM)
    assert OFFICE.contains(local(2, 17, 29, 59), HCM)
    assert not OFFICE.contains(local(2, 17, 30), HCM)
    assert OFFICE.contains(local(7, 12), HCM)  # Saturday
    assert not OFFICE.contains(local(8, 12), HCM)  # Sunday


def test_a_quiet_night_is_not_stale() -> None:
    last = local(2, 17, 25)  # Monday, the last document before closing
    for now in (local(2, 20, 52), local(3, 0, 0), local(3, 6, 59, 59)):
        assert not EOFFICE.stale(last, now, HCM), now


def test_silence_counts_only_office_time_across_the_night() -> None:
    last = local(2, 17, 25)  # 5 office minutes left on Monday
    assert not EOFFICE.stale(last, local(3, 7, 10), HCM)  # 5 + 10 = 15 minutes: not more
    assert EOFFICE.stale(last, local(3, 7, 10, 1), HCM)  # 15 minutes and a second


def test_a_source_that_went_silent_just_before_the_office_opened() -> None:
    last = local(3, 6, 50)
    assert not EOFFICE.stale(last, local(3, 7, 0), HCM)
    assert not EOFFICE.stale(last, local(3, 7, 15), HCM)  # 15 office minutes, exactly
    assert EOFFICE.stale(last, local(3, 7, 15, 1), HCM)


def test_the_week_boundary_skips_sunday() -> None:
    last = local(7, 17, 20)  # Saturday, 10 office minutes before the weekend
    assert not EOFFICE.stale(last, local(8, 12), HCM)  # Sunday: should not speak
    assert not EOFFICE.stale(last, local(9, 7, 5), HCM)  # Monday 07:05: 15 minutes
    assert EOFFICE.stale(last, local(9, 7, 6), HCM)
    # the same across a month end: Saturday 28 February to Monday 2 March
    assert not EOFFICE.stale(local(28, 17, 20, month=2), local(2, 7, 5), HCM)


def test_silent_during_office_hours_is_stale_and_ends_at_closing() -> None:
    last = local(4, 9, 0)
    assert not EOFFICE.stale(last, local(4, 9, 15), HCM)
    assert EOFFICE.stale(last, local(4, 9, 16), HCM)
    assert EOFFICE.stale(last, local(4, 17, 29), HCM)
    assert not EOFFICE.stale(last, local(4, 17, 30), HCM)  # closed: no longer expected
    assert EOFFICE.stale(last, local(5, 7, 0), HCM)  # the next morning it still has said nothing


def test_never_heard_from_is_stale_only_while_expected() -> None:
    assert EOFFICE.stale(None, local(4, 10), HCM)
    assert not EOFFICE.stale(None, local(4, 22), HCM)
    assert HEARTBEATS.stale(None, local(8, 3), HCM)


def test_heartbeats_are_expected_around_the_clock_every_10_s() -> None:
    last = local(8, 3, 0, 0)  # Sunday night
    assert not HEARTBEATS.stale(last, last + timedelta(seconds=10), HCM)
    assert HEARTBEATS.stale(last, last + timedelta(seconds=11), HCM)
    assert not HEARTBEATS.stale(last + timedelta(seconds=5), last, HCM)  # an event ahead of the clock


def test_a_source_silent_for_years_is_answered_at_once() -> None:
    last = datetime(1, 1, 2, tzinfo=UTC)
    assert EOFFICE.stale(last, local(4, 10), HCM)
    assert HEARTBEATS.stale(last, local(4, 10), HCM)


def test_instants_compare_in_utc_whatever_zone_they_carry() -> None:
    last = local(4, 9, 0).astimezone(UTC)  # 02:00 UTC
    assert not EOFFICE.stale(last, local(4, 9, 15).astimezone(ZoneInfo("Europe/Paris")), HCM)
    assert EOFFICE.stale(last, local(4, 9, 16).astimezone(ZoneInfo("America/New_York")), HCM)


def test_hours_in_a_zone_with_daylight_saving_follow_the_local_clock() -> None:
    paris = ZoneInfo("Europe/Paris")  # clocks go forward at 02:00 on Sunday 29 March 2026
    night = parse_expectation("1h 01:00-04:00", office=OFFICE)
    last = datetime(2026, 3, 29, 1, 0, tzinfo=paris)
    # 01:00-02:00 and 03:00-04:00 local are the same 2 hours of real time: 03:00 CEST is 1 h later
    assert night.hours.active_between(
        last, datetime(2026, 3, 29, 4, 0, tzinfo=paris), paris, enough=timedelta(days=1)
    ) == timedelta(hours=2)
    assert not night.stale(last, datetime(2026, 3, 29, 3, 0, tzinfo=paris), paris)
    assert night.stale(last, datetime(2026, 3, 29, 3, 1, tzinfo=paris), paris)


@pytest.mark.parametrize(
    ("text", "days", "start", "end"),
    [
        ("always", range(7), 0, 1440),
        ("monday:friday", range(5), 0, 1440),
        ("08:00-24:00", range(7), 480, 1440),
        ("saturday:monday 05:00-18:00", (5, 6, 0), 300, 1080),
        ("Monday,Wednesday 07:30-11:30", (0, 2), 450, 690),
    ],
)
def test_hours_are_written_as_operators_write_alert_intervals(
    text: str, days: tuple[int, ...], start: int, end: int
) -> None:
    assert parse_hours(text) == ActiveHours(frozenset(days), start, end)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("mon:fri", "weekday"),
        ("monday:friday 17:00-07:00", "end must come after"),
        ("07:00-25:00", "HH:MM"),
        ("7:00-17:00", "HH:MM"),
        ("monday friday 07:00-17:00", "write 'always'"),
        ("office", "IOC_OFFICE_HOURS"),
    ],
)
def test_bad_hours_are_refused_saying_why(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_hours(text)


def test_durations() -> None:
    assert parse_duration("10s") == timedelta(seconds=10)
    assert parse_duration("1.5h") == timedelta(minutes=90)
    assert parse_duration("1d") == timedelta(days=1)
    for bad in ("10", "0s", "-5m", "5 min"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


def test_sources_declare_and_operators_override() -> None:
    fresh = freshness_from(
        {"ioc.vc.telemetry": "10s always", "ioc.eoffice.documents": "15m office", "ioc.new": None},
        overrides={"ioc.eoffice.documents": "1h monday:friday 08:00-17:00"},
        office_hours=DEFAULT_OFFICE_HOURS,
        timezone="Asia/Ho_Chi_Minh",
    )
    old_rule = timedelta(seconds=300)  # IOC_STALE_AFTER_S, for a topic that declares nothing
    assert fresh.of("ioc.vc.telemetry", old_rule) == HEARTBEATS
    assert fresh.of("ioc.eoffice.documents", old_rule).every == timedelta(hours=1)
    assert not fresh.active("ioc.eoffice.documents", local(7, 10), fallback=old_rule)  # Saturday
    assert fresh.of("ioc.new", old_rule) == parse_expectation("300s always", office=OFFICE)
    assert fresh.of("ioc.new", old_rule).hours == ALWAYS
    assert fresh.stale("ioc.new", local(4, 3), local(4, 3, 5, 1), fallback=old_rule)
    assert not fresh.stale("ioc.new", local(4, 3), local(4, 3, 5), fallback=old_rule)


def test_office_hours_setting_moves_every_office_source() -> None:
    fresh = freshness_from(
        {"ioc.portal.applications": "15m office"},
        overrides={},
        office_hours="monday:friday 07:30-17:00",
        timezone="Asia/Ho_Chi_Minh",
    )
    hour = timedelta(hours=1)
    assert not fresh.active("ioc.portal.applications", local(7, 10), fallback=hour)  # Saturday
    assert not fresh.active("ioc.portal.applications", local(4, 7, 15), fallback=hour)
    assert fresh.active("ioc.portal.applications", local(4, 7, 30), fallback=hour)


def test_an_override_for_an_unknown_topic_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown topics"):
        freshness_from(
            {"ioc.vc.telemetry": "10s always"},
            overrides={"ioc.vc.telemtry": "30s always"},
            office_hours=DEFAULT_OFFICE_HOURS,
            timezone="Asia/Ho_Chi_Minh",
        )


def test_settings_take_json_or_nothing_and_refuse_mistakes_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_SOURCE_FRESHNESS", "")
    assert KpiSettings().freshness_overrides == {}
    monkeypatch.setenv("IOC_SOURCE_FRESHNESS", '{"ioc.vc.meetings": "1d office"}')
    ctx = context_from(KpiSettings(), SOURCES)
    assert ctx.freshness.of("ioc.vc.meetings", timedelta(seconds=300)).every == timedelta(days=1)
    assert ctx.freshness.of("ioc.vc.telemetry", timedelta(seconds=300)) == HEARTBEATS  # as declared
    for bad, says in (
        ("[1]", "JSON object"),
        ("{", "not JSON"),
        ('{"ioc.vc.meetings": "5 parsecs"}', "duration"),
    ):
        monkeypatch.setenv("IOC_SOURCE_FRESHNESS", bad)
        with pytest.raises(ValidationError, match=says):
            KpiSettings()
    monkeypatch.setenv("IOC_SOURCE_FRESHNESS", '{"ioc.vc.meeting": "1h office"}')  # a typo'd topic
    with pytest.raises(ValueError, match="unknown topics"):
        context_from(KpiSettings(), SOURCES)
    monkeypatch.delenv("IOC_SOURCE_FRESHNESS")
    monkeypatch.setenv("IOC_OFFICE_HOURS", "monday:saturday 07:00-25:00")
    with pytest.raises(ValidationError, match="HH:MM"):
        KpiSettings()
