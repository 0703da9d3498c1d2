"""The contract's admission rules over a batch, data in, data out."""

from __future__ import annotations

import base64
from datetime import timedelta

import orjson

from streams.admit import BatchResult, PartitionState, admit
from streams.dedupe import fingerprint
from tests.factories import BASE_TIME, Rec, encode, key_of, topic_of, valid_event

NOW = BASE_TIME + timedelta(minutes=1)
GRACE = timedelta(hours=2)


def records(*events: dict[str, object] | bytes, topic: str = "ioc.vc.telemetry") -> list[Rec]:
    out = []
    for i, ev in enumerate(events):
        if isinstance(ev, bytes):
            out.append(Rec(topic, 0, i, b"k", ev))
        else:
            out.append(Rec(topic_of(str(ev["type"])), 0, i, key_of(ev), encode(ev)))
    return out


def run(recs: list[Rec], states: dict[tuple[str, int], PartitionState] | None = None):  # type: ignore[no-untyped-def]
    states = states if states is not None else {}
    for r in recs:
        states.setdefault((r.topic, r.partition), PartitionState(r.topic, r.partition))
    return admit(recs, states, now=NOW, grace=GRACE, future_tolerance=timedelta(minutes=5)), states


def accepted(result: BatchResult) -> list[int]:
    """The fingerprints of the accepted events, in order: heartbeats are summed, not kept."""
    return [fp for fps in result.fingerprints.values() for fp in fps]


def ids(*events: dict[str, object]) -> list[int]:
    return [fingerprint(str(e["event_id"])) for e in events]


def test_valid_events_are_accepted_and_offsets_advance() -> None:
    hb = [valid_event("vc.heartbeat") for _ in range(3)]
    result, states = run(records(*hb))
    assert accepted(result) == ids(*hb)
    assert result.events == [] and len(result.heartbeats.minutes) == 1
    assert result.outcomes == {("ioc.vc.telemetry", "accepted"): 3}
    assert states[("ioc.vc.telemetry", 0)].next_offset == 3
    assert states[("ioc.vc.telemetry", 0)].newest_event_at == BASE_TIME


def test_duplicate_changes_nothing_even_across_batches() -> None:
    ev = valid_event("vc.heartbeat")
    first, states = run(records(ev, ev))
    assert accepted(first) == ids(ev)
    assert first.outcomes[("ioc.vc.telemetry", "duplicate")] == 1
    again, _ = run(records(ev), states)
    assert accepted(again) == [] and again.outcomes[("ioc.vc.telemetry", "duplicate")] == 1


def test_bad_record_is_dead_lettered_with_everything_needed_to_replay() -> None:
    bad = b'{"not": "an event"'
    result, _ = run(records(bad))
    assert result.events == [] and accepted(result) == []
    ((key, value),) = result.deadletters
    dl = orjson.loads(value)
    assert dl["topic"] == "ioc.vc.telemetry" and dl["partition"] == 0 and dl["offset"] == 0
    assert dl["key"] == "k" and base64.b64decode(dl["value_b64"]) == bad
    assert dl["reason"] == "not_object" and dl["detail"]
    assert dl["rejected_at"].endswith("Z")
    assert key == b"k"


def test_late_is_judged_against_the_partitions_newest_event() -> None:
    new = valid_event("vc.heartbeat", occurred_at=BASE_TIME)
    old = valid_event("vc.heartbeat", occurred_at=BASE_TIME - GRACE - timedelta(seconds=1))
    edge = valid_event("vc.heartbeat", occurred_at=BASE_TIME - GRACE)
    result, _ = run(records(new, old, edge))
    assert result.outcomes[("ioc.vc.telemetry", "late")] == 1
    assert accepted(result) == ids(new, edge)
    assert orjson.loads(result.deadletters[0][1])["reason"] == "late"


def test_future_events_are_rejected_and_not_remembered() -> None:
    ev = valid_event("vc.heartbeat", occurred_at=NOW + timedelta(minutes=6))
    result, states = run(records(ev))
    assert result.outcomes[("ioc.vc.telemetry", "future")] == 1
    assert states[("ioc.vc.telemetry", 0)].newest_event_at is None
    assert len(states[("ioc.vc.telemetry", 0)].seen) == 0


def test_a_rejected_duplicate_is_still_judged_fresh_later() -> None:
    """Only accepted events enter the duplicate memory."""
    ev = valid_event("vc.heartbeat", occurred_at=NOW + timedelta(minutes=6))
    _, states = run(records(ev))
    later = admit(
        records(ev),
        states,
        now=NOW + timedelta(minutes=2),
        grace=GRACE,
        future_tolerance=timedelta(minutes=5),
    )
    assert accepted(later) == ids(ev)


def test_an_event_near_year_one_is_judged_without_overflow() -> None:
    """Found by fuzzing: `newest - grace` overflowed for an accepted event near 0001-01-01."""
    ancient = valid_event("vc.heartbeat")
    ancient["occurred_at"] = "0001-01-01T01:00:00Z"
    later = valid_event("vc.heartbeat", occurred_at=BASE_TIME)
    result, _ = run(records(ancient, later))
    assert result.size == 2  # judged, whatever the verdict; nothing raised


def test_a_result_keeps_the_positions_its_batch_reached_while_the_next_batch_moves_on() -> None:
    """The worker writes batch N while it judges N+1: N must store N's offsets, not N+1's."""
    first_events = [valid_event("vc.heartbeat", occurred_at=BASE_TIME) for _ in range(2)]
    first, states = run(records(*first_events))
    later = valid_event("vc.heartbeat", occurred_at=BASE_TIME + timedelta(seconds=30))
    second, _ = run([Rec("ioc.vc.telemetry", 0, 7, key_of(later), encode(later))], states)
    (position,) = first.positions
    assert (position.next_offset, position.newest_event_at) == (2, BASE_TIME)
    (moved,) = second.positions
    assert (moved.next_offset, moved.newest_event_at) == (8, BASE_TIME + timedelta(seconds=30))
    assert first.fingerprints[("ioc.vc.telemetry", 0)] != second.fingerprints[("ioc.vc.telemetry", 0)]


def test_a_duplicate_is_recognised_hours_later_and_within_its_own_batch() -> None:
    """Ids of earlier hours are held apart from the current hour's (streams/dedupe.py):
    a re-send an hour later is still a duplicate, alone or beside a new event in one batch."""
    original, fresh = valid_event("vc.heartbeat"), valid_event("vc.heartbeat")
    _, states = run(records(original))
    for hours in (1, 24):
        later = admit(
            records(fresh, original, fresh),
            states,
            now=NOW + timedelta(hours=hours),
            grace=GRACE + timedelta(hours=hours),
            future_tolerance=timedelta(minutes=5),
        )
        expected_new = ids(fresh) if hours == 1 else []
        assert accepted(later) == expected_new
        assert later.outcomes[("ioc.vc.telemetry", "duplicate")] == 3 - len(expected_new)
