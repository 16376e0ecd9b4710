"""Verification: every article has an owner who confirms it is still correct.

A daily job (working-day mornings, Europe/Stockholm) sends each owner whose article is due
one message (never twice: the reminder is claimed in the database before it is sent, see
storage/knowledge/verification.py) with the article's title, short answer and three buttons:
"Still correct" (the review date becomes today), "Needs a change" (the editor's proposal
flow for that article) and "Not mine" (the admins are told and pick another owner with a
tap). Due articles without an owner are listed for the admins the same morning. Admins list
overdue and ownerless articles with /kb_granska (/kb_review).

Every button carries only ids; each press reloads the reminder or article and the presser's
rights: a reminder's buttons work only for the person it was sent to, the admin buttons only
for admins.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Final, Literal

from sqlmodel import Session
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.buttons import ButtonData, Page, RowId, Token
from bot.context import BotContext, DalsbotApp, Feature
from bot.i18n import Lang, as_lang, format_date, t, tn
from handlers.ask.render import escape
from handlers.ask.shared import knowledge_base
from handlers.common import (
    ADMIN_ONLY,
    CommandSpec,
    Pressed,
    authorise,
    checked_press,
    edit_or_send,
    first_press,
    keyboard,
    page_buttons,
    page_of,
    private_only,
    reply,
    shorten,
    user_lang,
)
from handlers.kb import gaps
from handlers.kb.buttons import KbOpenButton
from storage.knowledge import articles as kb_articles
from storage.knowledge import verification
from storage.knowledge.verification import ArticleReview, NoticeState
from storage.people import store as staff_store
from storage.people.models import Role, Staff
from storage.plans.duetimes import DEFAULT_CALENDAR, ReminderPolicy

logger = logging.getLogger(__name__)

# The daily look for due articles: a working-day morning, after the quiet hours.
REVIEW_TIME: Final = dt.time(8, 30)
JOB_NAME: Final = "kb:review-reminders"
PER_PAGE: Final = 6
SHORT_LIMIT: Final = 500

COMMANDS = [
    CommandSpec("kb_gaps", "ask.commands.kb_gaps", ADMIN_ONLY),
    CommandSpec("kb_review", "kb.verify.command", ADMIN_ONLY, sv="kb_granska", en="kb_review"),
]


# -- buttons -----------------------------------------------------------------------------------


class ReviewButton(ButtonData, prefix="kbrev"):
    """``kbrev:ok|change|away:<notice id>``: the owner's answer to a review reminder."""

    action: Literal["ok", "change", "away"]
    notice_id: RowId


class ReviewArticleButton(ButtonData, prefix="kbrev"):
    """``kbrev:open|mark:<article id>:<lang>``: an admin opens an article of the review list,
    or marks it as reviewed."""

    action: Literal["open", "mark"]
    article_id: Token
    lang: Lang


class OwnersButton(ButtonData, prefix="kbrev"):
    """``kbrev:owners:<article id>:<page>``: the people an admin may make the owner."""

    action: Literal["owners"]
    article_id: Token
    page: Page


class OwnerButton(ButtonData, prefix="kbrev"):
    """``kbrev:owner:<article id>:<staff id>``: make this person the article's owner."""

    action: Literal["owner"]
    article_id: Token
    staff_id: RowId


class ReviewListButton(ButtonData, prefix="kbrev"):
    """``kbrev:list:<page>``: the review list (overdue and ownerless articles)."""

    action: Literal["list"]
    page: Page


# -- texts ---------------------------------------------------------------------------------------


def reminder_text(review: ArticleReview, lang: Lang) -> str:
    """The owner's reminder (HTML): title, short answer, last review date."""
    return t(
        "kb.verify.due",
        lang,
        title=escape(review.title(lang)),
        short=escape(shorten(review.short(lang), SHORT_LIMIT)),
        date=format_date(review.reviewed, lang),
    )


