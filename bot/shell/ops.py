"""Operations: ``/healthz`` and ``/metrics``.

:func:`health` answers whether this process can do its work: it runs, the database answers
within :data:`PROBE_TIMEOUT` seconds (and holds the schema), in polling mode the updater still
fetches updates, and the reminder dispatcher has been woken within :data:`DISPATCH_LATE`
seconds. It also reports the seconds since the last update arrived, which alone is no failure
(a quiet night has no updates): alert on it in Prometheus if you want to. Nothing in either
answer names a person, a chat or a plan.

:func:`metrics` is the Prometheus text of :data:`bot.metrics.REGISTRY`: what the bot counts as
it happens (updates, handling time, pulse answers) and what :class:`RunningBots` reads at
scrape time (the dispatcher's counters, the queue of due reminders, database reachability).
It may query the database (at most :data:`PROBE_TIMEOUT` seconds): call it off the event loop
(``await asyncio.to_thread(metrics)``).

Where they are served: on the webhook server in webhook mode (bot/shell/webhook.py); in polling
mode on ``ops_listen:ops_port`` when ``ops_port`` is set, by :class:`OpsServer`, started after
start-up and stopped at shutdown (:func:`install` adds both hooks).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent  # type: ignore[import-untyped]
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlmodel import Session
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application as TornadoApplication
from tornado.web import RequestHandler

from bot.context import DalsbotApp
from bot.metrics import REGISTRY, Liveness
from handlers.plans.dispatcher import Dispatcher, DispatchStats
from handlers.plans.reminders import DISPATCH_INTERVAL, JOB_NAME
from storage.db import Database
from storage.plans.backlog import Backlog, reminder_backlog

logger = logging.getLogger(__name__)

T = TypeVar("T")

PROBE_TIMEOUT: Final = 2.0
"""Seconds the database has to answer a health check or a scrape's queue query."""

DISPATCH_LATE: Final = 4 * DISPATCH_INTERVAL
"""The dispatcher is woken every DISPATCH_INTERVAL seconds; four missed wake-ups is a failure."""


class _ProbeThread:
    """One daemon thread for database probes. A database that hangs holds this one thread
    (every later probe times out instead of taking a thread of the bot's own pool), and,
    being a daemon, it does not hold up the process's exit the way a pool's thread would."""

    def __init__(self) -> None:
        self._work: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]]]
        self._work = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, work: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run ``work`` on the probe thread; its future."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._work.put((work, future))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="dalsbot-probe", daemon=True
                )
                self._thread.start()
        return future

    def _serve(self) -> None:
        while True:
            work, future = self._work.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(work())
            except BaseException as exc:  # handed to whoever waits for the probe
                future.set_exception(exc)


_PROBES = _ProbeThread()


def _probe(db: Database, work: Callable[[Session], T]) -> concurrent.futures.Future[T]:
    return _PROBES.submit(lambda: db.call(work))


def _schema_heads(session: Session) -> int:
    """How many migration heads the database records (0: an empty database)."""
    return int(session.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one())


async def _database_state(db: Database) -> str:
    """``ok``, ``timeout``, ``no schema`` or ``unreachable``."""
    try:
        heads = await asyncio.wait_for(
            asyncio.wrap_future(_probe(db, _schema_heads)), PROBE_TIMEOUT
        )
    except TimeoutError:
        return "timeout"
    except Exception as exc:  # any failure to answer is the same to a load balancer
        logger.warning("health check: the database did not answer (%s)", type(exc).__name__)
        return "unreachable"
    return "ok" if heads > 0 else "no schema"


def _dispatcher(app: DalsbotApp) -> Dispatcher | None:
    try:
        return app.bot_data.services.get(Dispatcher)
    except LookupError:
        return None  # a bot built without the plans feature (some tests)


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


