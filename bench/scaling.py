"""How throughput moves with partitions (one worker) and with worker processes (one group).

Each partition count gets its own fresh broker filled with the first `--scale-events` records
of the data set; each run measures the plain consumer on that broker first, so every row
carries its own baseline ratio, comparable across rows whatever the CPU did in between.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.data import data_file, file_records, produce
from bench.env import Bench, progress
from bench.pipeline import PipelineRun, baseline_once, run_pipeline


@dataclass
class ScalePoint:
    partitions: int
    workers: int
    baseline_rate: float
    run: PipelineRun

    @property
    def ratio(self) -> float:
        return self.run.rate / self.baseline_rate if self.baseline_rate else 0.0


def combinations(
    partitions: tuple[int, ...], workers: tuple[int, ...], default_partitions: int
) -> list[tuple[int, int]]:
    """(partitions, workers) pairs: the partition sweep at one worker, the worker sweep at the default."""
    combos = [(p, 1) for p in partitions] + [(default_partitions, w) for w in workers]
    return list(dict.fromkeys(combos))


async def measure(bench: Bench) -> list[ScalePoint]:
    s = bench.settings
    path = data_file(bench)
    points: list[ScalePoint] = []
    combos = combinations(s.scale_partitions, s.scale_workers, s.partitions)
    for parts in dict.fromkeys(p for p, _ in combos):
        broker = await bench.new_broker(parts)
        try:
            produced = await produce(
                broker.url, file_records(path, s.scale_events), f"records at {parts} partitions"
            )
            for p, workers in combos:
                if p != parts:
                    continue
                base = await baseline_once(bench, broker, produced.records)
                run = await run_pipeline(
                    bench,
                    broker,
                    produced.records,
                    workers=workers,
                    partitions=parts,
                    label=f"scaling P={parts} W={workers}",
                )
                point = ScalePoint(parts, workers, base, run)
                progress(
                    f"scaling P={parts} W={workers}: plain consumer {base:,.0f}/s, ratio {point.ratio:.3f}"
                )
                points.append(point)
        finally:
            bench.stop_broker(broker)
    return points