def reminder_rows(notice_id: int, lang: Lang) -> list[list[tuple[str, str]]]:
    """Still correct / Needs a change / Not mine."""
    return [
        [(t("kb.verify.ok_button", lang), ReviewButton("ok", notice_id).pack())],
        [
            (t("kb.verify.change_button", lang), ReviewButton("change", notice_id).pack()),
            (t("kb.verify.not_mine_button", lang), ReviewButton("away", notice_id).pack()),
        ],
    ]


def owner_rows(article_id: str, lang: Lang) -> list[list[tuple[str, str]]]:
    """The admin's button to choose an owner."""
    return [[(t("kb.verify.assign_button", lang), OwnersButton("owners", article_id, 0).pack())]]


# -- the daily job -------------------------------------------------------------------------------


async def send_review_reminders(context: BotContext) -> None:
    """Daily job: remind each owner of their due articles once; tell the admins about due
    articles without an owner. Only on working days, never in the quiet hours. Also forgets
    handled work-list questions older than the list."""
    now = context.now()
    # Handled work-list questions older than the list's 30 days hide nothing any more.
    await context.db.run(lambda session: verification.purge_done_gaps(session, now=now))
    local = now.astimezone(context.settings.tz)
    if not DEFAULT_CALENDAR.is_working_day(local.date()) or ReminderPolicy().is_quiet(local.time()):
        return
    days = context.settings.kb_review_days
    due = await context.db.run(
        lambda session: verification.due_articles(session, today=local.date(), default_days=days)
    )
    unowned: list[ArticleReview] = []
    for review in due:
        if review.owner_staff_id is None:
            if await _claim(context, review, None):
                unowned.append(review)
            continue
        await remind_owner(context, review)
    if unowned:
        await tell_admins_unowned(context, unowned)


async def _claim(context: BotContext, review: ArticleReview, staff: Staff | None) -> int | None:
    staff_id = staff.id if staff is not None else None
    lang = review.lang_for(staff.language if staff is not None else "sv")
    now = context.now()
    return await context.db.run(
        lambda session: verification.claim_notice(
            session,
            article_id=review.article_id,
            lang=lang,
            due=review.due,
            staff_id=staff_id,
            now=now,
        )
    )


async def remind_owner(context: BotContext, review: ArticleReview) -> bool:
    """Send the owner the reminder of ``review`` unless it was sent for this due date."""
    assert review.owner_staff_id is not None
    owner_id = review.owner_staff_id
    staff = await context.db.run(
        lambda session: staff_store.get_staff_by_id(session, staff_id=owner_id)
    )
    if staff is None or not staff.active:
        # An owner who left: the admins see the article as ownerless-and-due in /kb_review.
        return False
    notice_id = await _claim(context, review, staff)
    if notice_id is None:
        return False
    lang = as_lang(staff.language)
    try:
        await context.bot.send_message(
            staff.telegram_id,
            reminder_text(review, lang),
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(reminder_rows(notice_id, lang)),
        )
    except (Forbidden, BadRequest):
        logger.warning("Review reminder %s: the owner cannot be reached", notice_id)
        await context.db.run(
            lambda session: verification.notice_unreachable(session, notice_id=notice_id)
        )
        return False
    except NetworkError:
        # Not known to have arrived: give the claim back; the next working day tries again.
        logger.warning("Review reminder %s: network error, tried again later", notice_id)
        await context.db.run(
            lambda session: verification.release_notice(session, notice_id=notice_id)
        )
        return False
    await context.db.run(lambda session: verification.notice_sent(session, notice_id=notice_id))
    logger.info("Review reminder %s sent for article %s", notice_id, review.article_id)
    return True


async def _admins(context: BotContext) -> list[Staff]:
    return await context.db.run(
        lambda session: [
            s for s in staff_store.list_staff(session) if s.role == Role.ADMIN.value and s.active
        ]
    )


async def _send_to_admins(
    context: BotContext, make: Callable[[Lang], tuple[str, list[list[tuple[str, str]]]]]
) -> int:
    delivered = 0
    for admin in await _admins(context):
        lang = as_lang(admin.language)
        text, rows = make(lang)
        try:
            await context.bot.send_message(
                admin.telegram_id, text, reply_markup=keyboard(rows) if rows else None
            )
            delivered += 1
        except (Forbidden, BadRequest, NetworkError):
            logger.warning("Could not reach admin %s about article review", admin.id)
    return delivered


