"""`ioc replay`: send dead-lettered records back to their original topics after a fix.

The dead-letter topic keeps the original bytes (`value_b64`) and key of every rejected
record, so a replay re-sends exactly what the source sent. The pipeline judges them again:
a record rejected for a reason that was fixed (a setting, a schema) is accepted now; one that
is still bad goes back to the dead-letter topic; one accepted before is a duplicate.

Each dead letter replayed is recorded in the database (`deadletter_replays`), after the broker
has acknowledged it, so running the command again (after a crash, or with a wider time range)
re-sends none of them. A crash between the acknowledgement and the record re-sends at most one
chunk: those records are then duplicates to the pipeline, and counted as such.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import click
import orjson
from aiokafka import AIOKafkaProducer

from ioc.kafka import security_for
from schemas.decode import Reason
from schemas.topics import DEADLETTER
from simulator.command import _Start as Rfc3339
from sources import SOURCE_TOPIC_NAMES
from streams.dltopic import read_values

CHUNK = 500
"""Dead letters sent, acknowledged and recorded at a time (and a progress line each)."""

ReplayKey = tuple[str, int, int, bytes]
"""The rejected record's topic, partition and offset, and a digest of its bytes (after a broker
that lost its log, the same position holds another record)."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead-letter record, decoded. Two copies of one dead letter are equal."""

    topic: str
    key: bytes | None
    value: bytes
    reason: str
    rejected_at: str
    partition: int = field(default=0, compare=False)
    offset: int = field(default=-1, compare=False)

    @property
    def replay_key(self) -> ReplayKey:
        return self.topic, self.partition, self.offset, hashlib.sha256(self.value).digest()[:16]

    @property
    def rejected_time(self) -> datetime | None:
        try:
            at = datetime.fromisoformat(self.rejected_at)
        except ValueError:
            return None
        return at if at.tzinfo is not None else None


