"""The project as an operator installs it: `pip install .` (not editable) into a fresh venv, run
from a directory that is not the checkout, against the embedded broker and a new database.

The venv reuses the dependencies of the environment running the tests (a `.pth` file) and
`pip` is told `--no-index --no-deps --no-build-isolation`, so nothing is downloaded: the
build requirements are in the dev extras. The checkout is copied without its build output
first, so the native module is built from source as on a fresh clone.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from cli.runtime.broker import EmbeddedBroker
from cli.runtime.postgres import EmbeddedPostgres
from tests.chaos import produce
from tests.factories import encode, key_of, valid_event
from tests.services import REPO, base_env, running_api, running_worker, sample, scrape, wait_until

pytestmark = pytest.mark.integration

TELEMETRY = "ioc.vc.telemetry"
PACKAGES = ("ioc", "schemas", "sources", "streams", "alerts", "api", "cli", "simulator")
BUILD_OUTPUT = shutil.ignore_patterns("__pycache__", "*.so", "fastpath.c", "build", "*.egg-info")


def _copy_sources(dest: Path) -> Path:
    """The files a fresh clone would hold for the build, without any build output."""
    dest.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    for package in PACKAGES:
        shutil.copytree(REPO / package, dest / package, ignore=BUILD_OUTPUT)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv holding the project installed from a copy of the checkout; yields its bin/."""
    root = tmp_path_factory.mktemp("installed")
    source = _copy_sources(root / "src")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "_ioc_test_dependencies.pth").write_text("\n".join(sorted(here)) + "\n", encoding="utf-8")
    started = time.monotonic()
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    subprocess.run(
        [*pip, "--no-index", "--no-deps", "--no-build-isolation", str(source)],
        check=True,
        timeout=300,
        cwd=root,
    )
    print(f"pip install . took {time.monotonic() - started:.1f} s")
    shutil.rmtree(source)  # the installed copy must stand on its own
    yield venv / "bin"


@pytest.fixture
async def empty_database(pg_server: EmbeddedPostgres) -> AsyncIterator[str]:
    """A database with no schema at all: `ioc migrate` of the installed copy creates it."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, query = pg_server.url.partition("?")
    yield f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
    admin = await asyncpg.connect(pg_server.url)
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def test_the_installed_code_is_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    probe = "import api, ioc, sources.vc.fastpath as f; print(api.__file__); print(f.__file__)"
    out = subprocess.run(
        [str(installed / "python"), "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split()
    venv = installed.parent.resolve()
    assert all(Path(p).resolve().is_relative_to(venv) for p in out), out
    assert out[1].endswith(".so")  # the native fast path was built and installed


async def test_installed_commands_run_from_any_directory(
    installed: Path, broker: EmbeddedBroker, empty_database: str, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"  # no deploy/, no migrations, no static files here
    elsewhere.mkdir()
    env = base_env(IOC_KAFKA_URL=broker.url, IOC_DATABASE_URL=empty_database)
    env.pop("PYTHONPATH", None)
    ioc = str(installed / "ioc")
    migrated = await asyncio.to_thread(
        subprocess.run,
        [ioc, "migrate"],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    assert "schema up to date" in migrated.stdout
    conn = await asyncpg.connect(empty_database)
    try:  # the kernel's migrations and the sources' own, both package data
        tables = ("kpi_minute", "market_merchants", "community_teams")
        found = [await conn.fetchval("SELECT to_regclass($1)::text", t) for t in tables]
    finally:
        await conn.close()
    assert found == list(tables)
    how = {"program": [ioc], "cwd": elsewhere}
    with running_worker(env, **how) as (_worker, metrics), running_api(env, **how) as (_api, api):
        assert sample(scrape(metrics), "ioc_alert_rules") > 0  # the shipped rules, from the package
        now = datetime.now(UTC)
        events = [valid_event("vc.heartbeat", occurred_at=now, endpoint_id=f"TQ-T-{i}") for i in range(30)]
        await produce(broker.bootstrap_servers, [(TELEMETRY, key_of(e), encode(e)) for e in events])
        wait_until(
            lambda: sample(scrape(metrics), "ioc_events_accepted_total", topic=TELEMETRY) == 30,
            timeout=30,
            what="the installed worker to accept 30 heartbeats",
        )
        page = httpx.get(api + "/")
        assert page.status_code == 200 and "Trung tâm điều hành" in page.text
        for shipped in sorted((REPO / "api" / "static").iterdir()):
            served = httpx.get(f"{api}/static/{shipped.name}")
            assert served.status_code == 200 and served.content == shipped.read_bytes(), shipped.name
        for shipped in sorted(REPO.glob("sources/*/wall.js")):  # each source's wall area, package data too
            served = httpx.get(f"{api}/api/v1/wall/{shipped.parent.name}/wall.js")
            assert served.status_code == 200 and served.content == shipped.read_bytes(), str(shipped)
        assert httpx.get(api + "/readyz").json()["ready"] is True
