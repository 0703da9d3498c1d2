"""The unit the simulator produces, and the file format that replays it byte for byte.

File format (JSON Lines, UTF-8, one record a line, optionally gzip-compressed when
the name ends in ``.gz``)::

    {"ts":1710209703123,"topic":"ioc.vc.telemetry","key_b64":"VFEtWVMtMDQy","value_b64":"eyJldmVudF9pZCI6..."}

``ts`` is the event time in ms since the epoch (for malformed records, that of
the event they were made from); ``key_b64`` (``null`` for no key) and
``value_b64`` are the exact record bytes in standard base64, as in the
dead-letter topic's ``value_b64``, so broken and non-UTF-8 values survive the
round trip. Lines are in send order.
"""

from __future__ import annotations

import base64
import gzip
from binascii import b2a_base64
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Literal, NamedTuple, cast

import orjson


class Record(NamedTuple):
    """One Kafka record to send: topic, key and value bytes, and the event time it carries."""

    topic: str
    key: bytes | None
    value: bytes
    timestamp_ms: int


class FileFormatError(ValueError):
    """A line of a record file is not in the format above."""


def _open(path: Path, mode: Literal["rb", "wb"]) -> IO[bytes]:
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, mode, compresslevel=3))
    return open(path, mode)


def encode_line(record: Record) -> bytes:
    """One record as one line of the file format, newline included.

    Formatted by hand rather than through a JSON encoder (twice as fast): base64 and
    Kafka topic names (``[a-zA-Z0-9._-]``) never need escaping.
    """
    key = record.key
    return _LINE % (
        record.timestamp_ms,
        record.topic.encode(),
        b"null" if key is None else b'"' + b2a_base64(key, newline=False) + b'"',
        b2a_base64(record.value, newline=False),
    )


_LINE = b'{"ts":%d,"topic":"%s","key_b64":%s,"value_b64":"%s"}\n'


class RecordWriter:
    """Appends records to a file; a context manager so a stopped run still leaves whole lines."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = _open(self.path, "wb")
        self.count = 0

    def write(self, records: Iterable[Record]) -> None:
        lines = [encode_line(r) for r in records]
        self._file.write(b"".join(lines))
        self.count += len(lines)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_records(path: Path, records: Iterable[Record], chunk: int = 10_000) -> int:
    """Write every record to ``path``; returns how many."""
    with RecordWriter(path) as writer:
        batch: list[Record] = []
        for record in records:
            batch.append(record)
            if len(batch) >= chunk:
                writer.write(batch)
                batch.clear()
        writer.write(batch)
        return writer.count


def read_records(path: Path) -> Iterator[Record]:
    """Read a record file back: exactly the records written, in order."""
    with _open(Path(path), "rb") as file:
        number = 1
        try:
            for line in file:
                if line.strip():
                    yield _decode_line(line)
                number += 1
        except (OSError, EOFError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(f"{path}:{number}: not a record line ({exc})") from exc


def _decode_line(line: bytes) -> Record:
    row = orjson.loads(line)
    key = row["key_b64"]
    return Record(
        row["topic"],
        None if key is None else base64.b64decode(key, validate=True),
        base64.b64decode(row["value_b64"], validate=True),
        int(row["ts"]),
    )