def parse(value: bytes) -> DeadLetter | None:
    """The dead-letter record in `value`, or None if it is not one of ours."""
    try:
        body: dict[str, Any] = orjson.loads(value)
        key, partition, offset = body["key"], body["partition"], body["offset"]
        if type(partition) is not int or type(offset) is not int:
            return None
        return DeadLetter(
            topic=body["topic"],
            key=key.encode("utf-8") if isinstance(key, str) else None,
            value=base64.b64decode(body["value_b64"], validate=True),
            reason=body["reason"],
            rejected_at=body["rejected_at"],
            partition=partition,
            offset=offset,
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None


def select(
    letters: Iterable[DeadLetter],
    *,
    reasons: set[str],
    topics: set[str],
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[DeadLetter]:
    """The dead letters to replay: matching the filters (empty filter: all), to a source topic,
    rejected at or after `since` and before `until` (when given)."""
    for dl in letters:
        if dl.topic not in SOURCE_TOPIC_NAMES:
            continue
        if (reasons and dl.reason not in reasons) or (topics and dl.topic not in topics):
            continue
        if since is not None or until is not None:
            at = dl.rejected_time
            if at is None or (since is not None and at < since) or (until is not None and at >= until):
                continue
        yield dl


def plan(chosen: Iterable[DeadLetter], replayed: set[ReplayKey]) -> tuple[list[DeadLetter], int]:
    """What to send: each dead letter once (a topic written before dead letters were exactly
    once may hold copies), none replayed before. Returns it and how many were skipped as
    replayed before."""
    seen: set[ReplayKey] = set()
    out: list[DeadLetter] = []
    skipped = 0
    for dl in chosen:
        key = dl.replay_key
        if key in seen:
            continue
        seen.add(key)
        if key in replayed:
            skipped += 1
        else:
            out.append(dl)
    return out, skipped


async def read_deadletters(
    bootstrap: str, *, idle_s: float = 2.0, security: Mapping[str, Any] | None = None
) -> list[DeadLetter]:
    """Everything in the dead-letter topic now, decoded (`security`: ioc.kafka.security_for)."""
    client = {"bootstrap_servers": bootstrap, **(security or {})}
    values = await read_values(client, DEADLETTER, idle_s=idle_s)
    return [dl for v in values if (dl := parse(v)) is not None]


# -- the replay state ---------------------------------------------------------------------------


async def open_state(database_url: str) -> asyncpg.Connection:
    """A connection to the database, its schema brought up to date (the table of replays)."""
    from ioc.db.migrate import migrate
    from sources import SOURCES

    conn = await asyncpg.connect(database_url)
    await migrate(conn, sources=SOURCES.migrations)
    return conn


async def replayed_before(conn: asyncpg.Connection, letters: Sequence[DeadLetter]) -> set[ReplayKey]:
    keys = [dl.replay_key for dl in letters]
    rows = await conn.fetch(
        'SELECT r.topic, r.partition, r."offset", r.digest FROM deadletter_replays r'
        " JOIN unnest($1::text[], $2::int[], $3::bigint[], $4::bytea[]) AS u(t, p, o, d)"
        ' ON r.topic = u.t AND r.partition = u.p AND r."offset" = u.o AND r.digest = u.d',
        *([k[i] for k in keys] for i in range(4)),
    )
    return {(r["topic"], r["partition"], r["offset"], r["digest"]) for r in rows}


async def record_replayed(conn: asyncpg.Connection, letters: Sequence[DeadLetter]) -> None:
    keys = [dl.replay_key for dl in letters]
    await conn.execute(
        'INSERT INTO deadletter_replays (topic, partition, "offset", digest, reason)'
        " SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bytea[], $5::text[])"
        " ON CONFLICT DO NOTHING",
        *([k[i] for k in keys] for i in range(4)),
        [dl.reason for dl in letters],
    )


async def replay(
    bootstrap: str,
    letters: Sequence[DeadLetter],
    conn: asyncpg.Connection | None = None,
    *,
    security: Mapping[str, Any] | None = None,
) -> Counter[str]:
    """Re-send `letters` to their original topics with their original keys and bytes, a chunk at
    a time: each chunk acknowledged by the broker, then recorded in `conn` (if given)."""
    sent: Counter[str] = Counter()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **(security or {}), acks="all", linger_ms=5)
    await producer.start()
    try:
        for start in range(0, len(letters), CHUNK):
            chunk = letters[start : start + CHUNK]
            futures = [await producer.send(dl.topic, value=dl.value, key=dl.key) for dl in chunk]
            await asyncio.gather(*futures)
            if conn is not None:
                await record_replayed(conn, chunk)
            sent.update(dl.topic for dl in chunk)
            click.echo(f"replay: {start + len(chunk)}/{len(letters)} sent", err=True)
    finally:
        await producer.stop()
    return sent


async def _run(
    servers: str, database_url: str | None, dry_run: bool, filters: dict[str, Any]
) -> Counter[str]:
    try:
        security = security_for(servers)  # TLS and SASL as the IOC_KAFKA_* settings say
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    letters = await read_deadletters(servers, security=security)
    chosen = list(select(letters, **filters))
    by_reason = Counter(dl.reason for dl in chosen)
    click.echo(
        f"replay: {len(letters)} dead letters, {len(chosen)} selected"
        + (f" ({', '.join(f'{r}: {n}' for r, n in sorted(by_reason.items()))})" if chosen else ""),
        err=True,
    )
    if not chosen:
        return Counter()
    conn = await open_state(database_url) if database_url else None
    try:
        todo, skipped = plan(chosen, await replayed_before(conn, chosen) if conn else set())
        copies = len(chosen) - len(todo) - skipped
        click.echo(
            f"replay: {skipped} replayed before"
            + (f", {copies} copies" if copies else "")
            + f", {len(todo)} to send"
            + ("" if conn else " (no database: replays before are not known)"),
            err=True,
        )
        if dry_run or not todo:
            return Counter()
        return await replay(servers, todo, conn, security=security)
    finally:
        if conn is not None:
            await conn.close()


@click.command("replay")
@click.option(
    "--reason",
    "reasons",
    multiple=True,
    type=click.Choice([r.value for r in Reason]),
    help="Only records rejected for this reason (repeatable).",
)
@click.option(
    "--topic", "topics", multiple=True, type=click.Choice(SOURCE_TOPIC_NAMES), help="Only this topic."
)
@click.option(
    "--from", "since", type=Rfc3339(), help="Only records rejected at or after this time (RFC 3339)."
)
@click.option("--to", "until", type=Rfc3339(), help="Only records rejected before this time (RFC 3339).")
@click.option("--dry-run", is_flag=True, help="Count what would be replayed; send nothing.")
@click.option(
    "--bootstrap",
    envvar="IOC_KAFKA_URL",
    required=True,
    help="Broker, kafka://host:port (default: IOC_KAFKA_URL).",
)
@click.option(
    "--database",
    envvar="IOC_DATABASE_URL",
    help="Where replays are recorded, postgresql://... (default: IOC_DATABASE_URL); needed to send.",
)
def replay_command(
    reasons: tuple[str, ...],
    topics: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    dry_run: bool,
    bootstrap: str,
    database: str | None,
) -> None:
    """Re-publish dead-lettered records to their original topics (after a fix), each once."""
    if since is not None and until is not None and since >= until:
        raise click.BadParameter("--from must be before --to", param_hint="--from")
    if not dry_run and not database:
        raise click.UsageError(
            "IOC_DATABASE_URL (or --database) not set: replays are recorded there so that none is sent twice"
        )
    servers = bootstrap.removeprefix("kafka://")
    filters = {"reasons": set(reasons), "topics": set(topics), "since": since, "until": until}
    sent = asyncio.run(_run(servers, database, dry_run, filters))
    for topic, n in sorted(sent.items()):
        click.echo(f"replay: sent {n} to {topic}", err=True)
    sys.stdout.flush()
