"""The alert evaluator: a `mode` service that evaluates the rules and delivers notifications.

However many workers run, one evaluates: the one holding a PostgreSQL advisory lock on its own
connection. Every write of the leader goes through that same connection, so a process that has
lost the lock (its session died) cannot write either; when the leader dies its session ends,
the lock is free, and another replica takes over from the state stored in the database.

    service = AlertService(AlertSettings(), database_url=url, source=kpis, registry=registry)
    await service.start()   # or hand it to a faust.Worker beside the other services
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import httpx
import mode
from prometheus_client import CollectorRegistry

from ioc.clock import Clock, SystemClock
from streams.alerts import store
from streams.alerts.alertmanager import AlertmanagerDelivery
from streams.alerts.delivery import WebhookDelivery
from streams.alerts.evaluate import AlertState, RuleResult, evaluate_rule, retire
from streams.alerts.metrics import AlertMetrics
from streams.alerts.notify import GroupLog, Notice, plan
from streams.alerts.payload import encode, postable_alert, webhook_payload
from streams.alerts.rules import Receiver, RulesError, RuleSet, load_rules
from streams.alerts.settings import AlertSettings
from streams.alerts.source import KpiSource

log = logging.getLogger("ioc.streams.alerts")

LOCK_ID = 0x10C_A1E7
"""The advisory lock whose holder evaluates (migrations use 0x10C_0001)."""

_DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
_PURGE_EVERY = timedelta(hours=1)


class NotLeading(RuntimeError):
    """The database connection was asked for by a process that does not hold the lock."""


class AlertService(mode.Service):
    """Evaluate every IOC_ALERT_EVAL_INTERVAL_S while holding the lock; deliver what is owed."""

    def __init__(
        self,
        settings: AlertSettings,
        *,
        database_url: str,
        source: KpiSource,
        registry: CollectorRegistry,
        clock: Clock | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.settings = settings
        self.database_url = database_url
        self.source = source
        self.metrics = AlertMetrics(registry)
        self.clock: Clock = clock or SystemClock()
        self.rules = RuleSet()
        self.leading = False
        self._rules_stamp: tuple[int, int] | None = None
        self._conn: asyncpg.Connection | None = None
        self._conn_lock = asyncio.Lock()
        self._active: dict[str, dict[str, AlertState]] = {}
        self._logs: dict[tuple[str, str], GroupLog] = {}
        self._deliveries: dict[str, tuple[Receiver, asyncio.Task[None]]] = {}
        self._wakes: dict[str, asyncio.Event] = {}
        self._client: httpx.AsyncClient | None = None
        self._main: asyncio.Task[None] | None = None
        self._last_purge: datetime | None = None

    # -- life cycle --------------------------------------------------------------------------

    async def on_start(self) -> None:
        """Refuse to start on an unusable rules file: silent non-alerting is worse than a crash."""
        self._reload(initial=True)
        self._client = httpx.AsyncClient(follow_redirects=False)
        self._main = asyncio.create_task(self._run(), name="ioc-alerts")

    async def on_stop(self) -> None:
        if self._main is not None:
            self._main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._main
        await self._step_down()
        if self._client is not None:
            await self._client.aclose()

    @property
    def active_alerts(self) -> list[AlertState]:
        """Pending and firing alerts as of the last evaluation (empty unless leading)."""
        return [a for by_fp in self._active.values() for a in by_fp.values()]

    # -- leadership ----------------------------------------------------------------------------

    async def _run(self) -> None:
        interval = self.settings.alert_eval_interval_s
        try:
            while True:
                self._reload()
                try:
                    if not self.leading:
                        await self._try_lead()
                    if self.leading:
                        await self._sync_deliveries()
                        await self.evaluate()
                except _DB_ERRORS as exc:
                    log.warning("alert evaluation: database trouble (%s); stepping down", type(exc).__name__)
                    await self._step_down()
                except Exception:  # a bug in one round must not end alerting
                    log.exception("alert evaluation round failed")
                await asyncio.sleep(interval)
        finally:
            await self._step_down()

    async def _try_lead(self) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                self.database_url,
                timeout=10,
                command_timeout=10,
                server_settings={"application_name": "ioc-alerts", "timezone": "UTC"},
            )
        if not await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_ID):
            return
        active = await store.load_active(self._conn)
        self._logs = await store.load_logs(self._conn)
        self._active = {}
        for alert in active:
            self._active.setdefault(alert.rule, {})[alert.fingerprint] = alert
        self.leading = True
        self.metrics.leader.set(1)
        log.info("this process now evaluates the alert rules (%d alerts active)", len(active))

    async def _step_down(self) -> None:
        if self.leading:
            log.info("this process no longer evaluates the alert rules")
        self.leading = False
        self.metrics.leader.set(0)
        await self._sync_deliveries()
        self._active, self._logs = {}, {}
        self.metrics.firing.clear()
        self.metrics.owed.clear()
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), timeout=5)  # ends the session: frees the lock
            except (*_DB_ERRORS, asyncio.CancelledError):
                conn.terminate()

    @contextlib.asynccontextmanager
    async def _db(self) -> AsyncIterator[asyncpg.Connection]:
        """The leader's connection, one user at a time (asyncpg runs one query per connection)."""
        async with self._conn_lock:
            if not self.leading or self._conn is None:
                raise NotLeading("not the alert evaluator")
            yield self._conn

    # -- rules ---------------------------------------------------------------------------------

    def _reload(self, *, initial: bool = False) -> None:
        """Load the rules file when it changed; keep the rules in force when the new file is bad."""
        path = self.settings.alert_rules
        try:
            st = path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp == self._rules_stamp and not initial:
            return
        self._rules_stamp = stamp
        try:
            rules = load_rules(path)
        except RulesError as exc:
            self.metrics.reload_ok.set(0)
            if initial:
                raise RulesError(
                    exc.source,
                    [*exc.errors, "(the file is IOC_ALERT_RULES; check it with `ioc rules check`)"],
                ) from None
            log.error("alert rules not reloaded; the previous rules stay in force. %s", exc)
            return
        self.rules = rules
        self.metrics.reload_ok.set(1)
        self.metrics.rules.set(len(rules.rules))
        if not initial:
            log.warning("alert rules reloaded from %s: %d rules", path, len(rules.rules))

    # -- delivery ------------------------------------------------------------------------------

    def _routed_firing(self, receiver: str) -> list[AlertState]:
        names = [r.name for r in self.rules.rules if receiver in r.receivers]
        return [
            a
            for name in names
            for a in self._active.get(name, {}).values()
            if a.state == "firing" and not a.silenced
        ]

    async def _sync_deliveries(self) -> None:
        """One delivery task per receiver while leading; restart those that changed or died."""
        desired = {r.name: r for r in self.rules.receivers} if self.leading else {}
        stopping = []
        for name, (receiver, task) in list(self._deliveries.items()):
            if task.done():
                if not task.cancelled() and task.exception() is not None:
                    log.warning("delivery to %s stopped (%r); restarting it", name, task.exception())
                del self._deliveries[name]
            elif desired.get(name) != receiver:
                task.cancel()
                stopping.append(task)
                del self._deliveries[name]
        for task in stopping:  # never two loops for one receiver: wait for the old one to end
            with contextlib.suppress(asyncio.CancelledError, *_DB_ERRORS, NotLeading):
                await task
        if self._client is None:
            return
        for name, receiver in desired.items():
            if name in self._deliveries:
                continue
            wake = self._wakes.setdefault(name, asyncio.Event())
            runner: WebhookDelivery | AlertmanagerDelivery
            if receiver.is_alertmanager:
                runner = AlertmanagerDelivery(
                    receiver,
                    db=self._db,
                    client=self._client,
                    settings=self.settings,
                    metrics=self.metrics,
                    clock=self.clock,
                    wake=wake,
                    current=functools.partial(self._routed_firing, name),
                )
            else:
                runner = WebhookDelivery(
                    receiver,
                    db=self._db,
                    client=self._client,
                    settings=self.settings,
                    metrics=self.metrics,
                    clock=self.clock,
                    wake=wake,
                )
            task = asyncio.create_task(runner.run(), name=f"ioc-alerts-deliver-{name}")
            self._deliveries[name] = (receiver, task)

    def _outbox(self, receiver: Receiver, notice: Notice) -> list[store.OutboxItem]:
        url = self.settings.alert_external_url
        if not receiver.is_alertmanager:
            body = encode(webhook_payload(notice, external_url=url))
            return [store.OutboxItem(receiver.name, notice.rule, notice.status, body, notice.at)]
        return [
            store.OutboxItem(
                receiver.name,
                notice.rule,
                "resolved",
                encode(postable_alert(a, external_url=url, now=notice.at, valid_for=timedelta(0))),
                notice.at,
            )
            for a in notice.resolved
        ]

    # -- evaluation ----------------------------------------------------------------------------

    async def _read_values(self, rules: RuleSet, now: datetime) -> dict[str, RuleResult]:
        results: dict[str, RuleResult] = {}
        cache: dict[tuple[str, str, str | None], dict[str, float | None]] = {}
        for rule in rules.rules:
            key = (rule.kpi, rule.query_window, rule.by)
            if key not in cache:
                try:
                    cache[key] = await self.source.kpi_values(rule.kpi, window=rule.query_window, by=rule.by)
                except Exception as exc:  # noqa: BLE001 - one unreadable KPI must not stop the others
                    self.metrics.source_errors.labels(rule.name).inc()
                    log.warning(
                        "rule %s: cannot read %s (%s); its alerts stay as they were", rule.name, rule.kpi, exc
                    )
                    continue
            results[rule.name] = evaluate_rule(
                rule,
                cache[key],
                self._active.get(rule.name, {}),
                now=now,
                silenced=lambda labels: rules.silenced(labels, now),
            )
        for gone in self._active.keys() - rules.rule_by_name.keys():
            results[gone] = retire(self._active[gone], now=now)
        return results

    async def evaluate(self) -> None:
        """One round: read the KPIs, advance every alert, plan and store notifications atomically."""
        now = self.clock.now()
        rules = self.rules
        results = await self._read_values(rules, now)
        receivers = rules.receiver_by_name
        logs: dict[tuple[str, str], GroupLog | None] = {}
        outbox: list[store.OutboxItem] = []
        for rule_name, result in results.items():
            rule = rules.rule_by_name.get(rule_name)
            routed = set(rule.receivers) if rule else set()
            told = {r for (r, rn) in self._logs if rn == rule_name}
            for name in sorted(routed | told):
                key = (name, rule_name)
                before = self._logs.get(key, GroupLog())
                receiver = receivers.get(name)
                if receiver is None:
                    logs[key] = None  # the receiver left the file: nobody to tell
                    continue
                notice, after = plan(
                    receiver,
                    rule_name,
                    routed=name in routed,
                    firing=result.firing,
                    resolved=result.resolved,
                    log=before,
                    now=now,
                )
                if rule is None and not after.notified:
                    logs[key] = None
                elif after != before:
                    logs[key] = after
                if notice is not None:
                    outbox.extend(self._outbox(receiver, notice))
        updated = [a for r in results.values() for a in r.updated]
        changes = [c for r in results.values() for c in r.changes]
        if updated or changes or logs or outbox:
            async with self._db() as conn:
                await store.save_evaluation(conn, updated=updated, changes=changes, logs=logs, outbox=outbox)
        # Only now that it is stored does the new state become ours.
        for name, result in results.items():
            if result.active:
                self._active[name] = result.active
            else:
                self._active.pop(name, None)
        for key, group_log in logs.items():
            if group_log is None:
                self._logs.pop(key, None)
            else:
                self._logs[key] = group_log
        if changes or outbox:
            for wake in self._wakes.values():
                wake.set()
        await self._after_round(rules, now)

    async def _after_round(self, rules: RuleSet, now: datetime) -> None:
        self.metrics.evaluations.inc()
        self.metrics.firing.clear()
        for rule in rules.rules:
            firing = sum(a.state == "firing" for a in self._active.get(rule.name, {}).values())
            self.metrics.firing.labels(rule.name).set(firing)
        async with self._db() as conn:
            owed = await store.owed_counts(conn)
            if self._last_purge is None or now - self._last_purge >= _PURGE_EVERY:
                keep = timedelta(days=self.settings.alert_history_retention_days)
                max_age = timedelta(seconds=self.settings.alert_outbox_max_age_s)
                await store.purge(conn, before=now - keep, owed_before=now - max_age, now=now)
                self._last_purge = now
        self.metrics.owed.clear()
        for receiver in {*owed, *(r.name for r in rules.receivers)}:
            self.metrics.owed.labels(receiver).set(owed.get(receiver, 0))
