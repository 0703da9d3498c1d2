"""The simulator tells a true, repeatable story: valid events, real rhythms, faults exactly as asked."""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from ioc.clock import FixedClock
from ioc.registry import load_registry
from schemas.decode import Rejection
from schemas.wire import Event
from simulator import (
    REASON_OF_KIND,
    ConfigError,
    FaultConfig,
    Record,
    Simulation,
    SimulatorConfig,
    Volumes,
    generate,
    plan,
    read_records,
    simulate_to,
    write_records,
)
from simulator import command as command_module
from simulator.records import FileFormatError
from sources import (
    COMMUNITY_ACTIVITIES,
    EOFFICE_DOCUMENTS,
    MARKET_PAYMENTS,
    PORTAL_APPLICATIONS,
    SOURCE_TOPICS,
    VC_MEETINGS,
    VC_TELEMETRY,
    decode,
)

ICT = timezone(timedelta(hours=7))
MONDAY = datetime(2024, 3, 11, tzinfo=ICT)  # 00:00 local; the weekly conference starts at 08:00
WEEK = Volumes(heartbeat_interval_s=3600)  # a week of everything, with few heartbeats, stays fast
GRACE = timedelta(hours=2)
MORNING_MIN = 40
LIFECYCLE = {
    t: i
    for types in (
        ("document.received", "document.processed"),
        ("application.submitted", "application.resolved", "application.paid", "application.rated"),
        ("vc.meeting.started", "vc.meeting.ended"),
    )
    for i, t in enumerate(types)
}


def run(**options: Any) -> list[Record]:
    """The records of a past, fixed-start run (seed 7 and Monday 00:00 unless told otherwise)."""
    options.setdefault("seed", 7)
    options.setdefault("start", MONDAY)
    return list(generate(SimulatorConfig(live=False, **options)))


def decoded(records: Iterable[Record]) -> list[Event]:
    events = []
    for r in records:
        event = decode(r.topic, r.key, r.value)
        assert not isinstance(event, Rejection), (event, r)
        events.append(event)
    return events


def local(event: Event) -> datetime:
    return event.occurred_at.astimezone(ICT)


@pytest.fixture(scope="module")
def week() -> list[Event]:
    """Monday to Sunday of the real province, clean."""
    return decoded(run(duration=timedelta(days=7), volumes=WEEK))


@pytest.fixture(scope="module")
def morning() -> list[Event]:
    """A Monday morning around the weekly conference, every heartbeat."""
    return decoded(
        run(start=MONDAY + timedelta(hours=7, minutes=50), duration=timedelta(minutes=MORNING_MIN))
    )


# --- repeatability ------------------------------------------------------------------------


def test_same_seed_and_start_give_the_same_bytes() -> None:
    config = SimulatorConfig(
        seed=11,
        start=MONDAY + timedelta(hours=8),
        duration=timedelta(minutes=20),
        live=False,
        faults=FaultConfig.parse("demo"),
    )
    first = list(generate(config))
    assert len(first) > 3000
    assert list(generate(config)) == first
    assert [r.value for r in generate(replace(config, seed=12))] != [r.value for r in first]


def test_a_later_run_with_the_same_seed_never_reuses_an_event_id() -> None:
    """Restarting the demo must not make the pipeline take new events for duplicates."""

    def ids(records: list[Record]) -> set[str]:
        return {orjson.loads(r.value)["event_id"] for r in records}

    earlier = run(seed=3, duration=timedelta(minutes=5))
    later = run(seed=3, start=MONDAY + timedelta(minutes=5), duration=timedelta(minutes=5))
    assert ids(earlier) and not ids(earlier) & ids(later)


# --- the contract -------------------------------------------------------------------------


def test_sources_stamp_times_with_the_provinces_offset() -> None:
    stamps = {orjson.loads(r.value)["occurred_at"][-6:] for r in run(duration=timedelta(hours=1))}
    assert stamps == {"+07:00"}


def test_a_clean_week_is_entirely_contract_valid_and_has_every_event_type(week: list[Event]) -> None:
    assert {e.type for e in week} == {t for topic in SOURCE_TOPICS for t in topic.types}
    assert all(MONDAY <= e.occurred_at < MONDAY + timedelta(days=7) for e in week)
    assert len({e.event_id for e in week}) == len(week)


