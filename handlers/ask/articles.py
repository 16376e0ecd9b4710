"""Reading the knowledge base's articles: an answer card redrawn in place (the whole article
with "Läs mer", the related articles and the coordinator behind "Fler val ▾"), another
article's answer card (a related, suggestion or topic button) and /artiklar, the topics a
page at a time."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import NO_PREVIEW, BotContext
from bot.i18n import as_lang
from handlers.ask.buttons import ArticleButton, ArticlesPageButton, CardButton, View
from handlers.ask.render import (
    ARTICLES_PER_PAGE,
    Card,
    CardSpec,
    article_card,
    articles_page,
    card_rows,
    card_text,
    expanded_article,
    localised,
)
from handlers.ask.shared import contact_numbers, knowledge_base, send_card
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
from storage.knowledge import articles as kb_articles
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
    """ "Läs mer" on a card sent before cards were redrawn in place: the whole article in one
    message."""
    pressed = await _pressed_article(update, context)
    if pressed is None:
        return
    press, article = pressed
    await press.query.answer()
    expanded = Card(expanded_article(article, press.data.lang))
    await send_card(update, expanded)


async def redraw_card(update: Update, context: BotContext) -> None:
    """Redraws the pressed answer card in place: the whole article or the short card again
    (the text), or "Fler val ▾" opened or closed (the buttons only)."""
    press = await checked_press(update, context, CardButton)
    if press is None:
        return
    button, kb = press.data, knowledge_base(context)
    row = None
    if button.well_formed:
        row = await context.db.run(kb_store.card_of, question_id=button.log_id)
    article = localised(kb, row.article_id, row.lang) if row is not None else None
    message = press.query.message
    if row is None or article is None or message is None:
        await press.stale()
        return
    lang = as_lang(row.lang)
    local = None
    if row.emergency and row.municipality is not None:
        local = contact_numbers(context).for_municipality(row.municipality)
    view = View(button.view)
    # "More ▾" offers an editor "Propose a change" in their own chat (checked again when
    # pressed); a group's card is everyone's.
    private = message.chat.type == ChatType.PRIVATE
    editor = (
        View.MENU in view
        and private
        and await context.db.run(kb_articles.is_editor, press.staff_id)
    )
    spec = CardSpec(
        article, lang, button.log_id, view, row.emergency, button.lead, row.asked, local,
        context.now().astimezone(context.settings.tz).date(), context.settings.kb_review_days,
        can_edit=editor,
    )  # fmt: skip
    await press.query.answer()
    markup = keyboard(card_rows(kb, spec))
    try:
        # Text and buttons together, always: two taps in flight (read more, then "More ▾" on
        # the message as it was) must not leave the whole article under a "read more" button.
        await press.query.edit_message_text(
            card_text(spec),
            reply_markup=markup,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as exc:
        # A double tap asks for the same card again; Telegram refuses "not modified".
        if "not modified" not in str(exc).lower():
            raise


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
    today = context.now().astimezone(context.settings.tz).date()
    spec = CardSpec(
        article,
        lang,
        log_id,
        can_forward=False,
        today=today,
        review_days=context.settings.kb_review_days,
    )
    await send_card(update, article_card(kb, spec))


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
        CallbackQueryHandler(redraw_card, pattern=CardButton.matching()),
        CallbackQueryHandler(read_more, pattern=ArticleButton.matching(action="more")),
        CallbackQueryHandler(open_article, pattern=ArticleButton.matching(action="art")),
        CallbackQueryHandler(turn_page, pattern=ArticlesPageButton.matching()),
    ]
