"""Child processes that cannot outlive us.

Every child is started with the kernel's parent-death signal set, so even a `kill -9` of the
parent leaves no orphan broker, worker or API behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

log = logging.getLogger("ioc.runtime")

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    quiet: bool = False,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a child that receives SIGTERM when this process dies, however it dies."""
    out = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(  # noqa: S603 - arguments are ours, never a shell
        list(args),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdout=out,
        stderr=out,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - needed for PDEATHSIG, no threads yet
    )


def stop(proc: subprocess.Popen[bytes], *, name: str, timeout: float = 10.0) -> None:
    """SIGTERM, wait, then SIGKILL: a child is gone when this returns."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop within %.0f s; killing it", name, timeout)
        proc.kill()
        proc.wait()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the usual small race is acceptable here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(
    host: str, port: int, *, timeout: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before {host}:{port} opened")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f} s") from None
            time.sleep(0.05)


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment plus `extra`."""
    env = dict(os.environ)
    env.update(extra)
    return env
