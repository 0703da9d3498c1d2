"""Choosing dead letters to replay, and reading them back exactly."""

from __future__ import annotations

import base64

import orjson

from cli.replay import DeadLetter, parse, select


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
