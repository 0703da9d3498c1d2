"""What a batch's contributions are keyed by (ioc/contributions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from ioc.contributions import minute_of

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-3, minutes=-30))])


@given(st.datetimes(timezones=ZONES))
def test_a_time_falls_in_the_minute_that_holds_it(at: datetime) -> None:
    """Every KPI row is keyed by `minute_of`: the start of the minute, in the time's own zone;
    a time already on the minute is its own minute."""
    minute = minute_of(at)
    assert minute <= at < minute + timedelta(minutes=1)
    assert minute.second == minute.microsecond == 0 and minute.tzinfo is at.tzinfo
    assert minute_of(minute) == minute
