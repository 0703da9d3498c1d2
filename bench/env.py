"""The bench's world: one embedded PostgreSQL, fresh brokers and databases, and child processes.

Everything the report measures runs as its own process, as in production: `ioc worker`,
`ioc api`, the simulator, the plain consumer and the load generators. Children are started
with the kernel's parent-death signal so an interrupted bench leaves nothing running, their
output goes to log files in the run directory (the report goes to stdout), and every
figure is taken from outside the process (database, /proc, metrics endpoint).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.settings import BenchSettings
from cli.runtime.broker import EmbeddedBroker
from cli.runtime.postgres import EmbeddedPostgres
from cli.runtime.process import free_port
from ioc.db.migrate import migrate
from schemas.topics import DEADLETTER
from sources import ALL_TOPIC_NAMES, SOURCES

REPO = Path(__file__).resolve().parent.parent
_STARTED = time.monotonic()
_PR_SET_PDEATHSIG = 1


def bench_workdir(settings: BenchSettings) -> Path:
    """The work directory, relative paths taken from the repository root."""
    return settings.workdir if settings.workdir.is_absolute() else REPO / settings.workdir


def progress(message: str) -> None:
    """One progress line on stderr, stamped with the time since the bench started."""
    elapsed = time.monotonic() - _STARTED
    print(f"[bench {elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    """A child process whose output goes to a log file, stopped with SIGTERM then SIGKILL."""

    def __init__(self, name: str, args: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._out: IO[bytes] = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - our own arguments, never a shell
            list(args),
            env=dict(env),
            cwd=REPO,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - parent-death signal; no threads yet
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def check(self) -> None:
        """Fail loudly, pointing at the log, if the child died."""
        if not self.alive:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; log {self.log}:\n{tail}")

    def terminate(self) -> None:
        """Ask the child to stop (SIGTERM) without waiting."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 20.0) -> None:
        if self.alive:
            self.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