def test_every_heartbeat_of_a_busy_morning_is_valid(morning: list[Event]) -> None:
    assert sum(e.type == "vc.heartbeat" for e in morning) > 0.9 * 167 * MORNING_MIN * 6


# --- faults -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reordered_week() -> list[Record]:
    """The same week with a tenth of every source's entities out of order."""
    return run(duration=timedelta(days=7), volumes=WEEK, faults=FaultConfig(out_of_order=0.1))


def test_faults_come_in_the_proportions_asked_and_leave_the_valid_stream_untouched(
    reordered_week: list[Record],
) -> None:
    asked = FaultConfig(malformed=0.04, duplicate=0.03, late=0.02, out_of_order=0.1)
    records = run(duration=timedelta(days=7), volumes=WEEK, faults=asked)

    reasons: Counter[str] = Counter()
    duplicates = late = 0
    seen: set[bytes] = set()
    newest: dict[bytes | None, datetime] = {}
    valid: list[Record] = []
    for r in records:
        event = decode(r.topic, r.key, r.value)
        if isinstance(event, Rejection):
            reasons[event.reason] += 1
        elif r.value in seen:
            duplicates += 1
        elif r.key in newest and newest[r.key] - event.occurred_at > GRACE:
            late += 1
        else:
            seen.add(r.value)
            newest[r.key] = max(newest.get(r.key, event.occurred_at), event.occurred_at)
            valid.append(r)

    total = len(records)
    assert sum(reasons.values()) / total == pytest.approx(0.04, rel=0.1)
    assert duplicates / total == pytest.approx(0.03, rel=0.1)
    assert late / total == pytest.approx(0.02, rel=0.1)
    # Every malformed kind shows, each rejected for the reason it was made for.
    assert set(reasons) == set(REASON_OF_KIND.values())
    assert min(reasons.values()) > 0.1 * sum(reasons.values())
    # Faults are added on top: the rest is exactly the same traffic, byte for byte.
    assert [r.value for r in valid] == [r.value for r in reordered_week]


def test_out_of_order_entities_come_in_the_share_asked_within_the_grace_period(
    reordered_week: list[Record],
) -> None:
    # the life-cycle topics (the market's and community's profiles make their own disorder:
    # tests/unit/test_simulator_sources.py)
    records = [r for r in reordered_week if r.topic in (EOFFICE_DOCUMENTS, PORTAL_APPLICATIONS, VC_MEETINGS)]
    per_topic: dict[str, Counter[str]] = defaultdict(Counter)
    progress: dict[bytes | None, tuple[int, datetime]] = {}
    for event, r in zip(decoded(records), records, strict=True):
        stage = LIFECYCLE[event.type]
        if r.key not in progress:
            per_topic[r.topic]["entities"] += 1
            progress[r.key] = (stage, event.occurred_at)
            continue
        before, newest = progress[r.key]
        if stage < before:
            per_topic[r.topic]["disordered"] += 1
            assert timedelta(0) < newest - event.occurred_at <= timedelta(hours=1) < GRACE
        progress[r.key] = (max(stage, before), max(newest, event.occurred_at))
    for topic in (EOFFICE_DOCUMENTS, PORTAL_APPLICATIONS):
        counts = per_topic[topic]
        assert counts["disordered"] / counts["entities"] == pytest.approx(0.1, rel=0.15), topic
    assert per_topic[VC_MEETINGS]["disordered"] > 0


def test_out_of_order_counts_the_engines_reorders_and_the_profiles_own() -> None:
    asked = SimulatorConfig(
        seed=7,
        start=MONDAY,
        duration=timedelta(hours=12),
        live=False,
        volumes=WEEK,
        faults=FaultConfig(out_of_order=0.1),
    )
    simulation = Simulation(asked, plan(asked, MONDAY))
    assert simulation.fault_counts["out_of_order"] == 0
    records = list(simulation)
    engine = sum(lifecycle.reordered for lifecycle in simulation.lifecycles)
    own = {p.outlet.topic: p.reordered for p in simulation.profiles if hasattr(p, "reordered")}
    assert set(own) == {MARKET_PAYMENTS, COMMUNITY_ACTIVITIES}
    assert engine > 0 and all(own.values())
    assert simulation.fault_counts == {"out_of_order": engine + sum(own.values())}
    assert len(records) > 1000


