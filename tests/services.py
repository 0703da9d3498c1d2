"""Real services for tests: the embedded broker and database, and the product's own processes.

Every helper starts a real process and waits for it to be ready by asking it, never by
sleeping a fixed time; every process is stopped (and gone) when its context ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from cli.runtime.process import free_port, spawn, stop

REPO = Path(__file__).resolve().parent.parent


def wait_until(
    predicate: Callable[[], object], *, timeout: float, interval: float = 0.1, what: str = "condition"
) -> object:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (httpx.HTTPError, OSError) as exc:
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_exc})")


async def wait_until_async(
    predicate: Callable[[], object], *, timeout: float, interval: float = 0.1, what: str = "condition"
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Samples of a Prometheus endpoint, keyed by (name, sorted labels)."""
    text = httpx.get(url, timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def sample(
    samples: Mapping[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class IocProcess:
    """One `ioc <command>` child process with its environment.

    `program` is how `ioc` is run (default: this interpreter's `-m cli`) and `cwd` where, so a
    test can run an installed copy from a directory outside the checkout.
    """

    def __init__(
        self,
        command: str,
        env: Mapping[str, str],
        *,
        program: Sequence[str] = (sys.executable, "-m", "cli"),
        cwd: Path | None = None,
    ) -> None:
        self.command = command
        self.env = dict(env)
        self.program = list(program)
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> IocProcess:
        self.proc = spawn([*self.program, self.command], env=self.env, cwd=self.cwd)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, name=self.command, timeout=20)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@contextlib.contextmanager
def running_worker(
    env: Mapping[str, str], *, ready_timeout: float = 60, **how: Any
) -> Iterator[tuple[IocProcess, str]]:
    """A worker that owns partitions; yields it and its metrics URL (`how`: see IocProcess)."""
    port = free_port()
    worker = IocProcess("worker", {**env, "IOC_WORKER_METRICS_PORT": str(port)}, **how).start()
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        wait_until(
            lambda: worker.alive and sample(scrape(url), "ioc_partitions_assigned") > 0,
            timeout=ready_timeout,
            what="the worker to own partitions",
        )
        yield worker, url
    finally:
        worker.stop()


@contextlib.contextmanager
def running_api(
    env: Mapping[str, str], *, ready_timeout: float = 30, **how: Any
) -> Iterator[tuple[IocProcess, str]]:
    """An API process serving on a free port; yields it and its base URL (no trailing slash)."""
    port = free_port()
    api = IocProcess("api", {**env, "IOC_API_PORT": str(port)}, **how).start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: api.alive and httpx.get(base + "/healthz", timeout=2).status_code == 200,
            timeout=ready_timeout,
            what="the API to answer",
        )
        yield api, base
    finally:
        api.stop()


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env.update(extra)
    return env
