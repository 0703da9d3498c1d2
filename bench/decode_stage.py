"""Per-event CPU cost on one pinned core: decode + validate against plain `json.loads`, and the
rest of the worker's per-event work, so the pipeline's rate can be read as a sum of parts.

Reuses bench/decode_bench.py (its record mix, variants and pinning) and adds the two other
per-event stages of the hot path: `admit()` (decode + dedupe fingerprint + time rules, i.e.
streams/admit.py) and `batch_effects()` (aggregation, streams/effects.py) over the
decoded events. Runs in its own process because it pins itself to one CPU.

    python -m bench.decode_stage --events 100000 --repeat 5     # prints one JSON object
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from datetime import timedelta

import orjson

from bench.decode_bench import VARIANTS, Record, _pin_to_one_core, _time, build_records
from streams.admit import PartitionState, admit
from streams.effects import batch_effects
from tests.factories import BASE_TIME, Rec


def _admit_variant(records: list[Record], batch: int) -> Callable[[list[Record]], None]:
    """admit() over worker-sized batches, the duplicate memory growing across them as in a worker."""
    raws = [Rec(t, 0, i, k, v) for i, (t, k, v) in enumerate(records)]
    batches = [raws[i : i + batch] for i in range(0, len(raws), batch)]
    now = BASE_TIME + timedelta(days=1)

    def run(_: list[Record]) -> None:
        states = {(t, 0): PartitionState(t, 0) for t in {r.topic for r in raws}}  # fresh dedupe memory
        accepted = 0
        for chunk in batches:
            result = admit(
                chunk, states, now=now, grace=timedelta(hours=2), future_tolerance=timedelta(minutes=5)
            )
            accepted += sum(n for (_, outcome), n in result.outcomes.items() if outcome == "accepted")
        if accepted != len(raws):
            raise RuntimeError(f"admit() accepted {accepted} of {len(raws)} bench records")

    return run


def _effects_variant(records: list[Record], batch: int) -> Callable[[list[Record]], None]:
    """batch_effects() over worker-sized batches as admit() leaves them: heartbeats already
    summed (their per-event part is in admit's figure), the other events still to handle."""
    raws = [Rec(t, 0, i, k, v) for i, (t, k, v) in enumerate(records)]
    states = {(t, 0): PartitionState(t, 0) for t in {r.topic for r in raws}}
    now = BASE_TIME + timedelta(days=1)
    results = [
        admit(
            raws[i : i + batch],
            states,
            now=now,
            grace=timedelta(hours=2),
            future_tolerance=timedelta(minutes=5),
        )
        for i in range(0, len(raws), batch)
    ]

    def run(_: list[Record]) -> None:
        for result in results:
            batch_effects(result.events, fast_sums=result.heartbeats)

    return run


def _worker_gc() -> str:
    """Collect garbage as the worker does (cli/runtime/tuning.py), if this tree has that tuning."""
    try:
        from cli.runtime.tuning import tune_gc
    except ImportError:
        return "CPython defaults"
    tune_gc()
    return "tuned as in the worker (cli.runtime.tuning)"


def measure(events: int, repeat: int, batch: int) -> dict[str, object]:
    """Median µs/event of each variant, timed interleaved (the CPU's speed drifts)."""
    pinned = _pin_to_one_core()
    gc_mode = _worker_gc()
    records = build_records(events)
    variants: dict[str, Callable[[list[Record]], None]] = {
        "json.loads": VARIANTS["json.loads (baseline)"],
        "orjson.loads": VARIANTS["orjson.loads"],
        "decode() = parse + validate": VARIANTS["decode()"],
        "admit() = decode + dedupe + time rules": _admit_variant(records, batch),
        "batch_effects() = aggregate": _effects_variant(records, batch),
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, fn in variants.items():
            seconds[name].append(_time(fn, records))
    return {
        "events": len(records),
        "mean_bytes": statistics.mean(len(v) for _, _, v in records),
        "pinned": pinned,
        "gc": gc_mode,
        "us_per_event": {name: statistics.median(s) / len(records) * 1e6 for name, s in seconds.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="per-event decode cost, JSON out")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch", type=int, default=5000, help="records per admit()/batch_effects() call")
    args = parser.parse_args(argv)
    sys.stdout.write(orjson.dumps(measure(args.events, args.repeat, args.batch)).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
