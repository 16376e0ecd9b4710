"""Warm-up: what the first person would otherwise wait for, done in the background at start.

Start-up loads only what it needs to be ready. Three things are loaded the first time they
are used, and that first time used to land on the first person who needed them:

- **the first answer**: the emergency signals and message intents (large pattern lists),
  the emergency and topic models and the language-detection profiles (about 0.3 s);
- **the first typed date**: dateparser and its Swedish and English data (about 160 ms, on
  the event loop, so every update waited);
- **the first pulse chart**: matplotlib, its fonts and the Agg renderer (about 0.5 s);
- **the first plan reference**: the first-name lists it is checked against (faker).

:func:`install` adds a post-init hook that returns at once; once the application runs (it is
polling for updates, so start-up is over) one daemon thread does the work: the bot answers
meanwhile (the thread takes the interpreter lock only in turns). Each step runs once per
process, since what it fills is per process (imports, caches, fonts); a failing step is
logged and skipped, never fatal: it only means the first user waits as before.

At shutdown no further step starts and the one running is waited for (up to
:data:`STOP_WAIT_SECONDS`): a daemon thread still inside a step when the interpreter ends
is stopped in the middle of native code (the chart's renderer, the name matcher are C++),
which aborts the process ("terminate called without an active exception", exit -6), so a
SIGTERM in the first second after a start ended as a crash instead of a clean stop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.context import DalsbotApp

logger = logging.getLogger(__name__)

# Steps already done in this process (a second application in the same process, as in the
# tests, finds them warm).
_DONE: set[str] = set()
_DONE_LOCK = threading.Lock()
# How long shutdown waits for the step running (the slowest, the first chart, takes ~0.5 s).
STOP_WAIT_SECONDS = 10.0


@dataclass
class WarmUp:
    """The warm-up of one application: its steps, their thread and what each took."""

    steps: list[tuple[str, Callable[[], object]]]
    done: threading.Event = field(default_factory=threading.Event)
    timings: dict[str, float] = field(default_factory=dict)
    thread_ids: set[int] = field(default_factory=set)
    failed: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    _waiting: asyncio.Task[None] | None = None

    async def start(self, app: DalsbotApp) -> None:
        """Post-init hook: start the warm-up thread once ``app`` runs, and return."""
        self._waiting = asyncio.create_task(self._when_running(app), name="dalsbot-warmup")

    async def _when_running(self, app: DalsbotApp) -> None:
        # Start-up's own work (the remaining hooks, the first getUpdates) goes first. PTB has
        # no event for "running", so look every 50 ms.
        while not app.running:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        self.launch()

    async def stop(self, _app: DalsbotApp) -> None:
        """Post-shutdown hook: start no further step, and wait for the one running (see the
        module's docstring)."""
        if self._waiting is not None:
            self._waiting.cancel()
        self.stopping.set()
        thread = self.thread
        if thread is not None and thread.is_alive():
            await asyncio.to_thread(thread.join, STOP_WAIT_SECONDS)
            if thread.is_alive():
                logger.warning("Warm-up still running at shutdown after %.0f s", STOP_WAIT_SECONDS)

    def launch(self) -> None:
        """Start the warm-up thread now."""
        self.thread = threading.Thread(target=self.run, name="dalsbot-warmup", daemon=True)
        self.thread.start()

    def run(self) -> None:
        """Run every step not yet done in this process (in the calling thread)."""
        started = time.perf_counter()
        try:
            for name, step in self.steps:
                if self.stopping.is_set():
                    break
                with _DONE_LOCK:
                    if name in _DONE:
                        continue
                    _DONE.add(name)
                self.thread_ids.add(threading.get_ident())
                begun = time.perf_counter()
                try:
                    step()
                except Exception:  # a warm-up only saves time; the real use reports errors
                    logger.warning("Warm-up step %s failed", name, exc_info=True)
                    self.failed.append(name)
                self.timings[name] = time.perf_counter() - begun
            if self.timings:
                logger.info(
                    "Warm-up done in %.2f s (%s)",
                    time.perf_counter() - started,
                    ", ".join(f"{name} {took:.2f} s" for name, took in self.timings.items()),
                )
        finally:
            self.done.set()


def warm_answers(app: DalsbotApp) -> None:
    """One question in each language through the whole answer path."""
    from knowledge.service import KnowledgeBase

    try:
        kb = app.bot_data.services.get(KnowledgeBase)
    except LookupError:  # built without the knowledge base's feature
        return
    kb.answer("Hur gör jag en orosanmälan?", "sv")
    kb.answer("Who can call a SIP meeting?", "en")


def warm_dates() -> None:
    """A typed Swedish and English date (dateparser and its language data), a date written
    out (babel's dates), and this year's Swedish holidays (the working-day calendar)."""
    from bot.dates import parse_date
    from bot.i18n import format_date
    from storage.plans.duetimes import WorkCalendar

    today = dt.date.today()
    parse_date("tisdag nästa vecka", "sv", today)
    parse_date("next friday", "en", today)
    format_date(today, "sv")
    WorkCalendar().days_off(today.year)


def warm_chart() -> None:
    """A pulse results chart, drawn by the real renderer from made-up figures."""
    from handlers.pulse.render import render_results_png
    from storage.pulse.logic import PulseResults, QuestionResult
    from storage.pulse.templates import load_templates

    template = next(iter(load_templates().values()))
    results = PulseResults(
        count=5,
        k=3,
        visible=True,
        questions=tuple(
            QuestionResult(question.key, 5, 3.0, (1, 1, 1, 1, 1)) for question in template.questions
        ),
    )
    render_results_png(results, template, "sv")


def warm_names() -> None:
    """The first names a plan reference or an article is checked against."""
    from storage.plans.references import first_names

    first_names()


def install(app: DalsbotApp) -> WarmUp:
    """Warm the answer path, dates, charts and name lists in the background once ``app`` has
    started."""
    warm_up = WarmUp(
        steps=[
            ("answers", lambda: warm_answers(app)),
            ("dates", warm_dates),
            ("chart", warm_chart),
            ("names", warm_names),
        ]
    )
    app.bot_data.services.add(warm_up)
    app.bot_data.post_init_hooks.append(warm_up.start)
    app.bot_data.post_shutdown_hooks.append(warm_up.stop)
    return warm_up
