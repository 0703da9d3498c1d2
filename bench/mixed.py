"""The mixed run: the main data set plus the later sources' topics at a high multiplier.

The main ratio stays on the first three sources' mix, so reports stay comparable; this run
adds market payments and community activities (by default 100× the province's volume over a
weekday's market morning) to the same records, and measures the plain consumer and the
pipeline on that broker: the new mix's own ratio, and its cost per topic.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bench.data import data_file, file_records, produce, simulated_file
from bench.env import Bench, progress
from bench.pipeline import PipelineRun, baseline_once, run_pipeline


@dataclass
class MixedRun:
    by_topic: dict[str, int] = field(default_factory=dict)
    baseline_rates: list[float] = field(default_factory=list)
    run: PipelineRun | None = None

    @property
    def baseline_rate(self) -> float:
        rates = sorted(self.baseline_rates)
        return rates[len(rates) // 2] if rates else 0.0

    @property
    def ratio(self) -> float:
        return self.run.rate / self.baseline_rate if self.run is not None and self.baseline_rate else 0.0


async def measure(bench: Bench) -> MixedRun:
    s = bench.settings
    main = data_file(bench)
    added = simulated_file(
        bench, s.mixed_rate, s.mixed_duration, s.mixed_topics, start=s.mixed_start, what="mixed topics"
    )
    broker = await bench.new_broker(s.partitions)
    out = MixedRun()
    try:
        records = itertools.chain(file_records(main), file_records(added))
        produced = await produce(broker.url, records, "mixed records")
        out.by_topic = produced.by_topic
        out.baseline_rates.append(await baseline_once(bench, broker, produced.records))
        out.run = await run_pipeline(bench, broker, produced.records, label="mixed")
        out.baseline_rates.append(await baseline_once(bench, broker, produced.records))
        progress(
            f"mixed: plain consumer {out.baseline_rate:,.0f}/s, pipeline {out.run.rate:,.0f}/s,"
            f" ratio {out.ratio:.3f}"
        )
    finally:
        bench.stop_broker(broker)
    return out
