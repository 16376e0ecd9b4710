"""Start-up work that receiving updates does not need, done once the application runs.

Start-up is ready when the bot fetches updates with its whole handler table in place. What
only some updates need comes after, in the background: the knowledge base (its articles,
search index and topic model, and the switch to the database's articles: a question that
arrives meanwhile waits for them, see ``KnowledgeBase.load``), the bot's descriptions and
the command menus (Telegram shows them; no update needs them).

Each feature adds such work to ``bot_data.started_hooks``. The post-init hook starts
:class:`StartedWork`, which waits until the application runs (PTB sets ``running`` right
after it has started fetching updates), then runs every hook at once as a task of the event
loop. A hook that fails stops the application; the runner then exits with its one-line
reason, as a failing post-init hook did.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable

from bot.context import DalsbotApp

logger = logging.getLogger(__name__)

# How often the task looks whether the application runs (PTB has no event for it).
RUNNING_POLL_SECONDS = 0.01


class StartedWork:
    """The started hooks of one application, run once it runs."""

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.failure: BaseException | None = None
        # Stops the application when a hook failed (default: ``app.stop_running``, which
        # ends ``run_polling``; webhook mode and ``running`` stop their own way).
        self.stop_app: Callable[[], object] | None = None

    async def begin(self, app: DalsbotApp) -> None:
        """Post-init hook: start the task and return at once."""
        self.task = asyncio.create_task(self._run(app), name="dalsbot-started")

    async def _run(self, app: DalsbotApp) -> None:
        while not app.running:  # noqa: ASYNC110
            await asyncio.sleep(RUNNING_POLL_SECONDS)
        resume_garbage_collection()
        hooks = list(app.bot_data.started_hooks)
        results = await asyncio.gather(*(hook(app) for hook in hooks), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception) and self.failure is None:
                self.failure = result
                logger.critical("Start-up failed: %s", result)
                logger.debug("Start-up failure", exc_info=result)
        if self.failure is not None:
            (self.stop_app or app.stop_running)()

    async def wait(self) -> None:
        """Wait for the started hooks (local mode, tests); SystemExit if one failed."""
        if self.task is not None:
            await asyncio.shield(self.task)
        self.raise_failure()

    def raise_failure(self) -> None:
        """SystemExit with the reason when a started hook failed."""
        if self.failure is not None:
            raise SystemExit(str(self.failure) or type(self.failure).__name__)

    async def stop(self, _app: DalsbotApp) -> None:
        """Post-shutdown hook: cancel the hooks if they still run."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def resume_garbage_collection() -> None:
    """Start-up runs without the cyclic garbage collector (bot/shell/cli/main.py): it only
    creates objects that live as long as the process. Once the bot fetches updates, keep
    them out of every later collection (``gc.freeze``) and collect again, less often than
    Python's default (see :data:`YOUNG_COLLECTION_AFTER`)."""
    gc.set_threshold(YOUNG_COLLECTION_AFTER, *gc.get_threshold()[1:])
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


# Allocations between two collections of the youngest generation (Python's default: 700).
# Every update builds hundreds of short-lived python-telegram-bot objects, nearly all freed by
# reference counting; at 700 the collector ran every two or three updates and took a tenth of
# a question's CPU under a burst (benchmarks/throughput.py: 0.2 → 0.08 ms per update). A few
# thousand more young objects waiting for a collection are a few hundred kilobytes at most.
YOUNG_COLLECTION_AFTER = 20_000


def install(app: DalsbotApp) -> StartedWork:
    """Run ``app``'s started hooks once it runs."""
    work = StartedWork()
    app.bot_data.services.add(work)
    app.bot_data.post_init_hooks.append(work.begin)
    app.bot_data.post_shutdown_hooks.append(work.stop)
    return work