def proc_status_kb(pid: int, field_name: str) -> int:
    """A `VmRSS`/`VmHWM`-style field of /proc/PID/status, in kB (0 when unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds used so far by these processes (gone ones count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        parts = stat.rsplit(")", 1)[1].split()
        total += (int(parts[11]) + int(parts[12])) / tick
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (from /proc/stat), to see who else was running."""
    fields_ = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields_]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_of(parent: int) -> list[int]:
    """Direct children of `parent` (to account the database server's backends)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            out.append(int(entry.name))
    return out


KEEP_RUNS = 5
"""Run directories (logs, profiles) kept in the work directory; older ones are removed."""


def _prune_runs(workdir: Path, keep: int) -> None:
    runs = sorted(p for p in workdir.glob("run-*") if p.is_dir())
    for old in runs[: max(0, len(runs) - keep)]:
        shutil.rmtree(old, ignore_errors=True)


class Bench:
    """Owns the run directory, the database server and every child; `close()` ends them all."""

    def __init__(self, settings: BenchSettings) -> None:
        self.settings = settings
        self.workdir = bench_workdir(settings)
        self.workdir.mkdir(parents=True, exist_ok=True)
        _prune_runs(self.workdir, keep=KEEP_RUNS - 1)
        self.rundir = Path(
            tempfile.mkdtemp(prefix=f"run-{time.strftime('%Y%m%d-%H%M%S')}-", dir=self.workdir)
        )
        (self.rundir / "logs").mkdir()
        self.pg = EmbeddedPostgres(self.rundir / "pg")
        self._children: list[Child] = []
        self._brokers: list[EmbeddedBroker] = []
        self._databases: list[str] = []

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.pg.start()

    async def close(self) -> None:
        self.stop(*reversed(self._children))
        for broker in self._brokers:
            broker.stop()
        for name in list(self._databases):
            await self.drop_database(name)
        self.pg.stop()
        shutil.rmtree(self.rundir / "pg", ignore_errors=True)

    @property
    def postmaster_pid(self) -> int:
        """The database server's main process (its backends are its children)."""
        return int((self.rundir / "pg" / "postgres" / "postmaster.pid").read_text().split()[0])

    def database_pids(self) -> list[int]:
        main = self.postmaster_pid
        return [main, *children_of(main)]

    # -- databases ------------------------------------------------------------------------

    def url_of(self, name: str) -> str:
        base, _, query = self.pg.url.partition("?")
        return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")

    async def new_database(self, prefix: str) -> str:
        """A fresh, migrated database; returns its URL (it is dropped at `close()`)."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(self.pg.url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        self._databases.append(name)
        url = self.url_of(name)
        if self.settings.code:  # the tree under test brings its own schema (an A/B across a migration)
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "cli",
                "migrate",
                env=self.child_env({"IOC_DATABASE_URL": url, "IOC_LOG_LEVEL": "WARNING"}),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await proc.communicate()
            if proc.returncode != 0:
                tail = out.decode()[-2000:]
                raise RuntimeError(f"migrating {name} with {self.settings.code} failed:\n{tail}")
            return url
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn, sources=SOURCES.migrations)
        finally:
            await conn.close()
        return url

    async def drop_database(self, name_or_url: str) -> None:
        name = name_or_url.partition("?")[0].rsplit("/", 1)[-1]
        admin = await asyncpg.connect(self.pg.url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        if name in self._databases:
            self._databases.remove(name)

    # -- brokers --------------------------------------------------------------------------

    async def new_broker(self, partitions: int) -> EmbeddedBroker:
        """An empty embedded broker with the contract's topics at `partitions` partitions.

        Topics are created here with explicit configs (ENVIRONMENT.md: a topic created without
        them reports none back), before anything produces, so the partition count is ours.
        """
        broker = EmbeddedBroker()
        broker.start()
        self._brokers.append(broker)
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics(
                [
                    NewTopic(
                        name,
                        num_partitions=partitions,
                        replication_factor=1,
                        topic_configs={
                            "retention.ms": str((30 if name == DEADLETTER else 7) * 86_400_000),
                            "cleanup.policy": "delete",
                        },
                    )
                    for name in ALL_TOPIC_NAMES
                ]
            )
        finally:
            await admin.close()
        return broker

    def stop_broker(self, broker: EmbeddedBroker) -> None:
        broker.stop()
        if broker in self._brokers:
            self._brokers.remove(broker)

    def broker_pids(self) -> list[int]:
        """The embedded brokers' processes (children of this process running the Tansu binary)."""
        pids = []
        for pid in children_of(os.getpid()):
            with contextlib.suppress(OSError):
                if b"broker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(pid)
        return pids

    # -- child processes --------------------------------------------------------------------

    def child_env(self, extra: Mapping[str, str]) -> dict[str, str]:
        """Our environment without any IOC_ setting, plus `extra`; `--code` goes first on the path."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
        paths = [str(self.settings.code.resolve())] if self.settings.code else []
        paths.append(str(REPO))
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env["PYTHONSAFEPATH"] = "1"  # else `python -m` puts the working directory before `--code`
        env.update(extra)
        return env

    def spawn(self, name: str, args: Sequence[str], env: Mapping[str, str]) -> Child:
        log = self.rundir / "logs" / f"{name}-{len(self._children):02d}.log"
        child = Child(name, args, env, log)
        self._children.append(child)
        return child

    def spawn_python(self, name: str, module_args: Sequence[str], extra_env: Mapping[str, str]) -> Child:
        return self.spawn(name, [sys.executable, "-m", *module_args], self.child_env(extra_env))

    def ioc_env(self, broker: EmbeddedBroker, database_url: str, **extra: str) -> dict[str, str]:
        """The settings of a product process of this bench (README's variables)."""
        s = self.settings
        env = {
            "IOC_KAFKA_URL": broker.url,
            "IOC_DATABASE_URL": database_url,
            "IOC_DATA_DIR": str(self.rundir / f"data-{uuid.uuid4().hex[:6]}"),
            "IOC_PARTITIONS": str(s.partitions),
            "IOC_BATCH_MAX_RECORDS": str(s.batch_max_records),
            "IOC_BATCH_MAX_WAIT_MS": str(s.batch_max_wait_ms),
            "IOC_SESSION_TIMEOUT_S": str(s.session_timeout_s),
            "IOC_LOG_LEVEL": "WARNING",
        }
        env.update(extra)
        return env

    def start_worker(self, broker: EmbeddedBroker, database_url: str, group: str) -> tuple[Child, str]:
        """One `ioc worker` in consumer group `group`; returns it and its metrics URL."""
        port = free_port()
        env = self.ioc_env(broker, database_url, IOC_CONSUMER_GROUP=group, IOC_WORKER_METRICS_PORT=str(port))
        child = self.spawn_python("worker", ["cli", "worker"], env)
        return child, f"http://127.0.0.1:{port}/metrics"

    def start_api(self, broker: EmbeddedBroker, database_url: str) -> tuple[Child, str]:
        """One `ioc api`; returns it and its base URL."""
        port = free_port()
        env = self.ioc_env(broker, database_url, IOC_API_PORT=str(port))
        return self.spawn_python("api", ["cli", "api"], env), f"http://127.0.0.1:{port}"

    def stop(self, *children: Child) -> None:
        """Stop children together: all are asked first, so their shutdowns overlap (a worker
        leaving its group otherwise waits out the others' rebalance one after another)."""
        for child in children:
            child.terminate()
        for child in children:
            child.stop()
            if child in self._children:
                self._children.remove(child)


@contextlib.asynccontextmanager
async def connect(url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


async def wait_for(predicate: Any, *, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll a (sync or async) predicate until truthy; raise TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(interval)
