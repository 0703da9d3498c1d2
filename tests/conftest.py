"""Fixtures: a real broker and a real PostgreSQL server for the session, a fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from hypothesis import settings

from cli.runtime.broker import EmbeddedBroker
from cli.runtime.postgres import EmbeddedPostgres
from ioc.db.migrate import migrate
from sources import SOURCES

# CI replays the same examples every run (a red CI must mean a change broke something);
# elsewhere hypothesis explores new examples each run and keeps the failures it finds.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    """A fresh, empty broker for each test (it starts in well under a second)."""
    with EmbeddedBroker() as b:
        yield b


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@asynccontextmanager
async def empty_database(pg_server: EmbeddedPostgres) -> AsyncIterator[str]:
    """A new database on the session's server, not migrated; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server.url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        yield _with_database(pg_server.url, name)
    finally:
        admin = await asyncpg.connect(pg_server.url)
        try:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def database_url(pg_server: EmbeddedPostgres) -> AsyncIterator[str]:
    """A new, migrated database on the session's server, dropped afterwards."""
    async with empty_database(pg_server) as url:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn, sources=SOURCES.migrations)
        finally:
            await conn.close()
        yield url


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
