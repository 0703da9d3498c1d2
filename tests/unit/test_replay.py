"""Choosing dead letters to replay, and reading them back exactly."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson

from cli.replay import DeadLetter, parse, plan, select


def letter(topic: str = "ioc.vc.telemetry", reason: str = "late", value: bytes = b"\xff{raw") -> bytes:
    return orjson.dumps(
        {
            "topic": topic,
            "partition": 0,
            "offset": 7,
            "key": "TQ-1",
            "value_b64": base64.b64encode(value).decode(),
            "reason": reason,
            "detail": "x",
            "rejected_at": "2026-01-01T00:00:00Z",
        }
    )


def test_parse_restores_the_original_bytes_and_key() -> None:
    dl = parse(letter(value=b"\x00\xfe not utf-8"))
    assert dl == DeadLetter(
        "ioc.vc.telemetry", b"TQ-1", b"\x00\xfe not utf-8", "late", "2026-01-01T00:00:00Z"
    )


def test_parse_ignores_what_is_not_a_dead_letter() -> None:
    assert parse(b"garbage") is None
    assert parse(b'{"topic": "x"}') is None


def test_select_filters_by_reason_and_topic() -> None:
    letters = [
        parse(letter(reason="late")),
        parse(letter(reason="future")),
        parse(letter(topic="ioc.portal.applications", reason="late")),
        parse(letter(topic="not.a.source", reason="late")),
    ]
    present = [dl for dl in letters if dl is not None]
    assert len(list(select(present, reasons=set(), topics=set()))) == 3  # never to a non-source topic
    assert [d.reason for d in select(present, reasons={"future"}, topics=set())] == ["future"]
    chosen = list(select(present, reasons={"late"}, topics={"ioc.portal.applications"}))
    assert [d.topic for d in chosen] == ["ioc.portal.applications"]


def at(rejected_at: str, offset: int = 7, value: bytes = b"\xff{raw", reason: str = "late") -> DeadLetter:
    body = orjson.loads(letter(value=value, reason=reason))
    dl = parse(orjson.dumps({**body, "rejected_at": rejected_at, "offset": offset}))
    assert dl is not None
    return dl


def test_parse_keeps_where_the_rejected_record_was() -> None:
    dl = parse(letter())
    assert dl is not None and (dl.topic, dl.partition, dl.offset) == ("ioc.vc.telemetry", 0, 7)
    assert parse(orjson.dumps({**orjson.loads(letter()), "offset": "7"})) is None


def test_select_filters_by_the_time_of_rejection_from_included_to_excluded() -> None:
    letters = [
        at("2026-12-05T00:59:59Z", 1),
        at("2026-12-05T08:00:00+07:00", 2),  # 01:00 UTC: the --from instant itself
        at("2026-12-05T01:30:00Z", 3),
        at("2026-12-05T02:00:00Z", 4),  # the --to instant: excluded
        at("yesterday", 5),  # no time to compare: not chosen when a range is asked
    ]
    since, until = datetime(2026, 12, 5, 1, tzinfo=UTC), datetime(2026, 12, 5, 2, tzinfo=UTC)
    chosen = select(letters, reasons=set(), topics=set(), since=since, until=until)
    assert [dl.offset for dl in chosen] == [2, 3]
    assert [dl.offset for dl in select(letters, reasons=set(), topics=set(), since=since)] == [2, 3, 4]
    assert len(list(select(letters, reasons=set(), topics=set()))) == 5


def test_plan_sends_each_dead_letter_once_and_none_replayed_before() -> None:
    first = at("2026-12-05T01:00:00Z", 1)
    copy = at("2026-12-05T01:00:05Z", 1)  # a second copy, from before dead letters were exactly once
    second, third = at("2026-12-05T01:00:00Z", 2), at("2026-12-05T01:00:00Z", 3)
    todo, skipped = plan([first, copy, second, third], {second.replay_key})
    assert [dl.offset for dl in todo] == [1, 3] and skipped == 1
    # the same position holding other bytes (a broker that lost its log) is another record
    other = at("2026-12-05T01:00:00Z", 2, value=b"other bytes")
    assert plan([other], {second.replay_key}) == ([other], 0)
