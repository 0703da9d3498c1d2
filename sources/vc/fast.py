"""The video-conference source's native fast path, as the ingest's `FastPath` sees it.

Canonical heartbeats, nearly all the volume, are scanned, fingerprinted, checked and summed in
C (fastpath.pyx); whatever the scan cannot settle alone goes to the Python path.
"""

from __future__ import annotations

from typing import Any

from sources.vc import fastpath
from sources.vc.arithmetic import add_heartbeat
from sources.vc.kpis import TELEMETRY
from sources.vc.wire import VcHeartbeat


class HeartbeatFastPath:
    """Scans `ioc.vc.telemetry` records natively and sums heartbeats into `HeartbeatSums`."""

    topic = TELEMETRY

    def scan(self, records: list[Any]) -> fastpath.Scan:
        return fastpath.Scan(records, self.topic)

    def judge_run(self, *args: Any) -> tuple[int, int, int, int, bool]:
        return fastpath.judge_run(*args)

    def new_sums(self) -> fastpath.HeartbeatSums:
        return fastpath.HeartbeatSums()

    def add(self, sums: Any, event: Any, order: int) -> bool:
        if isinstance(event, VcHeartbeat):
            add_heartbeat(sums, event, order)
            return True
        return False
