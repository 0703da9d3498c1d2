"""The `from`/`to` rule of ranged routes (api.errors.time_range), at its edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.errors import ApiError, time_range

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_defaults_are_the_last_24_hours() -> None:
    assert time_range(None, None, now=NOW) == (NOW - timedelta(hours=24), NOW)


def test_a_to_within_a_day_of_year_1_starts_at_the_beginning_instead_of_failing() -> None:
    # Found by schemathesis: `to=0001-01-01T04:11:04Z` overflowed into a 500.
    end = datetime(1, 1, 1, 4, 11, 4, tzinfo=UTC)
    assert time_range(None, end, now=NOW) == (datetime.min.replace(tzinfo=UTC), end)


def test_from_after_to_is_a_400_that_names_both() -> None:
    with pytest.raises(ApiError) as caught:
        time_range(NOW, NOW - timedelta(seconds=1), now=NOW)
    assert caught.value.status == 400 and caught.value.body.error == "from_after_to"