def test_a_planned_site_goes_dark_during_the_meeting_and_comes_back_after() -> None:
    records = run(
        start=MONDAY + timedelta(hours=7, minutes=55),
        duration=timedelta(hours=4),
        topics=(VC_TELEMETRY, VC_MEETINGS),
        volumes=Volumes(heartbeat_interval_s=60),
        faults=FaultConfig(dark_site=1.0),
    )
    events = [orjson.loads(r.value) for r in records]
    started = next(e for e in events if e["type"] == "vc.meeting.started" and e["organiser"] == "UBND_TINH")
    ended = next(
        e for e in events if e["type"] == "vc.meeting.ended" and e["meeting_id"] == started["meeting_id"]
    )
    dark = next(e for e in events if e.get("reason") == "site went dark during the meeting")
    assert dark["status"] == "offline" and dark["endpoint_id"] in started["planned_endpoints"]
    assert started["occurred_at"] < dark["occurred_at"] < ended["occurred_at"]
    site = [e for e in events if e.get("endpoint_id") == dark["endpoint_id"]]
    back = next(e for e in site if e["type"] == "vc.status" and e["occurred_at"] > dark["occurred_at"])
    assert back["status"] == "online" and back["occurred_at"] > ended["occurred_at"]
    silent = [e for e in site if dark["occurred_at"] < e["occurred_at"] < back["occurred_at"]]
    assert silent == []


def test_an_agency_falling_behind_misses_its_deadlines() -> None:
    slow = "SO_TN_MT"
    end = MONDAY + timedelta(days=7)
    records = run(
        duration=end - MONDAY,
        topics=(EOFFICE_DOCUMENTS,),
        faults=FaultConfig(slow_agencies=(slow,)),
    )
    due: dict[str, tuple[str, datetime]] = {}
    done: dict[str, datetime] = {}
    for e in decoded(records):
        if e.type == "document.received":
            due[e.document_id] = (e.agency, e.due_at)
        else:
            done[e.document_id] = e.occurred_at
    # What the wall shows at the end of the week: of the documents due by then, how many missed it.
    missed: dict[bool, list[bool]] = defaultdict(list)
    for document_id, (agency, due_at) in due.items():
        if due_at < end:
            missed[agency == slow].append(done.get(document_id, end) > due_at)
    slow_share = sum(missed[True]) / len(missed[True])
    others_share = sum(missed[False]) / len(missed[False])
    assert slow_share > 0.4 and others_share < 0.1


def test_fault_specs_read_as_documented() -> None:
    config = FaultConfig.parse(
        "demo,late=0.01,slow_agency=SO_TTTT+SO_Y_TE,malformed_kinds=bad_json+wrong_key"
    )
    assert config.late == 0.01 and config.duplicate == FaultConfig.parse("demo").duplicate
    assert config.slow_agencies == ("SO_TTTT", "SO_Y_TE")
    assert config.malformed_kinds == ("bad_json", "wrong_key")
    assert FaultConfig.parse("slow_agency=2,grace=30m,max_disorder=10m").slow_agency_count == 2
    for bad in ("bogus=1", "late=lots", "malformed=1.5", "malformed=0.3,duplicate=0.3", "max_disorder=3h"):
        with pytest.raises(ConfigError):
            FaultConfig.parse(bad)
    with pytest.raises(ConfigError, match="SO_NOWHERE"):
        run(duration=timedelta(minutes=1), faults=FaultConfig(slow_agencies=("SO_NOWHERE",)))


# --- rhythms --------------------------------------------------------------------------------


def _submitted(week: list[Event], weekday: int, hours: range, channel: str | None = None) -> int:
    return sum(
        1
        for e in week
        if e.type == "application.submitted"
        and local(e).weekday() == weekday
        and local(e).hour in hours
        and (channel is None or e.channel == channel)
    )