async def health(application: DalsbotApp) -> tuple[int, dict[str, object]]:
    """The HTTP status (200 healthy, 503 not) and the JSON body of ``/healthz``."""
    data = application.bot_data
    liveness = data.services.get_or_add(Liveness, Liveness)
    checks: dict[str, str] = {
        "process": "ok" if application.running else "not running",
        "database": await _database_state(data.db),
    }
    # Polling: the updater must still be fetching (it stops for good on, e.g., an invalid
    # token). Webhook mode: this answer comes from the server that takes the updates.
    polling = not data.settings.webhook_url
    if polling:
        updater = application.updater
        receiving = updater is not None and updater.running
        checks["updates"] = "ok" if receiving else "not polling"
    dispatcher = _dispatcher(application)
    woken = liveness.seconds_since_dispatch()
    if dispatcher is not None:
        late = (woken if woken is not None else liveness.uptime()) > DISPATCH_LATE
        checks["reminders"] = "late" if late else "ok"
    healthy = all(state == "ok" for state in checks.values())
    body: dict[str, object] = {
        "status": "ok" if healthy else "unhealthy",
        "checks": checks,
        "uptime_seconds": _rounded(liveness.uptime()),
        "updates": {
            "mode": "polling" if polling else "webhook",
            "seconds_since_last": _rounded(liveness.seconds_since_update()),
        },
        "reminders": {
            "seconds_since_dispatch": _rounded(woken),
            "dispatching_now": bool(dispatcher is not None and dispatcher.busy),
        },
    }
    return (200 if healthy else 503), body


def metrics() -> tuple[bytes, str]:
    """The Prometheus text of every metric and its content type (may query the database:
    call it off the event loop)."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class RunningBots(Collector):
    """What is read at scrape time from the bots running in this process (one, except in
    tests): the dispatchers' counters since start-up, the reminder queue and the database."""

    def __init__(self) -> None:
        self._apps: list[DalsbotApp] = []
        self._lock = threading.Lock()

    def add(self, app: DalsbotApp) -> None:
        """Report ``app`` from now on."""
        with self._lock:
            self._apps.append(app)

    def discard(self, app: DalsbotApp) -> None:
        """Stop reporting ``app``."""
        with self._lock:
            if app in self._apps:
                self._apps.remove(app)

    def collect(self) -> Iterator[Metric]:
        """The metric families (the queue from the first running bot's database)."""
        with self._lock:
            apps = list(self._apps)
        if not apps:
            return
        stats = [d.stats for d in map(_dispatcher, apps) if d is not None]
        yield from _dispatch_counters(stats)
        found = [app.bot_data.services.get_or_add(Liveness, Liveness) for app in apps]
        yield from _liveness_gauges(found)
        # A bot stopped without its shutdown (a test's, say) stays listed: prefer a running one.
        yield from _queue_gauges(next((app for app in apps if app.running), apps[0]))


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _dispatch_counters(stats: list[DispatchStats]) -> Iterator[Metric]:
    yield _counter(
        "dalsbot_reminders_sent",
        "Reminders Telegram accepted, sent by this process",
        sum(s.sent for s in stats),
    )
    failed = CounterMetricFamily(
        "dalsbot_reminders_failed",
        "Reminder sends that failed: network (retried later) or undeliverable (blocked bot, "
        "chat gone; the responsible is told)",
        labels=["reason"],
    )
    failed.add_metric(["network"], sum(s.network_errors for s in stats))
    failed.add_metric(["undeliverable"], sum(s.undeliverable for s in stats))
    yield failed
    yield _counter(
        "dalsbot_telegram_rate_limited",
        "429 Too Many Requests answers to reminder and digest sends",
        sum(s.rate_limited for s in stats),
    )
    yield _counter(
        "dalsbot_digests_sent", "Daily digests sent by this process", sum(s.digests for s in stats)
    )
    yield _counter(
        "dalsbot_reminders_recovered",
        "Reminders taken back from a stopped process's claim and sent again",
        sum(s.recovered for s in stats),
    )


def _liveness_gauges(found: list[Liveness]) -> Iterator[Metric]:
    update_ages = [a for a in (live.seconds_since_update() for live in found) if a is not None]
    if update_ages:
        yield GaugeMetricFamily(
            "dalsbot_seconds_since_last_update",
            "Seconds since this process last received an update",
            value=min(update_ages),
        )
    wake_ages = [a for a in (live.seconds_since_dispatch() for live in found) if a is not None]
    if wake_ages:
        yield GaugeMetricFamily(
            "dalsbot_seconds_since_dispatch",
            "Seconds since this process last woke the reminder dispatcher",
            value=min(wake_ages),
        )


