"""The dead-letter outbox's decisions, data in, data out: which dead letters a crash left unsent,
where to look for them in the topic, and what a batch stores to make that possible."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import orjson

from schemas.topics import DEADLETTER
from streams.admit import PartitionState, admit
from streams.dltopic import letter_id
from streams.outbox import Outbox, Pending, acked_ends, scan_start, unsent
from tests.factories import BASE_TIME, Rec, encode, key_of, valid_event

NOW = BASE_TIME + timedelta(minutes=1)
TELEMETRY = "ioc.vc.telemetry"


def letter(topic: str = TELEMETRY, partition: int = 0, offset: int = 0) -> bytes:
    return orjson.dumps({"topic": topic, "partition": partition, "offset": offset, "reason": "late"})


def pending(offset: int, scan_from: tuple[int, ...] = ()) -> Pending:
    return Pending((TELEMETRY, 0, offset), b"k", letter(offset=offset), scan_from)


def test_a_dead_letter_is_identified_by_the_record_it_copies() -> None:
    assert letter_id(letter(TELEMETRY, 3, 41)) == (TELEMETRY, 3, 41)
    assert letter_id(b"not json") is None
    assert letter_id(b'{"topic": "t", "partition": "0", "offset": 1}') is None  # not the contract's types
    assert letter_id(b"[1, 2]") is None


def test_only_the_dead_letters_not_found_in_the_topic_are_sent_again() -> None:
    rows = [pending(5), pending(6), pending(7)]
    found = [letter(offset=6), letter(TELEMETRY, 1, 5), b"garbage", letter("ioc.vc.meetings", 0, 7)]
    # same offset on another partition or topic is another record
    assert [p.id[2] for p in unsent(rows, found)] == [5, 7]
    assert unsent(rows, [letter(offset=o) for o in (5, 6, 7)]) == []


def test_the_topic_is_read_from_the_lowest_bound_and_from_the_start_where_one_is_unknown() -> None:
    rows = [pending(1, (10, 20, 30)), pending(2, (12, 15)), pending(3, (11, 25, 5, 9))]
    # partitions 2 and 3: row 2 knew no bound there, so they are read from their beginning
    assert scan_start(rows) == {0: 10, 1: 15}
    assert scan_start([pending(1)]) == {}
    assert scan_start([]) == {}


@dataclass
class Ack:
    partition: int
    offset: int


def test_acknowledged_ends_are_one_past_the_last_offset_per_partition() -> None:
    assert acked_ends([Ack(0, 4), Ack(2, 9), Ack(0, 7), Ack(0, 5)]) == {0: 8, 2: 10}


class FakeProducer:
    """Appends to in-memory partitions, one per key's first byte, and acknowledges at once."""

    def __init__(self, start: dict[int, int]) -> None:
        self.next = dict(start)
        self.sent: list[tuple[str, bytes | None, bytes]] = []

    async def send(self, topic: str, *, value: bytes, key: bytes | None) -> asyncio.Future[Ack]:
        partition = (key or b"\0")[0] % 2
        offset = self.next.get(partition, 0)
        self.next[partition] = offset + 1
        self.sent.append((topic, key, value))
        done: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        done.set_result(Ack(partition, offset))
        return done


async def test_bounds_come_from_acknowledgements_and_replace_stored_ones() -> None:
    producer = FakeProducer({0: 100, 1: 40})
    outbox = Outbox(producer, group="g")
    assert outbox.bounds() == []  # nothing known: a recovery reads every partition from its start
    outbox.learn({0: 90, 3: 7})  # what the group stored
    assert outbox.bounds() == [90, 0, 0, 7]
    ends = await outbox.send([(b"\x00a", b"v1"), (b"\x01b", b"v2"), (b"\x00c", b"v3")])
    assert ends == {0: 102, 1: 41}
    assert outbox.bounds() == [102, 41, 0, 7]
    assert [t for t, _, _ in producer.sent] == [DEADLETTER] * 3
    producer.next = {0: 0}  # a broker that lost its log: the new, smaller end is the true one
    await outbox.send([(b"\x00d", b"v4")])
    assert outbox.bounds()[0] == 1
    outbox.learn({0: 500})  # a stored end never overrides what this worker has seen acknowledged
    assert outbox.bounds()[0] == 1


def test_a_batch_carries_each_dead_letters_id_beside_its_record() -> None:
    good = valid_event("vc.heartbeat")
    recs = [
        Rec(TELEMETRY, 2, 40, b"k", b"[1]"),
        Rec(TELEMETRY, 2, 41, key_of(good), encode(good)),
        Rec(TELEMETRY, 2, 42, b"k", b"{"),
    ]
    states = {(TELEMETRY, 2): PartitionState(TELEMETRY, 2)}
    result = admit(recs, states, now=NOW, grace=timedelta(hours=2), future_tolerance=timedelta(minutes=5))
    assert result.deadletter_ids == [(TELEMETRY, 2, 40), (TELEMETRY, 2, 42)]
    assert [letter_id(value) for _, value in result.deadletters] == result.deadletter_ids
