"""The embedded runtime's lifecycle: ready when started, gone when stopped, never orphaned."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cli.runtime.broker import EmbeddedBroker
from cli.runtime.services import embedded_services
from ioc.settings import BrokerSettings, DatabaseSettings, RuntimeSettings, Settings
from tests.services import wait_until


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_broker_is_ready_on_start_and_gone_on_stop() -> None:
    broker = EmbeddedBroker()
    broker.start()
    assert broker.running and _accepts(broker.port)
    broker.stop()
    assert not broker.running
    assert not _accepts(broker.port)


def test_broker_dies_with_a_killed_parent(tmp_path: Path) -> None:
    """Even `kill -9` of the process that started it leaves no broker behind."""
    script = textwrap.dedent(
        """
        import sys, time
        from cli.runtime.broker import EmbeddedBroker
        b = EmbeddedBroker(); b.start()
        print(b._proc.pid, b.port, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child_pid, port = (int(x) for x in parent.stdout.readline().split())
    assert _pid_alive(child_pid) and _accepts(port)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    wait_until(lambda: not _pid_alive(child_pid), timeout=10, what="the orphaned broker to exit")
    assert not _accepts(port)


def test_configured_services_start_nothing(tmp_path: Path) -> None:
    settings = Settings(
        broker=BrokerSettings(kafka_url="kafka://127.0.0.1:1"),
        database=DatabaseSettings(database_url="postgresql://u@h/db"),  # type: ignore[arg-type]
        runtime=RuntimeSettings(data_dir=tmp_path),
    )
    with embedded_services(settings) as live:
        assert live.broker.kafka_url == "kafka://127.0.0.1:1"
        assert live.database_url == "postgresql://u@h/db"
    assert not (tmp_path / "postgres").exists()


@pytest.mark.integration
def test_embedded_services_start_and_stop_together(tmp_path: Path) -> None:
    settings = Settings(runtime=RuntimeSettings(data_dir=tmp_path))
    started = time.monotonic()
    with embedded_services(settings) as live:
        assert time.monotonic() - started < 30
        port = int((live.broker.kafka_url or "").rsplit(":", 1)[1])
        assert _accepts(port)
        assert live.database_url.startswith("postgresql://")
        pid_file = tmp_path / "postgres" / "postmaster.pid"
        assert pid_file.exists()
        pg_pid = int(pid_file.read_text().split()[0])
    assert not _accepts(port)
    wait_until(lambda: not _pid_alive(pg_pid), timeout=10, what="PostgreSQL to exit")