async def tell_admins_unowned(context: BotContext, unowned: list[ArticleReview]) -> None:
    """The admins hear, once per due date, which due articles have no owner."""

    def make(lang: Lang) -> tuple[str, list[list[tuple[str, str]]]]:
        lines = [tn("kb.verify.unowned_admin", len(unowned), lang)]
        lines += [f"• {review.title(lang)}" for review in unowned[:10]]
        button = (t("kb.verify.open_list_button", lang), ReviewListButton("list", 0).pack())
        return "\n".join(lines), [[button]]

    await _send_to_admins(context, make)


# -- the owner's answer --------------------------------------------------------------------------


async def _owner_press(
    update: Update, context: BotContext
) -> tuple[Pressed[ReviewButton], ArticleReview] | None:
    """A press on a reminder's button by the person it was sent to, still unanswered."""
    press = await checked_press(update, context, ReviewButton)
    if press is None:
        return None
    notice_id, days = press.data.notice_id, context.settings.kb_review_days

    def read(session: Session) -> tuple[verification.KbReviewNotice | None, ArticleReview | None]:
        notice = verification.get_notice(session, notice_id=notice_id)
        review = None
        if notice is not None:
            review = verification.article_review(
                session, article_id=notice.article_id, default_days=days
            )
        return notice, review

    notice, review = await context.db.run(read)
    if notice is None or notice.staff_id != press.staff_id:
        await press.query.answer(t("kb.verify.not_yours", press.lang), show_alert=True)
        return None
    if notice.state != NoticeState.SENT.value:
        await press.query.answer(t("kb.verify.answered", press.lang), show_alert=True)
        return None
    if review is None:
        await press.query.answer(t("kb.verify.gone", press.lang), show_alert=True)
        return None
    return press, review


async def _answer(context: BotContext, notice_id: int, staff_id: int, state: NoticeState) -> bool:
    now = context.now()
    return await context.db.run(
        lambda session: verification.answer_notice(
            session, notice_id=notice_id, staff_id=staff_id, state=state, now=now
        )
    )


async def _answered_press(
    update: Update, context: BotContext, state: NoticeState
) -> tuple[Pressed[ReviewButton], ArticleReview] | None:
    """The owner's press (see ``_owner_press``) with the reminder answered as ``state`` and the
    press acknowledged; None (with an alert) when the reminder was answered meanwhile."""
    pressed = await _owner_press(update, context)
    if pressed is None:
        return None
    press, _review = pressed
    if not await _answer(context, press.data.notice_id, press.staff_id, state):
        await press.query.answer(t("kb.verify.answered", press.lang), show_alert=True)
        return None
    await press.query.answer()
    return pressed


async def still_correct(update: Update, context: BotContext) -> None:
    """ "Still correct": the article's review date becomes today; the reminder says so."""
    pressed = await _owner_press(update, context)
    if pressed is None:
        return
    press, review = pressed
    data, lang, staff_id, now = press.data, press.lang, press.staff_id, context.now()
    today = now.astimezone(context.settings.tz).date()

    def confirm(session: Session) -> bool:
        if not verification.answer_notice(
            session,
            notice_id=data.notice_id,
            staff_id=staff_id,
            state=NoticeState.REVIEWED,
            now=now,
        ):
            return False
        return verification.mark_article_reviewed(
            session, article_id=review.article_id, by_staff_id=staff_id, today=today, now=now
        )

    if not await context.db.run(confirm):
        await press.query.answer(t("kb.verify.answered", lang), show_alert=True)
        return
    days = context.settings.kb_review_days
    fresh = await context.db.run(
        lambda session: verification.article_review(
            session, article_id=review.article_id, default_days=days
        )
    )
    await press.query.answer()
    # The new review date shows in answers at once here (other processes within seconds).
    await asyncio.to_thread(knowledge_base(context).refresh, force=True)
    following = fresh.due if fresh is not None else today
    await edit_or_send(
        update,
        t(
            "kb.verify.reviewed",
            lang,
            title=review.title(lang),
            date=format_date(today, lang),
            next=format_date(following, lang),
        ),
    )
    logger.info("Article %s confirmed as still correct", review.article_id)


