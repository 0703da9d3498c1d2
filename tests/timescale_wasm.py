"""A real TimescaleDB for the tests: WASM PostgreSQL 17.5 with TimescaleDB 2.23 (the npm package
pinned in tools/timescale-wasm/package-lock.json), served by tools/timescale-wasm/server.mjs.

    with TimescaleWasm(tmp_path / "ts") as ts:   # 2-5 s to start, about 450 MB
        conn = await asyncpg.connect(ts.url)     # one connection at a time

Limits (../shared/ENVIRONMENT.md, "TimescaleDB in WASM"): one client at a time (a second one
waits until the first closes: a pool must have IOC_DB_POOL_MIN=IOC_DB_POOL_MAX=1), one database
per instance, no background jobs (policies run with `CALL run_job(id)`), writes several times
slower than a native server.
"""

from __future__ import annotations

import selectors
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

from cli.runtime.process import _die_with_parent, stop

TOOL = Path(__file__).resolve().parents[1] / "tools" / "timescale-wasm"
PACKAGE = TOOL / "node_modules" / "@unni-craftsman" / "pglite" / "package.json"


def unavailable() -> str | None:
    """Why the TimescaleDB tests cannot run here, or None. Only a missing Node.js counts: the
    pinned package is installed on first use (`make test` installs it beforehand)."""
    if shutil.which("node") is None:
        return (
            "Node.js is not installed (no `node` on PATH): the TimescaleDB tests run TimescaleDB as "
            "WASM under Node; install the Debian packages nodejs and npm (tools/system-deps.sh does)"
        )
    return None


def ensure_installed() -> None:
    """`npm ci` in tools/timescale-wasm unless the pinned package is there."""
    if PACKAGE.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: cannot install tools/timescale-wasm (Debian package npm)")
    subprocess.run(
        [npm, "ci", "--prefix", str(TOOL), "--silent", "--no-audit", "--no-fund"], check=True, timeout=600
    )


class TimescaleWasm:
    """One TimescaleDB instance (one database, `postgres`), its data under `data_dir`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = 0
        self.start_seconds = 0.0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def log(self) -> str:
        path = self.data_dir.with_suffix(".log")
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def start(self, timeout: float = 120) -> TimescaleWasm:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        with self.data_dir.with_suffix(".log").open("wb") as log:
            self._proc = subprocess.Popen(
                ["node", str(TOOL / "server.mjs"), "--port", "0", "--data", str(self.data_dir)],
                stdout=subprocess.PIPE,
                stderr=log,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - needed for PDEATHSIG, no threads yet
            )
        assert self._proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._proc.stdout, selectors.EVENT_READ)
            ready = sel.select(timeout)
        # the server's first line, or EOF if it died
        line = self._proc.stdout.readline().decode() if ready else "(no ready line in time)\n"
        if not line.startswith("ready port="):
            self.stop()
            raise RuntimeError(f"the TimescaleDB server did not start:\n{line}{self.log}")
        self.port = int(line.split()[1].removeprefix("port="))
        self.start_seconds = time.monotonic() - t0
        return self

    def stop(self) -> None:
        if self._proc is not None:
            stop(self._proc, name="timescale-wasm")
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None

    def __enter__(self) -> TimescaleWasm:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
