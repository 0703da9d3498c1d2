"""Hostile input: arbitrary record bytes, valid-but-nasty events, oversized records and requests,
and the API's whole OpenAPI surface under schemathesis.

A bad record must never stop the pipeline: every record is accepted, a duplicate, or
dead-lettered with one of the contract's reasons, and the counts add up. A bad request must
never get a 500: it gets a 4xx that says what was wrong.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from cli.runtime.broker import EmbeddedBroker
from schemas.decode import Reason
from schemas.topics import DEADLETTER, MAX_VALUE_BYTES
from sources import SOURCE_TOPIC_NAMES
from streams import sink
from streams.admit import PartitionState, admit
from tests.chaos import Api, Worker, as_record, event_stream, produce, scrape, store_events, total, wait_for
from tests.factories import EVENT_TYPES, Rec, encode, key_of, topic_of, valid_event, valid_events
from tests.services import base_env

NOW = datetime(2026, 3, 3, 3, 17, 42, tzinfo=UTC)
GRACE = timedelta(hours=2)
OUTCOMES = {"accepted", "duplicate"} | {str(r) for r in Reason}
DEADLETTER_FIELDS = {"topic", "partition", "offset", "key", "value_b64", "reason", "detail", "rejected_at"}


# -- strategies: from random bytes to nearly valid events -------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
_nasty_values = _json | st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00Z",
        "\ud7ff\ue000\U0010ffff",
        "-1",
        1e308,
        -0.0,
        2**63,
        2**64,
        -(2**63) - 1,
        "",
        " " * 70,
    ]
)


def _dumps(obj: Any, *, ascii_only: bool) -> bytes:
    """JSON as any source might write it: escaped or raw UTF-8, big integers, Infinity."""
    return json.dumps(obj, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@st.composite
def broken_events(draw: st.DrawFn) -> tuple[str, bytes | None, bytes]:
    """A valid event of the last hours with one field replaced, dropped or added, then maybe cut
    or bit-flipped; mostly on its own topic, so that it gets past the envelope checks."""
    event = draw(valid_events())
    event["occurred_at"] = (NOW - timedelta(minutes=draw(st.integers(-10, 400)))).isoformat()
    topic = topic_of(event["type"]) if draw(st.integers(0, 9)) else draw(st.sampled_from(SOURCE_TOPIC_NAMES))
    key: bytes | None = key_of(event)
    field = draw(st.sampled_from(sorted(event)))
    action = draw(st.sampled_from(["replace", "replace", "drop", "add", "keep"]))
    if action == "replace":
        event[field] = draw(_nasty_values)
    elif action == "drop":
        del event[field]
    elif action == "add":
        event[draw(st.text(max_size=10))] = draw(_nasty_values)
    value = _dumps(event, ascii_only=draw(st.booleans()))
    if draw(st.integers(0, 9)) == 0 and value:
        cut = draw(st.integers(0, len(value) - 1))
        value = value[:cut]
    if draw(st.integers(0, 9)) == 0 and value:
        i = draw(st.integers(0, len(value) - 1))
        value = value[:i] + bytes([value[i] ^ (1 << draw(st.integers(0, 7)))]) + value[i + 1 :]
    if draw(st.integers(0, 5)) == 0:
        key = draw(st.none() | st.binary(max_size=20))
    return topic, key, value


def _oversized(n: int) -> tuple[bytes, bytes]:
    event = valid_event("vc.heartbeat", occurred_at=NOW, padding="x" * n)
    return key_of(event), encode(event)


@st.composite
def records(draw: st.DrawFn) -> tuple[str, bytes | None, bytes | None]:
    topic = draw(st.sampled_from(SOURCE_TOPIC_NAMES))
    kind = draw(
        st.sampled_from(["bytes", "json", "broken", "broken", "broken", "valid", "oversized", "none"])
    )
    key: bytes | None
    value: bytes | None
    if kind == "bytes":
        key, value = draw(st.none() | st.binary(max_size=16)), draw(st.binary(max_size=300))
    elif kind == "json":
        key, value = b"k", _dumps(draw(_json), ascii_only=draw(st.booleans()))
    elif kind == "broken":
        topic, key, value = draw(broken_events())
    elif kind == "valid":
        event = valid_event(draw(st.sampled_from(EVENT_TYPES)), occurred_at=NOW - timedelta(minutes=5))
        topic, key, value = topic_of(event["type"]), key_of(event), encode(event)
    elif kind == "oversized":
        key, value = _oversized(draw(st.integers(MAX_VALUE_BYTES - 100, MAX_VALUE_BYTES + 2000)))
    else:  # a tombstone
        key, value = draw(st.none() | st.just(b"k")), None
    return topic, key, value


def _as_records(drawn: list[tuple[str, bytes | None, bytes | None]]) -> list[Rec]:
    offsets: dict[str, int] = {}
    out = []
    for topic, key, value in drawn:
        offsets[topic] = offsets.get(topic, -1) + 1
        out.append(Rec(topic, 0, offsets[topic], key, value))
    return out


FUZZ_EXAMPLES = 1000


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(drawn=st.lists(records(), min_size=1, max_size=25), dup=st.booleans())
def test_admission_sorts_every_record_and_never_raises(
    drawn: list[tuple[str, bytes | None, bytes | None]], dup: bool
) -> None:
    if dup:
        drawn = drawn + drawn[: len(drawn) // 2]  # a source re-sends: same bytes again
    recs = _as_records(drawn)
    states = {(t, 0): PartitionState(t, 0) for t in SOURCE_TOPIC_NAMES}
    result = admit(recs, states, now=NOW, grace=GRACE, future_tolerance=timedelta(minutes=5))

    assert result.size == len(recs)
    assert {outcome for _, outcome in result.outcomes} <= OUTCOMES
    rejected = sum(n for (_, o), n in result.outcomes.items() if o not in ("accepted", "duplicate"))
    accepted = sum(n for (_, o), n in result.outcomes.items() if o == "accepted")
    assert len(result.deadletters) == rejected
    assert sum(len(fps) for fps in result.fingerprints.values()) == accepted
    by_offset = {(r.topic, r.offset): r for r in recs}
    for key, raw in result.deadletters:
        letter = orjson.loads(raw)
        assert set(letter) == DEADLETTER_FIELDS
        original = by_offset[(letter["topic"], letter["offset"])]
        assert key == original.key
        assert base64.b64decode(letter["value_b64"]) == (original.value or b"")
        assert letter["reason"] in OUTCOMES - {"accepted", "duplicate"}
        if original.value is not None and len(original.value) > MAX_VALUE_BYTES:
            assert letter["reason"] == "oversized"
    for (topic, _), state in states.items():
        mine = [r.offset for r in recs if r.topic == topic]
        assert state.next_offset == (max(mine) + 1 if mine else 0)


# -- valid but nasty events through the real sink -------------------------------------------------


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(database_url)
    yield c
    await c.close()


@st.composite
def nasty_valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """Contract-valid events with any strings (NULs included), any offsets, bounds, extreme dates."""
    event = draw(valid_events())
    event["occurred_at"] = (NOW - timedelta(seconds=draw(st.integers(0, 3600)))).isoformat()
    if event.get("members", 0) > MAX_STORED_MEMBERS:  # the column's range
        event["members"] = draw(st.integers(1, MAX_STORED_MEMBERS))
    for name in ("due_at", "received_at", "submitted_at"):
        if name in event and draw(st.integers(0, 4)) == 0:
            event[name] = draw(
                st.sampled_from(
                    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00Z"]
                )
            )
    return event


@pytest.mark.integration
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(nasty_valid_events(), min_size=1, max_size=20))
async def test_what_admission_accepts_the_database_can_store(
    conn: asyncpg.Connection, events: list[dict[str, Any]]
) -> None:
    """An accepted event that the database refuses would stall its partition for ever (each retry
    fails the same way), so admission must dead-letter what cannot be stored."""
    recs = []
    for i, e in enumerate(events):
        topic, key, value = as_record(e)
        recs.append(Rec(topic, 0, i, key, value))
    states = {(t, 0): PartitionState(t, 0) for t in SOURCE_TOPIC_NAMES}
    result = admit(recs, states, now=NOW, grace=GRACE, future_tolerance=timedelta(minutes=5))
    assert result.size == len(recs)
    tx = conn.transaction()
    await tx.start()
    try:
        await sink.store_batch(conn, group="fuzz", result=result, arrival_minute=NOW, hour=0)
    finally:
        await tx.rollback()


MAX_STORED_MEMBERS = 2**63 - 1
"""What `community_teams.members` (a PostgreSQL bigint) holds, and the contract models allow."""


@pytest.mark.integration
async def test_a_team_of_2_31_members_is_stored(conn: asyncpg.Connection) -> None:
    event = valid_event("team.registered", occurred_at=NOW - timedelta(minutes=1), members=2**31)
    topic, key, value = as_record(event)
    states = {(t, 0): PartitionState(t, 0) for t in SOURCE_TOPIC_NAMES}
    result = admit(
        [Rec(topic, 0, 0, key, value)], states, now=NOW, grace=GRACE, future_tolerance=timedelta(minutes=5)
    )
    tx = conn.transaction()
    await tx.start()
    try:
        await sink.store_batch(conn, group="fuzz", result=result, arrival_minute=NOW, hour=0)
    finally:
        await tx.rollback()


# -- through the real worker ------------------------------------------------------------------------


async def read_deadletters(bootstrap: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(DEADLETTER) or set()
        for _ in range(50):
            if partitions:
                break
            await asyncio.sleep(0.2)
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(DEADLETTER) or set()
        tps = [TopicPartition(DEADLETTER, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(out) < count and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            out.extend(orjson.loads(r.value) for rs in batch.values() for r in rs)
        return out
    finally:
        await consumer.stop()


@pytest.mark.integration
async def test_worker_dead_letters_oversized_and_garbage_and_keeps_counting(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    good = event_stream(random.Random(2), now, scenarios=3)
    big_key, big = _oversized(MAX_VALUE_BYTES + 5000)
    rng = random.Random(9)
    garbage: list[tuple[str, bytes | None, bytes]] = [
        (
            rng.choice(SOURCE_TOPIC_NAMES),
            rng.randbytes(rng.randint(0, 8)) or None,
            rng.randbytes(rng.randint(1, 400)),
        )
        for _ in range(40)
    ]
    nul = valid_event("vc.heartbeat", occurred_at=now, endpoint_id="TQ-\x00-1")
    ancient_due = valid_event("document.received", occurred_at=now, due_at="0001-01-01T00:00:00+14:00")
    new_topics = bad_market_and_community_records(now)
    hostile = [
        ("ioc.vc.telemetry", big_key, big),
        *garbage,
        as_record(nul),
        as_record(ancient_due),
        *((topic, key, value) for topic, key, value, _ in new_topics),
    ]
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url)
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        await worker.wait_owning()
        records = (
            [as_record(e) for e in good[: len(good) // 2]]
            + hostile
            + [as_record(e) for e in good[len(good) // 2 :]]
        )
        await produce(broker.bootstrap_servers, records)

        async def all_consumed() -> bool:
            return total(await scrape(worker.metrics_url), "ioc_events_consumed_total") == len(records)

        await wait_for(all_consumed, timeout=60, what="every record consumed")
        samples = await scrape(worker.metrics_url)
        distinct = len({e["event_id"] for e in good})
        assert total(samples, "ioc_events_accepted_total") == distinct
        assert total(samples, "ioc_events_duplicate_total") == len(good) - distinct
        assert total(samples, "ioc_events_rejected_total") == len(hostile)
        assert (
            samples[("ioc_events_rejected_total", (("reason", "oversized"), ("topic", "ioc.vc.telemetry")))]
            == 1
        )
        for (topic, reason), n in Counter((t, r) for t, _, _, r in new_topics).items():
            labels = (("reason", reason), ("topic", topic))
            assert samples.get(("ioc_events_rejected_total", labels), 0) >= n, (topic, reason)
        assert worker.alive
    finally:
        worker.stop()
    letters = await read_deadletters(broker.bootstrap_servers, len(hostile))
    assert len(letters) == len(hostile)
    oversized = [d for d in letters if d["reason"] == "oversized"]
    assert len(oversized) == 1 and base64.b64decode(oversized[0]["value_b64"]) == big
    assert sorted(
        d["reason"] for d in letters if d["key"] in ("TQ-\x00-1", key_of(ancient_due).decode())
    ) == [
        "out_of_range",
        "out_of_range",
    ]
    # each bad market and community record, with its reason and its original bytes
    letter_of = {(d["topic"], base64.b64decode(d["value_b64"])): d for d in letters}
    for topic, key, value, reason in new_topics:
        letter = letter_of[(topic, value)]
        assert (letter["reason"], letter["key"]) == (reason, key.decode()), letter
        assert letter["detail"], letter


def bad_market_and_community_records(now: datetime) -> list[tuple[str, bytes, bytes, str]]:
    """One bad record per reason on the market and community topics: (topic, key, value, reason)."""
    market, community = topic_of("payment.completed"), topic_of("activity.reported")

    def bad(
        type_name: str, reason: str, *, drop: str = "", topic: str = "", **overrides: Any
    ) -> tuple[str, bytes, bytes, str]:
        event = valid_event(type_name, occurred_at=now, **overrides)
        event.pop(drop, None)
        return topic or topic_of(type_name), key_of(event, type_name), encode(event), reason

    return [
        bad("merchant.onboarded", "out_of_range", provider="cash"),
        bad("payment.completed", "out_of_range", amount_vnd=-5),
        bad("payment.completed", "missing_field", drop="amount_vnd"),
        bad("payment.completed", "wrong_type", amount_vnd="85000"),
        bad("merchant.offboarded", "unknown_version", schema_version=2),
        bad("team.registered", "unknown_type", topic=market),  # a community event on the market topic
        bad("team.registered", "wrong_type", members="3"),
        bad("team.members_changed", "out_of_range", members=0),
        bad("activity.reported", "missing_field", drop="kind"),
        bad("activity.reported", "out_of_range", kind="party"),
        bad("payment.completed", "unknown_type", topic=community),
        bad("team.registered", "unknown_version", schema_version=0),
        (
            market,
            b"MK-SOMEONE-ELSE",
            encode(valid_event("payment.completed", occurred_at=now)),
            "key_mismatch",
        ),
        (
            community,
            b"CT-SOMEONE-ELSE",
            encode(valid_event("activity.reported", occurred_at=now)),
            "key_mismatch",
        ),
    ]


# -- the API: schemathesis over its OpenAPI document, and oversized requests ----------------------------


TOKEN = "fuzz-token-0123456789abcdef"  # noqa: S105 - made up for this test


@contextlib.asynccontextmanager
async def api_over_data(
    broker: EmbeddedBroker, database_url: str, log: Path, **extra: str
) -> AsyncIterator[Api]:
    """A running `ioc api` on loopback over a database holding a few hundred events."""
    now = datetime.now(UTC)
    await store_events(database_url, event_stream(random.Random(4), now, scenarios=6), now)
    api = Api(base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=database_url, **extra), log).start()
    try:
        await api.wait_up()
        yield api
    finally:
        api.stop()
    assert "Traceback" not in api.log(), api.log()[-3000:]


SCHEMATHESIS_EXAMPLES = 50
OWN_OPERATION_EXAMPLES = 3
"""Each KPI's own operation (`/api/v1/kpis/<name>`, `/api/v1/series/<name>`, some 80) is the
generic route with an exact `by` enum: a few examples each cover what it adds."""
MAX_POINTS = 10_000
STEP_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 24 * 60}


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def points_at_most(query: dict[str, Any], values: dict[str, int]) -> float:
    """An upper bound of the points a series request asks for, reckoned here from its query
    alone: steps in [from, to] (a day's step is 24 hours but for a change of offset, +2) times
    the values of its `by` (the registry's, from /api/v1/dimensions, and some seen besides)."""
    end = _time(query.get("to")) or datetime.now(UTC)
    start = _time(query.get("from")) or end - timedelta(hours=24)
    steps = (end - start) / timedelta(minutes=STEP_MINUTES[query.get("step", "1m")]) + 2
    by = query.get("by")
    return steps * (1 if by is None else 1.1 * values.get(by, 0) + 10)  # values seen besides


def breaks_the_rule_it_names(case: Any, body: dict[str, Any], values: dict[str, int]) -> bool:
    """Whether a 400 to a schema-valid request is one the schema announces: its `error` is an
    example of the operation's documented 400 (a rule across parameters, which JSON Schema
    cannot state) and the request does break that rule, by this test's own reckoning."""
    documented = case.operation.definition.raw["responses"].get("400", {})
    examples = documented.get("content", {}).get("application/json", {}).get("examples", {})
    query = case.query or {}
    error = body.get("error")
    if error not in examples:
        return False
    if error == "from_after_to":
        start, end = _time(query.get("from")), _time(query.get("to"))
        return start is not None and start > (end or datetime.now(UTC) - timedelta(minutes=1))
    if error == "too_many_points":
        return points_at_most(query, values) > MAX_POINTS
    if error == "bad_place":
        return ("dimension" in query) != ("code" in query)
    return False


def _matches_no_label(matcher: dict[str, Any]) -> bool:
    """Whether a silence's matcher (Alertmanager's shape) matches an alert without its label."""
    value = matcher["value"]
    hit = re.fullmatch(value, "") is not None if matcher.get("isRegex") else value == ""
    return hit == matcher.get("isEqual", True)


def breaks_a_silence_rule(case: Any, response: Any) -> bool:
    """Whether POST /api/v1/silences refused a schema-valid body for a reason its schema
    announces, and the body does break it by this test's own reckoning: a 400 whose words are
    one of the documented examples' (rules across fields and the clock), or a 422 for a regex
    matcher that does not compile (stated on `isRegex`)."""
    body, got = case.body, response.json()
    if response.status_code == 422:
        return "does not compile" in got.get("detail", "") and any(
            m.get("isRegex") and not _compiles(m["value"]) for m in body["matchers"]
        )
    documented = case.operation.definition.raw["responses"].get("400", {})
    examples = documented.get("content", {}).get("application/json", {}).get("examples", {})
    said = (got.get("error"), got.get("detail"))
    rule = next((k for k, e in examples.items() if (e["value"]["error"], e["value"]["detail"]) == said), None)
    start, end = datetime.fromisoformat(body["startsAt"]), datetime.fromisoformat(body["endsAt"])
    broken = {
        "out_of_range": not _in_utc_calendar(start) or not _in_utc_calendar(end),
        "ends_before_start": end <= start,
        "too_long": end - start >= timedelta(days=367),
        "ends_in_the_past": end <= datetime.now(UTC),
        "matches_everything": all(_matches_no_label(m) for m in body["matchers"]),
    }
    return response.status_code == 400 and broken.get(rule or "", False)


def _in_utc_calendar(at: datetime) -> bool:
    try:
        at.astimezone(UTC)
    except OverflowError:
        return False
    return True


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def run_schemathesis(base: str, headers: dict[str, str]) -> int:
    """For every operation of `/openapi.json`, valid and invalid requests (bounded examples of
    each) under every check schemathesis has; returns how many were sent, fails with every
    operation's problems.

    `positive_data_acceptance` (a schema-valid request is answered) runs as it is, with one
    allowance: a 400 for a rule across parameters that the operation's documented 400 names
    (`from` after `to`, more than 10,000 points, half a place), where the request does break
    it; for POST /api/v1/silences, a 400 naming a documented rule across its fields (`endsAt`
    not after `startsAt` or past, over 366 days, matchers matching every alert) or a 422 for a
    regex that does not compile, where the body does break it. Any other refusal of valid data
    fails, and a series answered has at most 10,000 points."""
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.core.result import Ok
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    listed = httpx.get(f"{base}/api/v1/dimensions", headers=headers, timeout=30).json()["dimensions"]
    values = {d["name"]: d["values"] for d in listed}

    def accepted_unless_a_documented_rule(ctx: Any, response: Any, case: Any) -> None:
        if case.operation.path.startswith("/api/v1/series/") and response.status_code == 200:
            got = response.json()
            points = len(got.get("points") or []) + sum(len(p) for p in (got.get("series") or {}).values())
            assert points <= MAX_POINTS, f"{points} points answered, more than the documented {MAX_POINTS}"
        try:
            positive_data_acceptance(ctx, response, case)
        except Exception:
            if case.operation.label == "POST /api/v1/silences":
                if breaks_a_silence_rule(case, response):
                    return
            elif response.status_code == 400 and breaks_the_rule_it_names(case, response.json(), values):
                return
            raise

    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    # Unknown query parameters are ignored, as HTTP APIs do; everything else invalid is a 4xx.
    schema.config.generation.update(allow_extra_parameters=False)
    # A query string over IOC_API_MAX_QUERY_BYTES is refused with 414 before any validation:
    # a rejection too (documented on every route), which schemathesis does not expect by default.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413", "414", "431"]
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the API's own schema is valid
        operation = result.ok()
        own = operation.definition.raw.get("operationId", "").startswith(("kpis_", "series_"))
        excluded = [positive_data_acceptance]
        additional = [accepted_unless_a_documented_rule]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=OWN_OPERATION_EXAMPLES if own else SCHEMATHESIS_EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
            def check(case: Any) -> None:
                nonlocal calls
                calls += 1
                # B023: check() runs within this iteration, with its own operation's checks
                case.call_and_validate(excluded_checks=excluded, additional_checks=additional, timeout=30)  # noqa: B023

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # no parameter to get wrong
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
    return calls


@pytest.mark.integration
@pytest.mark.parametrize("secured", [False, True], ids=["open", "with-tokens"])
async def test_api_answers_every_generated_request_by_its_schema(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path, secured: bool
) -> None:
    """schemathesis against a running API: no 500 anywhere, and every response, 4xx included,
    matches its documented schema; with tokens configured, a missing or wrong one gets 401."""
    extra = {"IOC_API_TOKENS": f"{TOKEN}:all"} if secured else {}
    headers = {"Authorization": f"Bearer {TOKEN}"} if secured else {}
    async with api_over_data(broker, database_url, tmp_path / "api.log", **extra) as api:
        calls = await asyncio.to_thread(run_schemathesis, api.base, headers)
    assert calls > 150


LARGEST_SERIES_S = 2.0
"""What the largest series the API allows may take on this 2-core machine under a test run's
load (measured 0.05-0.16 s each on a quiet one); a schemathesis request times out after 30 s."""


@pytest.mark.integration
async def test_the_largest_series_allowed_is_cheap_and_a_longer_one_is_refused_at_once(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    """A series costs the API little whatever a client asks: the largest it allows (10,000
    points: minutes over a week, days over 27 years, a breakdown's values times fewer steps) is
    answered within LARGEST_SERIES_S, and one over millennia, which a schema-valid `from` and
    `to` can ask for, is refused with the documented 400 within a second (its steps were once
    counted one by one: minutes to hours of the API's CPU for one request)."""
    async with (
        api_over_data(broker, database_url, tmp_path / "api.log") as api,
        httpx.AsyncClient(base_url=api.base, timeout=60) as client,
    ):
        listed = (await client.get("/api/v1/dimensions")).json()["dimensions"]
        values = {d["name"]: d["values"] for d in listed}
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)  # every step's start
        largest = [
            ("vc.heartbeats", "1m", timedelta(minutes=MAX_POINTS), None),
            ("portal.on_time_pct", "1d", timedelta(days=MAX_POINTS - 1), None),
            ("market.payments", "1h", timedelta(hours=MAX_POINTS // values["commune"]), "commune"),
        ]
        # a breakdown lists the registry's values and those seen besides: as many steps as fit
        one = {"from": (now - timedelta(minutes=1)).isoformat(), "to": now.isoformat(), "by": "endpoint"}
        endpoints = len((await client.get("/api/v1/series/vc.endpoints_online", params=one)).json()["series"])
        assert endpoints >= values["endpoint"]
        largest.append(("vc.endpoints_online", "1m", timedelta(minutes=MAX_POINTS // endpoints), "endpoint"))
        steps = MAX_POINTS // endpoints + 1  # one step more is refused, saying so
        over = {"from": (now - timedelta(minutes=steps)).isoformat(), "to": now.isoformat(), "by": "endpoint"}
        r = await client.get("/api/v1/series/vc.endpoints_online", params=over)
        assert (r.status_code, r.json().get("error")) == (400, "too_many_points"), (endpoints, steps)
        for name, step, span, by in largest:
            query = {"from": (now - span).isoformat(), "to": now.isoformat(), "step": step}
            query |= {"by": by} if by else {}
            t0 = time.monotonic()
            r = await client.get(f"/api/v1/series/{name}", params=query)
            took = time.monotonic() - t0
            assert r.status_code == 200, (name, r.text[:500])
            got = r.json()
            points = len(got.get("points") or []) + sum(map(len, (got.get("series") or {}).values()))
            print(f"series {name} step={step} by={by}: {points} points in {took:.2f} s")
            assert MAX_POINTS * 0.9 < points <= MAX_POINTS, (name, points)
            assert took < LARGEST_SERIES_S, (name, took)

        for step, by in (("1m", None), ("1d", None), ("1m", "endpoint")):
            query = {"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T00:00:00Z", "step": step}
            query |= {"by": by} if by else {}
            t0 = time.monotonic()
            r = await client.get("/api/v1/series/vc.endpoints_online", params=query)
            took = time.monotonic() - t0
            assert (r.status_code, r.json().get("error")) == (400, "too_many_points"), r.text[:500]
            assert took < 1, (step, by, took)


async def raw_http(base: str, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are (an HTTP client would refuse to build such requests); the status
    line's code and the body, or 0 when the server just closed the connection."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=15)  # refusals close the connection
    except ConnectionError:
        return 0, b""
    finally:
        writer.close()
    if not answer:
        return 0, b""
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.integration
async def test_oversized_requests_are_refused_cleanly(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    async with api_over_data(broker, database_url, tmp_path / "api.log") as api:
        base = api.base
        query = b"GET /api/v1/kpis?window=1h&x=" + b"y" * 10_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"
        status, body = await raw_http(base, query)
        assert status == 414 and orjson.loads(body)["error"] == "uri_too_long"
        huge = b"GET /api/v1/kpis?window=1h&x=" + b"y" * 1_000_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"
        status, body = await raw_http(base, huge)
        assert 400 <= status < 500 or status == 0, status  # the HTTP server's own line limit

        # 2 MB announced, the first 16 KiB sent: refused on the announcement, before any reading
        big_body = b"GET /api/v1/kpis HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n" + b"x" * 16384
        status, body = await raw_http(base, big_body)
        assert status == 413 and orjson.loads(body)["error"] == "too_large"

        header = b"GET /api/v1/kpis HTTP/1.1\r\nHost: t\r\nX-Filler: " + b"z" * 200_000 + b"\r\n\r\n"
        status, body = await raw_http(base, header)
        assert status == 431 and orjson.loads(body)["error"] == "headers_too_large"

        path = b"GET /api/v1/kpis/" + b"n" * 200_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"
        status, _ = await raw_http(base, path)
        assert 400 <= status < 500 or status == 0, status

        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            long_name = await client.get("/api/v1/kpis/" + "n" * 5000)
            assert long_name.status_code == 404
            assert (await client.get("/healthz")).status_code == 200  # still there for everybody else