async def needs_change(update: Update, context: BotContext) -> None:
    """ "Needs a change": the reminder is answered and the proposal flow opens."""
    pressed = await _answered_press(update, context, NoticeState.CHANGE)
    if pressed is None:
        return
    press, review = pressed
    lang = press.lang
    # The editors' proposal flow (handlers/kb/edit.py) starts from the article's ✏️ button.
    article_lang = as_lang(review.lang_for(lang))
    edit = KbOpenButton(review.article_id, article_lang).pack()
    text = t("kb.verify.change_hint", lang, title=review.title(lang))
    await edit_or_send(update, text, keyboard([[(t("kb.verify.edit_button", lang), edit)]]))


async def not_mine(update: Update, context: BotContext) -> None:
    """ "Not mine": the reminder is answered and the admins are told, with an owner picker."""
    pressed = await _answered_press(update, context, NoticeState.NOT_MINE)
    if pressed is None:
        return
    press, review = pressed
    lang = press.lang
    await edit_or_send(update, t("kb.verify.handed_over", lang, title=review.title(lang)))
    name = press.staff.display_name

    def make(admin_lang: Lang) -> tuple[str, list[list[tuple[str, str]]]]:
        text = t("kb.verify.not_mine_admin", admin_lang, name=name, title=review.title(admin_lang))
        return text, owner_rows(review.article_id, admin_lang)

    await _send_to_admins(context, make)
    logger.info("Article %s handed back to the admins", review.article_id)


# -- the admins' review list -------------------------------------------------------------------


def _needs_attention(reviews: list[ArticleReview], today: dt.date) -> list[ArticleReview]:
    """Overdue articles first (most overdue first), then the ownerless ones."""
    overdue = [r for r in reviews if r.due <= today]
    unowned = [r for r in reviews if r.due > today and r.owner_staff_id is None]
    return overdue + unowned


def review_list(
    reviews: list[ArticleReview], today: dt.date, lang: Lang, page: int
) -> tuple[str, list[list[tuple[str, str]]]]:
    """/kb_review: counts, then one button per article needing attention, a page at a time."""
    wanted = _needs_attention(reviews, today)
    overdue = sum(1 for r in reviews if r.due <= today)
    unowned = sum(1 for r in reviews if r.owner_staff_id is None)
    lines = [
        t("kb.verify.list_title", lang),
        t("kb.verify.list_counts", lang, overdue=overdue, unowned=unowned),
    ]
    if not wanted:
        return "\n".join([*lines, "", t("kb.verify.list_none", lang)]), []
    lines += ["", t("kb.verify.list_hint", lang)]
    shown, pages = page_of(wanted, page, PER_PAGE)
    rows = []
    for review in shown:
        key = (
            "kb.verify.list_overdue_button"
            if review.due <= today
            else "kb.verify.list_unowned_button"
        )
        label = shorten(t(key, lang, title=review.title(lang)), 60)
        data = ReviewArticleButton("open", review.article_id, as_lang(review.lang_for(lang))).pack()
        rows.append([(label, data)])
    nav = page_buttons(
        min(max(page, 0), pages - 1), pages, lang, lambda to: ReviewListButton("list", to).pack()
    )
    if nav:
        rows.append(nav)
    return "\n".join(lines), rows


async def _reviews(context: BotContext) -> list[ArticleReview]:
    days = context.settings.kb_review_days
    return await context.db.run(
        lambda session: verification.review_overview(session, default_days=days)
    )


def _today(context: BotContext) -> dt.date:
    return context.now().astimezone(context.settings.tz).date()


async def show_review_list(update: Update, context: BotContext) -> None:
    """/kb_granska: the overdue and ownerless articles, each a button."""
    staff = await authorise(update, context, ADMIN_ONLY)
    if staff is None:
        return
    lang = user_lang(update, context, staff)
    text, rows = review_list(await _reviews(context), _today(context), lang, 0)
    await reply(update, text, keyboard(rows) if rows else None)


