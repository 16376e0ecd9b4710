"""Reading the knowledge base's articles: the whole article ("Läs mer"), another article's
answer card (a related, suggestion or topic button) and /artiklar, the topics a page at a
time."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from handlers.ask.buttons import ArticleButton, ArticlesPageButton
from handlers.ask.render import (
    ARTICLES_PER_PAGE,
    Card,
    article_card,
    articles_page,
    full_article,
    localised,
)
from handlers.ask.shared import knowledge_base, send_card
from handlers.common import (
    STAFF_ROLES,
    CommandSpec,
    Pressed,
    authorise,
    checked_press,
    edit_or_send,
    keyboard,
    reply,
    user_lang,
)
from knowledge.articles import Article
from storage.knowledge import store as kb_store
from storage.knowledge.models import QuestionKind

COMMANDS = [CommandSpec("artiklar", "ask.commands.artiklar", STAFF_ROLES)]


async def _pressed_article(
    update: Update, context: BotContext
) -> tuple[Pressed[ArticleButton], Article] | None:
    """A checked press and the article its button names, in the button's language if there;
    None (the presser told) when the press is refused, the id cannot be an article's or no
    such article exists."""
    press = await checked_press(update, context, ArticleButton)
    if press is None:
        return None
    button = press.data
    article = None
    if button.well_formed:
        article = localised(knowledge_base(context), button.article_id, button.lang)
    if article is None:
        await press.stale()
        return None
    return press, article


async def read_more(update: Update, context: BotContext) -> None:
    """Sends the whole article, in as many messages as it needs."""
    pressed = await _pressed_article(update, context)
    if pressed is None:
        return
    press, article = pressed
    await press.query.answer()
    for part in full_article(article, press.data.lang):
        await send_card(update.effective_chat, Card(part))


async def open_article(update: Update, context: BotContext) -> None:
    """Shows an article's answer card (from a related, suggestion or topic button)."""
    pressed = await _pressed_article(update, context)
    if pressed is None:
        return
    press, article = pressed
    lang, kb = press.data.lang, knowledge_base(context)
    log_id = await context.db.run(
        kb_store.log_question,
        staff_id=press.staff_id,
        question=None,
        answered=True,
        article_id=article.id,
        lang=lang,
        confidence=None,
        kind=QuestionKind.BROWSE,
        now=context.now(),
    )
    await press.query.answer()
    await send_card(
        update.effective_chat,
        article_card(
            kb, article, lang, log_id=log_id, related=list(article.related), can_forward=False
        ),
    )


# -- browsing ----------------------------------------------------------------------------------


async def browse_articles(update: Update, context: BotContext) -> None:
    """/artiklar: the topics as buttons, a page at a time."""
    staff = await authorise(update, context)
    if staff is None:
        return
    lang = user_lang(update, context, staff)
    card = articles_page(knowledge_base(context), lang, 0)
    await reply(update, card.text, keyboard(card.rows))


async def turn_page(update: Update, context: BotContext) -> None:
    """Shows another page of topics in the same message."""
    kb = knowledge_base(context)
    pages = -(-len(kb.ids()) // ARTICLES_PER_PAGE)
    press = await checked_press(update, context, ArticlesPageButton)
    if press is None:
        return
    if press.data.page >= pages:
        await press.stale()
        return
    await press.query.answer()
    card = articles_page(kb, press.lang, press.data.page)
    await edit_or_send(update, card.text, keyboard(card.rows))


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """/artiklar and the buttons that open articles."""
    return [
        CommandHandler("artiklar", browse_articles),
        CallbackQueryHandler(read_more, pattern=ArticleButton.matching(action="more")),
        CallbackQueryHandler(open_article, pattern=ArticleButton.matching(action="art")),
        CallbackQueryHandler(turn_page, pattern=ArticlesPageButton.matching()),
    ]
