"""Types of the native heartbeat fast path (sources/vc/fastpath.pyx)."""

from typing import Any

import numpy as np
import numpy.typing as npt

from schemas.records import RawRecord

LEVELS: tuple[str, str, str, str]

def fingerprint(data: bytes) -> int: ...
def parse_heartbeat(
    key: bytes | None, value: bytes | None
) -> tuple[str, int, str, str, str, float, float, float] | None: ...

class Scan:
    fingerprints: npt.NDArray[np.int64]
    fallbacks: list[int]
    runs: list[tuple[int, int]]
    size: int
    def __init__(self, records: list[RawRecord], topic: str) -> None: ...

class Minute:
    count: float
    jitter: float
    loss: float
    rtt_bins: dict[int, float]

class HeartbeatSums:
    minutes: dict[tuple[int, str, str], Minute]
    presence: dict[tuple[str, int], list[Any]]  # [district, site_level, minute bits]
    latest: dict[str, tuple[str, str, int, bool, int]]
    def add(
        self,
        endpoint: str,
        district: str,
        level: str,
        at_us: int,
        jitter: float,
        loss: float,
        rtt: float,
        order: int,
    ) -> None: ...

def judge_run(
    scan: Scan,
    start: int,
    stop: int,
    seen: set[int],
    old: set[int],
    fingerprints: list[int],
    sums: HeartbeatSums,
    order: int,
    newest_us: int,
    has_newest: bool,
    future_us: int,
    grace_us: int,
) -> tuple[int, int, int, int, bool]: ...