async def turn_review_page(update: Update, context: BotContext) -> None:
    """◀/▶ in the review list (and "Open the review list" from the morning message)."""
    press = await checked_press(update, context, ReviewListButton, roles=ADMIN_ONLY)
    if press is None:
        return
    await press.query.answer()
    text, rows = review_list(await _reviews(context), _today(context), press.lang, press.data.page)
    await edit_or_send(update, text, keyboard(rows) if rows else None)


def article_text(review: ArticleReview, lang: Lang, owner: str, today: dt.date) -> str:
    """An article as the admin sees it in the review list (HTML)."""
    return t(
        "kb.verify.article",
        lang,
        title=escape(review.title(lang)),
        lang=review.lang_for(lang),
        short=escape(shorten(review.short(lang), SHORT_LIMIT)),
        owner=escape(owner),
        date=format_date(review.reviewed, lang),
        due=format_date(review.due, lang),
    )


async def _owner_name(context: BotContext, review: ArticleReview, lang: Lang) -> str:
    if review.owner_staff_id is None:
        return t("kb.verify.owner_none", lang)
    owner_id = review.owner_staff_id
    staff = await context.db.run(
        lambda session: staff_store.get_staff_by_id(session, staff_id=owner_id)
    )
    return staff.display_name if staff is not None else t("kb.verify.owner_none", lang)


async def open_article(update: Update, context: BotContext) -> None:
    """An article of the review list: mark it reviewed, choose its owner, or go back."""
    press = await checked_press(update, context, ReviewArticleButton, roles=ADMIN_ONLY)
    if press is None:
        return
    days = context.settings.kb_review_days
    article_id, lang = press.data.article_id, press.lang
    review = await context.db.run(
        lambda session: verification.article_review(
            session, article_id=article_id, default_days=days
        )
    )
    if review is None:
        await press.query.answer(t("kb.verify.gone", lang), show_alert=True)
        return
    await press.query.answer()
    if press.data.action == "mark":
        await _mark(update, context, press.staff_id, review, lang)
        return
    owner = await _owner_name(context, review, lang)
    rows = [
        [
            (
                t("kb.verify.mark_button", lang),
                ReviewArticleButton("mark", article_id, press.data.lang).pack(),
            )
        ],
        [(t("kb.verify.assign_button", lang), OwnersButton("owners", article_id, 0).pack())],
        [(t("kb.verify.back_button", lang), ReviewListButton("list", 0).pack())],
    ]
    await edit_or_send(
        update, article_text(review, lang, owner, _today(context)), keyboard(rows), html=True
    )


async def _mark(
    update: Update, context: BotContext, staff_id: int, review: ArticleReview, lang: Lang
) -> None:
    now, today = context.now(), _today(context)
    await context.db.run(
        lambda session: verification.mark_article_reviewed(
            session, article_id=review.article_id, by_staff_id=staff_id, today=today, now=now
        )
    )
    await asyncio.to_thread(knowledge_base(context).refresh, force=True)
    back = [[(t("kb.verify.back_button", lang), ReviewListButton("list", 0).pack())]]
    text = t("kb.verify.marked", lang, title=review.title(lang), date=format_date(today, lang))
    await edit_or_send(update, text, keyboard(back))
    logger.info("Article %s marked as reviewed by an admin", review.article_id)


async def choose_owner(update: Update, context: BotContext) -> None:
    """The people an admin may make the article's owner, a page at a time."""
    press = await checked_press(update, context, OwnersButton, roles=ADMIN_ONLY)
    if press is None:
        return
    days = context.settings.kb_review_days
    article_id, lang = press.data.article_id, press.lang
    review, people = await context.db.run(
        lambda session: (
            verification.article_review(session, article_id=article_id, default_days=days),
            verification.owner_candidates(session),
        )
    )
    if review is None:
        await press.query.answer(t("kb.verify.gone", lang), show_alert=True)
        return
    await press.query.answer()
    if not people:
        await edit_or_send(update, t("kb.verify.pick_none", lang))
        return
    shown, pages = page_of(people, press.data.page, PER_PAGE)
    page = min(max(press.data.page, 0), pages - 1)
    rows = [
        [(person.display_name, OwnerButton("owner", article_id, person.id or 1).pack())]
        for person in shown
    ]
    nav = page_buttons(page, pages, lang, lambda to: OwnersButton("owners", article_id, to).pack())
    if nav:
        rows.append(nav)
    rows.append([(t("kb.verify.back_button", lang), ReviewListButton("list", 0).pack())])
    await edit_or_send(
        update, t("kb.verify.pick_owner", lang, title=review.title(lang)), keyboard(rows)
    )


