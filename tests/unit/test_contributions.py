"""What a batch's contributions are keyed by (ioc/contributions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from ioc.contributions import Effects, Pending, dims_of, minute_of
from ioc.db.writes import Writes
from ioc.kpi.sketch import bin_of
from streams.dimsets import DimensionSets
from streams.kpi_store import add_effects

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-3, minutes=-30))])


@given(st.datetimes(timezones=ZONES))
def test_a_time_falls_in_the_minute_that_holds_it(at: datetime) -> None:
    """Every KPI row is keyed by `minute_of`: the start of the minute, in the time's own zone;
    a time already on the minute is its own minute."""
    minute = minute_of(at)
    assert minute <= at < minute + timedelta(minutes=1)
    assert minute.second == minute.microsecond == 0 and minute.tzinfo is at.tzinfo
    assert minute_of(minute) == minute


def test_sketch_rows_go_to_the_statement_one_per_bin_none_empty() -> None:
    """Bins observed one by one, bins counted elsewhere and a held contribution moved to its
    real dimensions reach the statement as (minute, metric, dimension set, bin, count) rows;
    the bin left empty by the move writes no row."""
    at = datetime(2026, 3, 3, 7, 15, 42, tzinfo=UTC)
    here, there, unknown = dims_of(district="A"), dims_of(district="B"), dims_of(district="unknown")
    fx = Effects()
    fx.observe("m.rtt", at, here, 10.0)
    fx.observe("m.rtt", at + timedelta(seconds=5), here, 10.0)
    fx.observe("m.rtt", at, there, 250.0)
    fx.observe_bins("m.rtt", at + timedelta(minutes=1), here, {7: 2.0, 9: 1.0})
    fx.observe_bins("m.rtt", at + timedelta(minutes=1), here, {9: 3.0})
    held = Pending("app-1", minute_of(at), "m.wait", bin_of(3.0), 1.0, unknown)
    fx.hold(held)
    fx.move(held, there)
    sets = DimensionSets()
    sets.ids.update({here: 11, there: 12, unknown: 13})
    assert sets.missing(fx) == []
    writes = Writes()
    add_effects(writes, fx, sets)
    minutes, keys, bins, counts, metrics, set_ids = writes._args[:6]
    rows = {
        (minute, metrics[key - 1], set_ids[key - 1], bin_): count
        for minute, key, bin_, count in zip(minutes, keys, bins, counts, strict=True)
    }
    assert len(rows) == len(counts)  # a row once
    m = int(minute_of(at).timestamp()) // 60
    assert rows == {
        (m, "m.rtt", 11, bin_of(10.0)): 2.0,
        (m, "m.rtt", 12, bin_of(250.0)): 1.0,
        (m + 1, "m.rtt", 11, 7): 2.0,
        (m + 1, "m.rtt", 11, 9): 4.0,
        (m, "m.wait", 12, bin_of(3.0)): 1.0,
    }