def test_applications_follow_office_hours(week: list[Event]) -> None:
    tuesday_nine = _submitted(week, 1, range(9, 10))
    sunday_ten_pm = _submitted(week, 6, range(22, 23))
    assert tuesday_nine > 8 * max(sunday_ten_pm, 1)
    # A morning peak, a lunch dip, an afternoon peak (two hours each side against one at lunch).
    lunch = _submitted(week, 1, range(12, 13))
    assert _submitted(week, 1, range(8, 10)) / 2 > 2 * lunch
    assert _submitted(week, 1, range(14, 16)) / 2 > 2 * lunch
    # Saturday: counters open in the morning only.
    assert _submitted(week, 5, range(8, 11), "counter") > 20
    assert _submitted(week, 5, range(14, 17), "counter") == 0
    assert _submitted(week, 5, range(8, 11)) > 1.5 * _submitted(week, 5, range(14, 17))


def test_documents_are_handled_in_office_hours_on_working_days(week: list[Event]) -> None:
    documents = [e for e in week if e.type.startswith("document.")]
    assert not [e for e in documents if local(e).weekday() == 6]
    for e in documents:
        if e.type == "document.processed":
            at = local(e)
            minute = at.hour * 60 + at.minute
            assert at.weekday() < 5 and (450 <= minute < 690 or 810 <= minute < 1020), at


def test_heartbeats_come_every_10_s_from_each_online_site(morning: list[Event]) -> None:
    beats: dict[str, list[datetime]] = defaultdict(list)
    went_offline = {e.endpoint_id for e in morning if e.type == "vc.status" and e.status == "offline"}
    for e in morning:
        if e.type == "vc.heartbeat":
            beats[e.endpoint_id].append(e.occurred_at)
    assert len(beats) == 167
    for endpoint, times in beats.items():
        if endpoint in went_offline:
            assert len(times) < MORNING_MIN * 6
        else:
            assert len(times) == MORNING_MIN * 6
            assert {b - a for a, b in itertools.pairwise(times)} == {timedelta(seconds=10)}
    per_second = sum(len(t) for t in beats.values()) / (MORNING_MIN * 60)
    assert 0.9 * 16.7 < per_second <= 16.7


def test_most_sites_join_the_weekly_conference(morning: list[Event]) -> None:
    registry = load_registry()
    head = next(s.agency for s in registry.sites if s.site_level == "province")
    conference = next(e for e in morning if e.type == "vc.meeting.started" and e.organiser == head)
    assert local(conference).strftime("%a %H:%M") == "Mon 08:00"
    planned = set(conference.planned_endpoints)
    assert len(planned) >= 0.9 * len(registry.sites)
    during = [
        e for e in morning if e.type == "vc.heartbeat" and e.endpoint_id in planned and local(e).hour == 8
    ]
    before = [e for e in morning if e.type == "vc.heartbeat" and local(e).hour == 7]
    assert sum(e.in_meeting for e in during) == len(during) > 0
    assert sum(e.in_meeting for e in before) <= 0.05 * len(before)
    rates = (statistics.median(e.bitrate_kbps for e in group) for group in (during, before))
    assert next(rates) > 10 * next(rates)


def test_links_are_worse_and_fail_more_in_the_mountains(week: list[Event]) -> None:
    rtt: dict[str, list[float]] = defaultdict(list)
    trouble: Counter[str] = Counter()
    for e in week:
        if e.type == "vc.heartbeat":
            rtt[e.district].append(e.rtt_ms)
        elif e.type == "vc.status" and e.status != "online":
            trouble[e.district] += 1
    sites = Counter(s.district for s in load_registry().sites)
    assert statistics.mean(rtt["LAM_BINH"]) > 3 * statistics.mean(rtt["TUYEN_QUANG"])

    def per_site(*districts: str) -> float:
        return sum(trouble[d] for d in districts) / sum(sites[d] for d in districts)

    assert per_site("LAM_BINH", "NA_HANG") > 3 * per_site("TUYEN_QUANG", "YEN_SON")


# --- life-cycles --------------------------------------------------------------------------


def test_documents_are_received_then_processed_mostly_on_time(week: list[Event]) -> None:
    received: dict[str, Any] = {}
    processed = []
    for e in week:
        if e.type == "document.received":
            received[e.document_id] = e
        elif e.type == "document.processed":
            first = received[e.document_id]  # never before its receipt in a clean run
            assert (e.received_at, e.due_at, e.agency) == (first.occurred_at, first.due_at, first.agency)
            processed.append(e)
    allowed: dict[str, list[float]] = defaultdict(list)
    for e in received.values():
        allowed[e.urgency].append((e.due_at - e.occurred_at).total_seconds() / 3600)
    assert max(allowed["express"]) <= 4 < min(allowed["urgent"])
    assert statistics.median(allowed["urgent"]) < statistics.median(allowed["normal"])
    on_time = sum(e.occurred_at <= e.due_at for e in processed) / len(processed)
    assert 0.85 < on_time < 0.995