def _queue_gauges(app: DalsbotApp) -> Iterator[Metric]:
    data = app.bot_data
    now = data.clock()
    backlog: Backlog | None
    try:
        backlog = _probe(data.db, lambda s: reminder_backlog(s, now=now)).result(PROBE_TIMEOUT)
    except Exception as exc:  # a time-out or any database error: reported as down
        logger.warning("metrics: the reminder queue could not be read (%s)", type(exc).__name__)
        backlog = None
    yield GaugeMetricFamily(
        "dalsbot_database_up",
        f"1 when the database answered the queue query within {PROBE_TIMEOUT:g} s",
        value=0 if backlog is None else 1,
    )
    if backlog is None:
        return
    yield GaugeMetricFamily(
        "dalsbot_reminders_due",
        "Pending reminders whose time has come (waiting to be sent; in quiet hours until 07:00)",
        value=backlog.due,
    )
    yield GaugeMetricFamily(
        "dalsbot_reminders_sending",
        "Reminders claimed by a process and being sent now (all processes)",
        value=backlog.sending,
    )
    yield GaugeMetricFamily(
        "dalsbot_reminders_queue_age_seconds",
        "How long the oldest due pending reminder has waited (0: none due)",
        value=backlog.age(now),
    )


BOTS: Final = RunningBots()
REGISTRY.register(BOTS)


# -- the server in polling mode ----------------------------------------------------------------


class _OpsPage(RequestHandler):
    def initialize(self, app: DalsbotApp) -> None:
        self.app = app

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")


class _HealthPage(_OpsPage):
    async def get(self) -> None:
        status, body = await health(self.app)
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body))


class _MetricsPage(_OpsPage):
    async def get(self) -> None:
        body, content_type = await asyncio.to_thread(metrics)
        self.set_header("Content-Type", content_type)
        self.finish(body)


class OpsServer:
    """``/healthz`` and ``/metrics`` over HTTP for a bot in polling mode."""

    def __init__(self, app: DalsbotApp) -> None:
        self.app = app
        self.url = ""
        self._server: HTTPServer | None = None

    async def start(self, listen: str, port: int) -> str:
        """Serve on ``listen:port``; returns the root URL."""
        pages = TornadoApplication(
            [
                (r"/healthz", _HealthPage, {"app": self.app}),
                (r"/metrics", _MetricsPage, {"app": self.app}),
            ]
        )
        try:
            sockets = bind_sockets(port, listen)
        except OSError as exc:
            raise RuntimeError(
                f"Cannot serve /healthz and /metrics on {listen}:{port} (DALSBOT_OPS_PORT): "
                f"{exc.strerror}"
            ) from None
        self._server = HTTPServer(pages)
        self._server.add_sockets(sockets)
        host = f"[{listen}]" if ":" in listen else listen
        self.url = f"http://{host}:{sockets[0].getsockname()[1]}"
        logger.info("Serving /healthz and /metrics on %s", self.url)
        return self.url

    async def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None


# -- wiring -------------------------------------------------------------------------------------


def _watch_dispatcher(app: DalsbotApp, liveness: Liveness) -> Callable[[], None]:
    """Note each time the JobQueue has woken the dispatcher; returns how to stop noting."""
    if app.job_queue is None:
        return lambda: None
    names = {JOB_NAME, f"{JOB_NAME}:startup"}
    ids = {job.job.id for job in app.job_queue.jobs() if job.name in names}
    scheduler = app.job_queue.scheduler

    def woken(event: JobExecutionEvent) -> None:
        if event.job_id in ids:
            liveness.dispatcher_woken()

    scheduler.add_listener(woken, EVENT_JOB_EXECUTED)
    return lambda: scheduler.remove_listener(woken)


def install(app: DalsbotApp) -> None:
    """Count this bot's updates, report it in ``/metrics`` while it runs, and in polling
    mode serve ``/healthz`` and ``/metrics`` on ``ops_port`` when it is set."""
    data = app.bot_data
    liveness = data.services.get_or_add(Liveness, Liveness)
    stop_watching: list[Callable[[], None]] = []

    async def start(app: DalsbotApp) -> None:
        stop_watching.append(_watch_dispatcher(app, liveness))
        BOTS.add(app)
        settings = data.settings
        if settings.ops_port is not None and not settings.webhook_url:
            server = OpsServer(app)
            await server.start(settings.ops_listen, settings.ops_port)
            data.services.add(server)

    async def stop(app: DalsbotApp) -> None:
        BOTS.discard(app)
        while stop_watching:
            stop_watching.pop()()
        try:
            server = data.services.get(OpsServer)
        except LookupError:
            return
        await server.stop()

    data.post_init_hooks.append(start)
    data.post_shutdown_hooks.append(stop)
