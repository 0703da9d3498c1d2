"""Decode + validate + dedupe + time checks per event (`streams.admit.admit`), next to
plain `json.loads` of the same bytes, on one core, medians of interleaved repeats.

    python -m bench.admit_bench [--events 200000] [--repeat 5] [--batch 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta

from bench.decode_bench import build_records
from cli.runtime.tuning import tune_gc
from streams.admit import PartitionState, admit
from tests.factories import BASE_TIME, Rec


def run_admit(records: list[Rec], batch: int) -> float:
    states = {(r.topic, 0): PartitionState(r.topic, 0) for r in records}
    started = time.perf_counter()
    for i in range(0, len(records), batch):
        admit(
            records[i : i + batch],
            states,
            now=BASE_TIME + timedelta(days=1),
            grace=timedelta(days=2),
            future_tolerance=timedelta(minutes=5),
        )
    return len(records) / (time.perf_counter() - started)


def run_json(records: list[Rec]) -> float:
    started = time.perf_counter()
    for r in records:
        json.loads(r.value or b"")
    return len(records) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    tune_gc()  # as `ioc worker` does
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    raw = build_records(args.events)
    # every 20th record is sent twice, as a source's retry: the duplicate path is exercised too
    records = []
    for i, (topic, key, value) in enumerate(raw):
        records.append(Rec(topic, 0, len(records), key, value))
        if i % 20 == 0:
            records.append(Rec(topic, 0, len(records), key, value))
    base, full = [], []
    for _ in range(args.repeat):
        base.append(run_json(records))
        full.append(run_admit(records, args.batch))
    b, f = statistics.median(base), statistics.median(full)
    print(
        f"{len(records):,} records (5 % duplicates), batches of {args.batch}, median of {args.repeat}",
        file=sys.stderr,
    )
    print("variant                             events/s   vs json.loads")
    print(f"json.loads (baseline)            {b:>11,.0f}           1.00×")
    print(f"admit: decode+validate+dedupe    {f:>11,.0f}           {f / b:.2f}×")


if __name__ == "__main__":
    main()