def test_applications_are_submitted_resolved_paid_and_rated_in_order(week: list[Event]) -> None:
    stage: dict[str, int] = {}
    submitted: dict[str, Any] = {}
    outcome: dict[str, str] = {}
    methods: dict[str, Counter[str]] = defaultdict(Counter)
    resolved = []
    scores = []
    for e in week:
        if not e.type.startswith("application."):
            continue
        assert LIFECYCLE[e.type] > stage.get(e.application_id, -1), e
        stage[e.application_id] = LIFECYCLE[e.type]
        if e.type == "application.submitted":
            submitted[e.application_id] = e
        elif e.type == "application.resolved":
            assert e.submitted_at == submitted[e.application_id].occurred_at
            outcome[e.application_id] = e.outcome
            resolved.append(e)
        elif e.type == "application.paid":
            assert outcome[e.application_id] == "approved" and e.amount_vnd > 0
            methods[submitted[e.application_id].channel][e.method] += 1
        else:
            scores.append(e.score)
    cashless = {ch: m["cashless"] / m.total() for ch, m in methods.items()}
    assert cashless["online"] > 0.8
    assert cashless["counter"] < 0.6
    assert sum(e.occurred_at <= e.due_at for e in resolved) / len(resolved) > 0.95
    assert 0.9 < sum(e.outcome == "approved" for e in resolved) / len(resolved) < 1
    assert statistics.mean(scores) > 4
    level4 = {
        ch: sum(e.service_level == 4 for e in submitted.values() if e.channel == ch)
        for ch in ("online", "counter")
    }
    assert level4["online"] > level4["counter"]


def test_a_multiplier_clones_the_province() -> None:
    one = run(duration=timedelta(minutes=1), topics=(VC_TELEMETRY,))
    ten = run(duration=timedelta(minutes=1), topics=(VC_TELEMETRY,), multiplier=10)
    endpoints = {orjson.loads(r.value)["endpoint_id"] for r in ten}
    registered = set(load_registry().endpoint_ids)
    assert len(endpoints) == 1670 and registered <= endpoints
    assert {e.rsplit("-", 1)[0] for e in endpoints - registered} == registered
    assert len(ten) == pytest.approx(10 * len(one), rel=0.02)


# --- time -----------------------------------------------------------------------------------


