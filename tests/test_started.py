"""Start-up fetches updates before the knowledge base is loaded; whatever needs the knowledge
base waits for it, so a question in the first moment gets the same answer as any later."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.context import DalsbotApp
from bot.settings import Settings
from bot.shell.app import build_application
from bot.shell.standin import BotApiStandIn
from bot.shell.started import StartedWork
from knowledge.articles import KnowledgeBaseError
from knowledge.service import KnowledgeBase
from storage.db import Database
from tests.helpers import staff_chat

QUESTION = "Hur gör jag en orosanmälan?"


def test_a_deferred_knowledge_base_answers_once_loaded_as_a_loaded_one() -> None:
    """An answer asked from another thread before ``load`` waits for it; the loading thread
    itself uses the knowledge base inside ``then``."""
    expected = KnowledgeBase().answer(QUESTION, "sv")
    kb = KnowledgeBase(defer=True)
    assert not kb.ready
    answers: list[object] = []
    asker = threading.Thread(target=lambda: answers.append(kb.answer(QUESTION, "sv")))
    asker.start()
    asker.join(0.2)
    assert asker.is_alive() and answers == []  # waiting, not answering from nothing
    seen: list[int] = []
    kb.load(then=lambda loaded: seen.append(len(loaded.ids())))
    asker.join(10)
    assert kb.ready and seen and seen[0] > 0
    assert answers == [expected]


def test_a_knowledge_base_that_failed_to_load_says_so_to_every_use(tmp_path: Path) -> None:
    (tmp_path / "sv").mkdir()
    (tmp_path / "sv" / "trasig.md").write_text("no front matter", encoding="utf-8")
    kb = KnowledgeBase(tmp_path, defer=True)
    with pytest.raises(KnowledgeBaseError):
        kb.load()
    with pytest.raises(KnowledgeBaseError, match="could not be loaded"):
        kb.answer(QUESTION, "sv")


def test_a_folder_without_articles_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="no articles"):
        KnowledgeBase(tmp_path / "missing", defer=True)


@dataclass
class HeldLoad:
    """A running bot whose knowledge base's load waits until ``release`` is set."""

    app: DalsbotApp
    kb: KnowledgeBase
    release: threading.Event


@pytest.fixture
async def held_load(
    settings: Settings,
    sqlite_db: Database,
    standin: BotApiStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[HeldLoad]:
    release = threading.Event()
    original = KnowledgeBase._load

    def slow_load(self: KnowledgeBase) -> object:
        assert release.wait(20)
        return original(self)

    monkeypatch.setattr(KnowledgeBase, "_load", slow_load)
    app = build_application(settings, db=sqlite_db, api_root=standin.url)
    await app.initialize()
    assert app.post_init is not None and app.updater is not None
    await app.post_init(app)
    await app.start()
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield HeldLoad(app, app.bot_data.services.get(KnowledgeBase), release)
    finally:
        release.set()
        await app.updater.stop()
        await app.stop()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
        await app.shutdown()


async def test_the_bot_polls_before_the_knowledge_base_is_loaded_and_a_question_waits(
    held_load: HeldLoad, standin: BotApiStandIn
) -> None:
    """The first getUpdates goes out while the articles are still loading; a question sent
    then is answered, with its article, once they are loaded."""
    app, kb = held_load.app, held_load.kb
    person = staff_chat(app, standin, 4711, "Kim Berg")
    await person.send(QUESTION)
    await asyncio.sleep(0.3)
    # Fetched (the next getUpdates confirmed it) but waiting for the knowledge base.
    assert standin.updates == [] and not kb.ready and person.events() == []
    held_load.release.set()
    card = await person.reply()
    await app.bot_data.services.get(StartedWork).wait()
    assert kb.ready and kb.revision is not None  # switched to the database's articles
    title = kb.get("orosanmalan", "sv")
    assert title is not None and card.visible_text.startswith(f"📘 {title.title}")


def test_a_revision_check_during_the_load_does_not_stall_the_switch_to_the_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The per-update revision check can run once the load has set the source but before its
    own refresh: it must not take the refresh lock and then wait for the load (the load then
    waited for the lock until the wait gave up: 120 s without answers, then an error)."""
    import time

    import knowledge.service as service
    from knowledge.articles import load_articles

    monkeypatch.setattr(service, "LOAD_WAIT_SECONDS", 3.0)
    kb = KnowledgeBase(defer=True)
    articles = load_articles(kb.root)

    class Source:
        def revision(self) -> int:
            return 7

        def articles(self) -> tuple[int, list[object]]:
            return 7, list(articles)

    outcome: list[object] = []

    def check() -> None:
        try:
            outcome.append(kb.refresh())
        except Exception as exc:  # reported by the assertion below
            outcome.append(exc)

    def switch(loaded: KnowledgeBase) -> None:
        loaded.source = Source()  # type: ignore[assignment]
        assert not loaded.ready and not loaded.due()  # no revision check while loading
        checker = threading.Thread(target=check)
        checker.start()
        checker.join(0.2)  # the check is under way (before the fix: holding the lock)
        loaded.use_source(Source())  # type: ignore[arg-type]
        threads.append(checker)

    threads: list[threading.Thread] = []
    started = time.monotonic()
    kb.load(then=switch)
    threads[0].join(10)
    assert time.monotonic() - started < 2.5
    assert outcome == [False] and kb.revision == 7


async def test_updates_waiting_before_the_load_starts_do_not_take_the_loads_threads() -> None:
    """More early updates than asyncio's default pool has threads (6 on two cores), all
    waiting before the started hook submits the load to that pool: the load must still run
    (each waited in a worker thread once: the load queued behind them for good)."""
    import os

    kb = KnowledgeBase(defer=True)
    workers = min(32, (os.cpu_count() or 1) + 4) + 2
    waiting = [asyncio.ensure_future(kb.until_loaded()) for _ in range(workers)]
    await asyncio.sleep(0.05)  # they wait; then the load is submitted
    load = asyncio.ensure_future(asyncio.to_thread(kb.load))
    await asyncio.wait_for(asyncio.gather(*waiting), 30)
    await load
    assert kb.answer(QUESTION, "sv").article_id is not None


async def test_updates_that_read_the_knowledge_base_wait_for_the_load_without_blocking(
    held_load: HeldLoad, standin: BotApiStandIn
) -> None:
    """/artiklar, an article button or the emergency card read the knowledge base directly:
    sent while it still loads, the update waits (asynchronously, before any handler runs) and
    the event loop keeps turning; it would otherwise block in the knowledge base's wait, and
    with it the load's own start, for up to two minutes."""
    person = staff_chat(held_load.app, standin, 4712, "Alva Berg")
    await person.send("/artiklar")
    lags: list[float] = []
    for _ in range(20):  # 0.5 s with the update fetched and waiting
        before = asyncio.get_running_loop().time()
        await asyncio.sleep(0.025)
        lags.append(asyncio.get_running_loop().time() - before - 0.025)
    assert max(lags) < 0.2, "the event loop was blocked"
    assert not held_load.kb.ready and person.events() == []
    held_load.release.set()
    listing = await person.reply()
    assert "kunskapsbanken" in listing.visible_text and listing.buttons
