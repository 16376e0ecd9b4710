"""A fresh install: the bot imports the seed into the empty database at start-up and answers
from the database; a database that has articles is not imported again."""

from __future__ import annotations

from bot.context import DalsbotApp
from bot.shell.standin import BotApiStandIn
from knowledge.articles import ARTICLES_DIR, load_articles
from knowledge.service import KnowledgeBase
from storage.knowledge import articles as store
from tests.ask.cards import shown
from tests.helpers import staff_chat


async def test_the_seed_is_imported_at_start_up_and_answers_come_from_the_database(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    db = app.bot_data.db
    seed = load_articles(ARTICLES_DIR)
    assert len(db.call(store.current_articles)) == len(seed)
    assert [v.note for v in db.call(store.versions, "sip", "sv")] == ["kb import"]
    kb = app.bot_data.services.get(KnowledgeBase)
    assert kb.source is not None and kb.revision == db.call(store.kb_revision) == 1
    # A change made in the database (another process) is what the bot answers next.
    person = staff_chat(app, standin, 301, "Pia Lund")
    added = db.call(
        lambda s: store.add_example_question(
            s,
            article_id="barnteam",
            lang="sv",
            text="får en vikarie vara med på tisdagsträffen med logopeden",
            by_staff_id=None,
            now=app.bot_data.clock(),
        )
    )
    assert added.revision == 2
    kb.check_every = 0.0
    card = await person.ask("får en vikarie vara med på tisdagsträffen med logopeden")
    assert shown(card).startswith(f"📘 {kb.get('barnteam', 'sv').title}")  # type: ignore[union-attr]
    assert kb.revision == 2
    # Starting again on a database with articles imports nothing.
    assert not db.call(store.seed_if_empty, seed, app.bot_data.clock())
