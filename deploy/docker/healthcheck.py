"""Container health check of the `ioc` image: is this container's process answering?

    python healthcheck.py [api|worker]

`api` asks GET /healthz on IOC_API_PORT; `worker` asks the Prometheus endpoint on
IOC_WORKER_METRICS_PORT. Without an argument the role is read from the container's main
process (`ioc api`, `ioc worker`); any other command (`ioc migrate`, `ioc simulate`) has no
endpoint and counts as healthy while it runs. Exit status 0 is healthy, 1 unhealthy, as
Docker's HEALTHCHECK wants. Standard library only: the image has no curl.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROLES = {
    "api": ("IOC_API_PORT", "8000", "/healthz"),
    "worker": ("IOC_WORKER_METRICS_PORT", "9464", "/metrics"),
}


def role_of_main_process(cmdline: Path = Path("/proc/1/cmdline")) -> str | None:
    """`api` or `worker` when PID 1 runs `ioc api` / `ioc worker`, else None."""
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return None
    words = [a.decode(errors="replace") for a in args if a]
    for i, word in enumerate(words[:-1]):
        # `/opt/ioc/bin/ioc api` (the entrypoint) or `python -m cli api`
        if os.path.basename(word) == "ioc" or (word == "cli" and i > 0 and words[i - 1] == "-m"):
            return words[i + 1] if words[i + 1] in ROLES else None
    return None


def check(role: str, host: str = "127.0.0.1", timeout: float = 4.0) -> tuple[bool, str]:
    variable, default, path = ROLES[role]
    port = os.environ.get(variable, default)
    if port == "0":
        return True, f"{variable}=0: no endpoint to ask"
    url = f"http://{host}:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status == 200, f"{url} answered {resp.status}"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{url}: {exc}"


def main(argv: list[str]) -> int:
    role = argv[0] if argv else role_of_main_process()
    if role is None:
        return 0
    if role not in ROLES:
        sys.stderr.write(f"unknown role {role!r}; one of {', '.join(ROLES)}\n")
        return 2
    ok, detail = check(role)
    (sys.stdout if ok else sys.stderr).write(detail + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
