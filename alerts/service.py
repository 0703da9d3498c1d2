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

from alerts.alertmanager import AlertmanagerDelivery
from alerts.delivery import Delivery, DeliveryContext, WebhookDelivery
from alerts.evaluate import AlertState
from alerts.metrics import AlertMetrics
from alerts.notify import GroupLog
from alerts.round import evaluate_rules, plan_escalations, plan_round, with_acks
from alerts.rules import Receiver, Rule, RulesError, RuleSet, load_rules
from alerts.source import KpiSource
from ioc.clock import Clock, SystemClock
from ioc.db import alert_actions as actions
from ioc.db import alert_outbox
from ioc.db import alerts as store
from ioc.db.leader import AdvisoryLeader
from ioc.retry import TRANSIENT_DB_ERRORS
from ioc.settings import AlertSettings

log = logging.getLogger("ioc.streams.alerts")

LOCK_ID = 0x10C_A1E7
"""The advisory lock whose holder evaluates (migrations use 0x10C_0001)."""

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
        self.leader = AdvisoryLeader(
            database_url,
            LOCK_ID,
            "alert evaluation",
            connect_timeout=10,
            command_timeout=10,
            application_name="ioc-alerts",
        )
        self._rules_stamp: tuple[int, int] | None = None
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
                    if await self._lead():
                        await self._sync_deliveries()
                        await self.evaluate()
                except TRANSIENT_DB_ERRORS as exc:
                    log.warning("alert evaluation: database trouble (%s); stepping down", type(exc).__name__)
                    await self._step_down()
                except Exception:  # a bug in one round must not end alerting
                    log.exception("alert evaluation round failed")
                await asyncio.sleep(interval)
        finally:
            await self._step_down()

    async def _lead(self) -> bool:
        """Whether this process evaluates now: take over when the lock is newly ours, step
        down when it was lost (its state may have moved on under another leader meanwhile)."""
        async with self._conn_lock:  # the check shares the connection with the deliveries
            held = await self.leader.is_leader()
        if not held:
            if self.leading:
                await self._step_down()
            return False
        if not self.leading:
            await self._take_over()
        return True

    async def _take_over(self) -> None:
        """Start from the state the previous leader stored."""
        conn = self.leader.connection
        if conn is None:
            raise NotLeading("the alert evaluation lock is not held")
        async with self._conn_lock:
            active = await store.load_active(conn)
            self._logs = await store.load_logs(conn)
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
        await self.leader.release()  # ends the session: frees the lock

    @contextlib.asynccontextmanager
    async def _db(self) -> AsyncIterator[asyncpg.Connection]:
        """The leader's connection, one user at a time (asyncpg runs one query per connection)."""
        async with self._conn_lock:
            conn = self.leader.connection
            if not self.leading or conn is None:
                raise NotLeading("not the alert evaluator")
            yield conn

    # -- rules ---------------------------------------------------------------------------------

    def _reload(self, *, initial: bool = False) -> None:
        """Load the rules file when it changed; keep the rules in force when the new file is bad.

        Only a file the operator named stops the start: the shipped default failing (a damaged
        install) is logged and no rules are evaluated, so the pipeline itself still runs.
        """
        path = self.settings.rules_file
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
            if initial and self.settings.alert_rules is None:
                log.warning("the shipped alert rules cannot be used; no rules are evaluated. %s", exc)
                return
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
            with contextlib.suppress(asyncio.CancelledError, *TRANSIENT_DB_ERRORS, NotLeading):
                await task
        if self._client is None:
            return
        ctx = DeliveryContext(self._db, self._client, self.settings, self.metrics, self.clock)
        for name, receiver in desired.items():
            if name in self._deliveries:
                continue
            wake = self._wakes.setdefault(name, asyncio.Event())
            runner: Delivery
            if receiver.is_alertmanager:
                current = functools.partial(self._routed_firing, name)
                runner = AlertmanagerDelivery(receiver, ctx, wake=wake, current=current)
            else:
                runner = WebhookDelivery(receiver, ctx, wake=wake)
            task = asyncio.create_task(runner.run(), name=f"ioc-alerts-deliver-{name}")
            self._deliveries[name] = (receiver, task)

    # -- evaluation ----------------------------------------------------------------------------

    def _unreadable(self, rule: Rule, exc: Exception) -> None:
        self.metrics.source_errors.labels(rule.name).inc()
        log.warning("rule %s: cannot read %s (%s); its alerts stay as they were", rule.name, rule.kpi, exc)

    async def evaluate(self) -> None:
        """One round: read the KPIs, advance every alert, plan and store notifications atomically."""
        now = self.clock.now()
        rules = self.rules
        async with self._db() as conn:  # operators' actions count from the next round on
            acks = await actions.load_acks(conn)
            silences = await actions.active_silences(conn, now)
            sent = await actions.escalations(conn)
        results = await evaluate_rules(
            rules, self.source, self._active, now=now, unreadable=self._unreadable, silences=silences
        )
        results = with_acks(results, acks)
        external_url = self.settings.alert_external_url
        logs, outbox = plan_round(rules, results, self._logs, external_url=external_url, now=now)
        escalation_outbox, escalated = plan_escalations(
            rules, results, sent, external_url=external_url, now=now
        )
        outbox += escalation_outbox
        updated = [a for r in results.values() for a in r.updated]
        changes = [c for r in results.values() for c in r.changes]
        if updated or changes or logs or outbox:
            async with self._db() as conn, conn.transaction():
                await store.save_evaluation(conn, updated=updated, changes=changes, logs=logs, outbox=outbox)
                await actions.record_escalations(conn, escalated, now)
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
            owed = await alert_outbox.owed_counts(conn)
            if self._last_purge is None or now - self._last_purge >= _PURGE_EVERY:
                keep = timedelta(days=self.settings.alert_history_retention_days)
                max_age = timedelta(seconds=self.settings.alert_outbox_max_age_s)
                await store.purge(conn, before=now - keep, owed_before=now - max_age, now=now)
                await actions.purge_finished(conn)
                self._last_purge = now
        self.metrics.owed.clear()
        for receiver in {*owed, *(r.name for r in rules.receivers)}:
            self.metrics.owed.labels(receiver).set(owed.get(receiver, 0))