class MemorySink:
    """Keeps what was sent and the wall time it was sent at."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, Record]] = []

    async def start(self) -> None:
        pass

    async def send(self, records: list[Record]) -> None:
        now_ms = self.clock.now().timestamp() * 1000
        self.sent.extend((now_ms, r) for r in records)

    async def close(self) -> None:
        pass


NOW = datetime(2024, 5, 14, 10, 0, tzinfo=ICT)


def test_compression_plans_past_traffic_that_ends_at_now() -> None:
    timeline = plan(SimulatorConfig(backfill=timedelta(hours=1), compress=60, live=False), NOW)
    end = NOW + timedelta(minutes=1)
    assert (timeline.start, timeline.end) == (end - timedelta(hours=1), end)
    assert timeline.due_ms(timeline.start_ms) == NOW.timestamp() * 1000
    assert timeline.due_ms(timeline.end_ms or 0) == end.timestamp() * 1000


async def test_a_compressed_run_never_sends_an_event_before_it_happened() -> None:
    clock = FixedClock(NOW)

    async def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    sink = MemorySink(clock)
    config = SimulatorConfig(seed=5, backfill=timedelta(minutes=30), compress=60, live=False)
    stats = await simulate_to(sink, config, clock=clock, sleep=sleep)
    assert stats.records == len(sink.sent) > 25_000
    assert all(r.timestamp_ms <= sent_ms for sent_ms, r in sink.sent)
    assert clock.now() - NOW == pytest.approx(timedelta(seconds=30), abs=timedelta(seconds=1))
    first, last = min(r.timestamp_ms for _, r in sink.sent), max(r.timestamp_ms for _, r in sink.sent)
    assert abs(first / 1000 - (NOW + timedelta(seconds=30) - timedelta(minutes=30)).timestamp()) < 10
    assert abs(last / 1000 - clock.now().timestamp()) < 10


async def test_live_mode_back_fills_at_once_then_keeps_the_real_pace_until_stopped() -> None:
    clock = FixedClock(NOW)
    stop_at = NOW + timedelta(minutes=2)
    stop = asyncio.Event()

    async def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        if clock.now() >= stop_at:
            stop.set()

    sink = MemorySink(clock)
    config = SimulatorConfig(seed=5, backfill=timedelta(minutes=10), compress=math.inf, live=True)
    stats = await simulate_to(sink, config, clock=clock, sleep=sleep, stop=stop)
    assert stats.stopped
    now_ms = NOW.timestamp() * 1000
    back_fill = [sent for sent, r in sink.sent if r.timestamp_ms <= now_ms]
    live = [(sent, r) for sent, r in sink.sent if r.timestamp_ms > now_ms]
    assert len(back_fill) > 9_000 and set(back_fill) == {now_ms}
    assert all(r.timestamp_ms <= sent <= r.timestamp_ms + 1 for sent, r in live)
    assert max(r.timestamp_ms for _, r in live) / 1000 == pytest.approx(stop_at.timestamp(), abs=1)


async def test_an_unpaced_run_must_end_at_now() -> None:
    with pytest.raises(ConfigError):
        await simulate_to(MemorySink(FixedClock(NOW)), SimulatorConfig(seed=1, live=True), paced=False)


# --- files and the command --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["run.jsonl", "run.jsonl.gz"])
def test_a_record_file_replays_the_exact_bytes(tmp_path: Path, name: str) -> None:
    records = run(duration=timedelta(minutes=2), faults=FaultConfig(malformed=0.2))
    records.append(Record("ioc.vc.telemetry", None, b"\xff\xfe not utf-8 {", 1))
    path = tmp_path / name
    assert write_records(path, records) == len(records)
    assert list(read_records(path)) == records
    path.write_bytes(b'{"ts": 1, "topic": "x"}\n')
    with pytest.raises(FileFormatError, match=f"{name}:1:"):
        list(read_records(path))


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(command_module, "_setup_logging", lambda: None)
    monkeypatch.delenv("IOC_KAFKA_URL", raising=False)
    return CliRunner()


def test_the_command_writes_the_generators_stream_to_a_file(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    start = "2024-03-11T08:00:00+07:00"
    args = [
        "--to-file",
        str(path),
        "--seed",
        "5",
        "--start",
        start,
        "--duration",
        "5m",
        "--faults",
        "malformed=0.01",
    ]
    result = cli.invoke(command_module.simulate, [*args, "--quiet"])
    assert result.exit_code == 0, result.output
    config = SimulatorConfig(
        seed=5,
        start=datetime.fromisoformat(start),
        duration=timedelta(minutes=5),
        live=False,
        faults=FaultConfig(malformed=0.01),
    )
    assert list(read_records(path)) == list(generate(config))
    result = cli.invoke(command_module.simulate, ["--to-file", str(path), "--events", "500", "--rate", "5"])
    assert result.exit_code == 0, result.output
    assert sum(1 for _ in read_records(path)) == 500
    assert "seed" in result.output and "500 events" in result.output


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--to-file", "x.jsonl", "--faults", "bogus=1"], "unknown fault"),
        (["--to-file", "x.jsonl", "--live"], "--to-file"),
        (["--duration", "1m"], "IOC_KAFKA_URL"),
        (["--to-file", "x.jsonl", "--compress", "0.5"], "at least 1"),
        (["--to-file", "x.jsonl", "--duration", "soon"], "not a duration"),
        (["--to-file", "x.jsonl", "--start", "2999-01-01T00:00:00+07:00"], "future"),
        (["--live", "--start", "2024-03-11T08:00:00+07:00", "--bootstrap", "kafka://127.0.0.1:1"], "--start"),
    ],
)
def test_the_command_refuses_what_cannot_work(cli: CliRunner, args: list[str], complaint: str) -> None:
    with cli.isolated_filesystem():
        result = cli.invoke(command_module.simulate, args)
    assert result.exit_code == 2
    assert complaint in result.output
