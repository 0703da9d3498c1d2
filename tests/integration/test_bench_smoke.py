"""`python -m bench.run --smoke` works: every phase runs and the report has sane numbers.

This proves the harness, not the product's speed: CI machines differ, so no timing target is
asserted, only that each figure exists and is physically plausible (positive rates, ordered
percentiles, every record stored, a ratio no plain consumer would call impossible).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.report import SECTIONS

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench")
    report, raw = out / "REPORT.md", out / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--smoke",
            "--workdir",
            str(out / "work"),
            "--report",
            str(report),
            "--json-out",
            str(raw),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=150,  # about a minute here; generous for a loaded machine
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[bench" in proc.stderr  # progress lines go to stderr
    text = report.read_text(encoding="utf-8")
    assert proc.stdout.strip() == text.strip()  # and the report to stdout
    return text, json.loads(raw.read_text(encoding="utf-8"))


def test_report_has_every_section_in_order(smoke: tuple[str, dict[str, Any]]) -> None:
    text, _ = smoke
    positions = [text.find(heading) for heading in SECTIONS]
    assert all(p >= 0 for p in positions), [h for h, p in zip(SECTIONS, positions, strict=True) if p < 0]
    assert positions == sorted(positions)
    assert "Not run." not in text
    for what in ("nproc", "PostgreSQL", "Tansu", "Python", "aiokafka"):
        assert f"| {what} |" in text


def test_every_target_is_judged(smoke: tuple[str, dict[str, Any]]) -> None:
    _, r = smoke
    assert [t["result"] for t in r["targets"]] != []
    assert all(t["result"] in ("**PASS**", "**MISS**") for t in r["targets"])


def test_throughput_numbers_are_sane(smoke: tuple[str, dict[str, Any]]) -> None:
    _, r = smoke
    records = r["data"]["records"]
    assert records >= r["settings"]["min_events"]
    assert r["baseline"]["rate"] > 0
    pipeline = r["pipeline"]
    assert pipeline["rate"] > 0
    assert sum(pipeline["outcomes"].values()) == records  # the database reflects every record
    assert 0 < r["ratio"] < 2  # a pipeline cannot beat doing nothing by much
    assert pipeline["worker_cpu_s"] > 0
    for point in r["scaling"]:
        assert point["run"]["rate"] > 0 and point["baseline_rate"] > 0


def test_decode_numbers_are_sane(smoke: tuple[str, dict[str, Any]]) -> None:
    _, r = smoke
    us = r["decode"]["us_per_event"]
    assert all(0 < v < 1000 for v in us.values())
    assert us["admit() = decode + dedupe + time rules"] > us["orjson.loads"]


def test_latencies_are_sane(smoke: tuple[str, dict[str, Any]]) -> None:
    _, r = smoke
    (fresh,) = r["freshness"]
    assert fresh["markers"] > 0 and fresh["lost_db"] == fresh["lost_api"] == fresh["lost_live"] == 0
    for q in (fresh["db"], fresh["api"], fresh["live"]):
        assert 0 < q["p50_ms"] <= q["p95_ms"] <= q["p99_ms"] <= q["max_ms"] < 30_000
    for endpoint in r["api"]:
        for run in (endpoint["fixed"], endpoint["closed"]):
            assert run["requests"] > 0 and run["errors"] == 0
            assert 0 < run["p50_ms"] <= run["p99_ms"] <= run["max_ms"]
    assert r["ws"]["levels"] and r["ws"]["levels"][0]["result"]["connected"] > 0


def test_memory_numbers_are_sane(smoke: tuple[str, dict[str, Any]]) -> None:
    _, r = smoke
    mem = r["memory"]
    assert mem["open_applications"] == r["settings"]["rss_applications"]
    assert mem["endpoints_stored"] == r["settings"]["rss_endpoints"]
    assert 20 < mem["peak_rss_mb"] < 4096
    day = mem["day"]
    # a small day (the smoke profile's ids), fed, sealed hour by hour and taken over from the database
    assert day["held"] > 0 and 0 < day["bytes_per_id"] < 64
    assert day["takeover_held"] == day["held"] and day["takeover_confirmed"]
    assert len(day["db_seal_s"]) == 24 and 0 <= day["false_positive"] < 0.05
