"""How fast ``schemas.decode.decode`` is, next to plain JSON parsing of the same bytes.

The decoder runs on every event of the hot path, so its cost per event bounds the
pipeline's throughput. This builds N contract-valid records of a realistic mix
(mostly heartbeats: ~1,200 endpoints every 10 s dwarf everything else), times on
one core ``json.loads`` (the baseline), ``orjson.loads`` and ``decode()`` over the
same bytes, interleaved and repeated because this machine's CPU speed drifts,
and prints the medians.

    python -m bench.decode_bench [--events 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta

import orjson

from schemas.decode import Rejection
from sources import decode
from tests.factories import BASE_TIME, encode, key_of, topic_of, valid_event

Record = tuple[str, bytes, bytes]

MIX: dict[str, float] = {
    "vc.heartbeat": 0.85,
    "vc.status": 0.02,
    "vc.meeting.started": 0.005,
    "vc.meeting.ended": 0.005,
    "document.received": 0.03,
    "document.processed": 0.03,
    "application.submitted": 0.025,
    "application.resolved": 0.02,
    "application.paid": 0.01,
    "application.rated": 0.005,
}


def build_records(n: int, seed: int = 7) -> list[Record]:
    """N valid records with varied entities, times and measurements."""
    rng = random.Random(seed)
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=n)
    records: list[Record] = []
    for i, kind in enumerate(kinds):
        overrides: dict[str, object] = {"occurred_at": BASE_TIME + timedelta(milliseconds=50 * i)}
        if kind == "vc.heartbeat":
            overrides |= {
                "endpoint_id": f"TQ-{rng.randrange(1200):04d}",
                "in_meeting": rng.random() < 0.3,
                "rtt_ms": round(rng.uniform(5, 400), 1),
                "jitter_ms": round(rng.uniform(0, 40), 1),
                "packet_loss_pct": round(rng.uniform(0, 5), 2),
                "bitrate_kbps": rng.choice((512, 768, 1024, 1536, 2048)),
            }
        event = valid_event(kind, **overrides)
        records.append((topic_of(kind), key_of(event), encode(event)))
    return records


def _time(fn: Callable[[list[Record]], None], records: list[Record]) -> float:
    start = time.perf_counter()
    fn(records)
    return time.perf_counter() - start


def _json(records: list[Record]) -> None:
    loads = json.loads
    for _, _, value in records:
        loads(value)


def _orjson(records: list[Record]) -> None:
    loads = orjson.loads
    for _, _, value in records:
        loads(value)


def _decode(records: list[Record]) -> None:
    for topic, key, value in records:
        decode(topic, key, value)


VARIANTS: dict[str, Callable[[list[Record]], None]] = {
    "json.loads (baseline)": _json,
    "orjson.loads": _orjson,
    "decode()": _decode,
}


def _pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=200_000, help="records per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per variant (median taken)")
    args = parser.parse_args(argv)

    pinned = _pin_to_one_core()
    records = build_records(args.events)
    rejected = [r for r in (decode(*rec) for rec in records[:1000]) if isinstance(r, Rejection)]
    if rejected:
        print(f"bench records must be valid, got {rejected[0]}", file=sys.stderr)
        return 1
    size = statistics.mean(len(v) for _, _, v in records)
    heartbeats = sum(1 for t, _, _ in records if t == topic_of("vc.heartbeat")) / len(records)
    print(
        f"{len(records):,} records, mean {size:.0f} B, {heartbeats:.0%} on the telemetry topic; "
        f"Python {sys.version.split()[0]}, {pinned}, median of {args.repeat}"
    )

    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.repeat):
        for name, fn in VARIANTS.items():
            seconds[name].append(_time(fn, records))

    baseline = statistics.median(seconds["json.loads (baseline)"])
    print(f"{'variant':<24}{'events/s':>12}{'µs/event':>10}{'vs json.loads':>15}")
    for name, runs in seconds.items():
        median = statistics.median(runs)
        rate = len(records) / median
        print(f"{name:<24}{rate:>12,.0f}{median / len(records) * 1e6:>10.2f}{baseline / median:>14.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
