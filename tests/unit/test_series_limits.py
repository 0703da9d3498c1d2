"""A series request is refused for too many points without counting its steps one by one: the
bound the route checks first never exceeds the exact count, so nothing allowed is refused by
it, and it takes no time for a range of millennia (the exact count took minutes there)."""

from __future__ import annotations

import time as clock
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from api.routes.series import points_at_least
from ioc.kpi.windows import step_starts
from schemas.kpis import STEPS

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PARIS = ZoneInfo("Europe/Paris")  # days of 23 and 25 hours


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    minutes=st.integers(0, 60 * 24 * 30),
    step=st.sampled_from(list(STEPS)),
    tz=st.sampled_from([TZ, PARIS]),
)
def test_the_bound_never_exceeds_the_exact_count(
    start: datetime, minutes: int, step: str, tz: ZoneInfo
) -> None:
    end = start + timedelta(minutes=minutes)
    exact = len(step_starts(start, end, step, tz))
    bound = points_at_least(start, end, step)
    assert bound <= exact
    if step != "1d":  # and close: at most the two steps cut at the ends
        assert exact <= bound + 2


def test_millennia_are_bounded_at_once() -> None:
    start, end = datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)
    t0 = clock.perf_counter()
    for step in STEPS:
        assert points_at_least(start, end, step) > 10_000
    assert clock.perf_counter() - t0 < 0.01