async def set_owner(update: Update, context: BotContext) -> None:
    """The admin's choice: the person owns the article (both languages) and is told."""
    press = await checked_press(update, context, OwnerButton, roles=ADMIN_ONLY)
    if press is None or not await first_press(update, context):
        return
    article_id, staff_id, lang = press.data.article_id, press.data.staff_id, press.lang
    days = context.settings.kb_review_days

    def assign(session: Session) -> tuple[ArticleReview | None, Staff | None]:
        candidates = {s.id: s for s in verification.owner_candidates(session)}
        person = candidates.get(staff_id)
        review = verification.article_review(session, article_id=article_id, default_days=days)
        if person is None or review is None:
            return review, None
        kb_articles.set_owner(session, article_id=article_id, lang=None, owner_staff_id=staff_id)
        return review, person

    review, person = await context.db.run(assign)
    if review is None or person is None:
        await press.query.answer(t("kb.verify.gone", lang), show_alert=True)
        return
    await press.query.answer()
    back = [[(t("kb.verify.back_button", lang), ReviewListButton("list", 0).pack())]]
    await edit_or_send(
        update,
        t("kb.verify.owner_set", lang, name=person.display_name, title=review.title(lang)),
        keyboard(back),
    )
    owner_lang = as_lang(person.language)
    if person.id != press.staff_id:
        try:
            await context.bot.send_message(
                person.telegram_id,
                t("kb.verify.owner_told", owner_lang, title=review.title(owner_lang)),
            )
        except (Forbidden, BadRequest, NetworkError):
            logger.warning("Could not tell staff %s they own article %s", person.id, article_id)
    logger.info("Article %s has a new owner", article_id)


# -- wiring ------------------------------------------------------------------------------------


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """/kb_review and the review buttons."""
    return [
        # The review list is for the admin's eyes only, never a group's.
        CommandHandler("kb_review", private_only, ~filters.ChatType.PRIVATE),
        CommandHandler("kb_review", show_review_list, filters.ChatType.PRIVATE),
        CallbackQueryHandler(still_correct, pattern=ReviewButton.matching(action="ok")),
        CallbackQueryHandler(needs_change, pattern=ReviewButton.matching(action="change")),
        CallbackQueryHandler(not_mine, pattern=ReviewButton.matching(action="away")),
        CallbackQueryHandler(open_article, pattern=ReviewArticleButton.matching()),
        CallbackQueryHandler(choose_owner, pattern=OwnersButton.matching()),
        CallbackQueryHandler(set_owner, pattern=OwnerButton.matching()),
        CallbackQueryHandler(turn_review_page, pattern=ReviewListButton.matching()),
    ]


def _handlers() -> list[BaseHandler[Update, BotContext, object]]:
    return [*build_handlers(), *gaps.build_handlers()]


def register(app: DalsbotApp) -> None:
    """Schedule the daily look for due articles (working-day mornings)."""
    if app.job_queue is not None:
        app.job_queue.run_daily(
            send_review_reminders,
            time=REVIEW_TIME.replace(tzinfo=app.bot_data.settings.tz),
            days=(1, 2, 3, 4, 5),  # Monday to Friday (PTB counts from Sunday = 0)
            name=JOB_NAME,
        )


# The knowledge base's upkeep: review reminders and /kb_review here, the /kb_gaps work list in
# handlers/kb/gaps.py.
FEATURE = Feature(name="kb_upkeep", commands=COMMANDS, handlers=_handlers, setup=register)
