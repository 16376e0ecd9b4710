"""Pulse results and trends, and the job that closes due pulses and tells their organisers.

Results are never shown while a pulse is open (only the number of answers, with the choice to
close it now), so nobody can work out one person's answer by comparing results before and
after it. Only the organiser and admins see a pulse's results; a trend is all of Dalsland for
admins, a municipality for coordinators, and one's own pulses for other staff."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Final, Literal

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, InputFile, Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.buttons import ButtonData, Page, RowId, Token
from bot.context import BotContext
from bot.i18n import Lang, as_lang, format_date_short, format_datetime, t, tn
from handlers.common import (
    Pressed,
    checked_press,
    edit_or_send,
    keyboard,
    municipality_label,
    page_buttons,
    parse_mode,
    reply,
)
from handlers.pulse.common import (
    is_private,
    local_time,
    prefixed,
    site_templates,
    staff_in_private,
    template_label,
)
from handlers.pulse.render import (
    ResultsCard,
    render_results_png,
    render_trend_png,
    render_trend_text,
    results_caption,
    results_details,
)
from handlers.pulse.unfinished import drop_drafts_of_closed, end_dropped
from storage.people import store as staff_store
from storage.people.models import Staff
from storage.pulse import drafts as drafts_store
from storage.pulse import store as pulse_store
from storage.pulse.models import Pulse

logger = logging.getLogger(__name__)

JOB_NAME: Final = "pulse_close"
JOB_INTERVAL_SECONDS: Final = 60


class PulseResultsButton(ButtonData, prefix="pres"):
    """A pulse in /puls_resultat (``show``), and for its organiser "close now" (``close``),
    then yes (``closeyes``) or no (``keep``): ``pres:<pulse id>:<action>``."""

    pulse_id: RowId
    action: Literal["show", "close", "closeyes", "keep"]


class PulseDetailsButton(ButtonData, prefix="pdet"):
    """On a closed pulse's results picture: its caption as the details, page ``page`` (from
    1), or back to the short caption (page 0): ``pdet:<pulse id>:<page>``."""

    pulse_id: RowId
    page: Page


class PulseTrendButton(ButtonData, prefix="ptr"):
    """A template in /puls_trend, ``ptr:<template key>``."""

    template: Token


# -- results ------------------------------------------------------------------------------


async def _card_and_comments(context: BotContext, pulse: Pulse) -> tuple[ResultsCard, list[str]]:
    """What the results card shows of a closed pulse, and its comments (empty when the
    results are hidden), in a fixed order that says nothing about who wrote them."""
    assert pulse.id is not None
    pulse_id = pulse.id
    results, comments = await context.db.run(
        lambda s: (
            pulse_store.pulse_results(s, pulse=pulse),
            pulse_store.pulse_comments(s, pulse_id=pulse_id),
        )
    )
    closed_on = local_time(pulse.closed_at, context).date() if pulse.closed_at else None
    card = ResultsCard(results, pulse_store.pulse_template(pulse), pulse.label, closed_on)
    return card, comments if results.visible else []


def _details_markup(pulse_id: int, page: int, pages: int, lang: Lang) -> InlineKeyboardMarkup:
    """Under the results picture: "details" on the short caption; on a details page the
    pages beside it and "summary"."""
    if page == 0:
        details = PulseDetailsButton(pulse_id, 1).pack()
        return keyboard([[(t("pulse.details_button", lang), details)]])
    nav = page_buttons(
        page - 1, pages, lang, lambda other: PulseDetailsButton(pulse_id, other + 1).pack()
    )
    summary = [(t("pulse.summary_button", lang), PulseDetailsButton(pulse_id, 0).pack())]
    return keyboard([nav, summary] if nav else [summary])


async def send_results(context: BotContext, chat_id: int, pulse: Pulse, lang: Lang) -> None:
    """A closed pulse's results card: one picture with a short caption and a button for the
    details; below k only that there were too few answers."""
    card, _comments = await _card_and_comments(context, pulse)
    assert pulse.id is not None
    if not card.results.visible:
        text = f"{card.title(lang)}\n{t('pulse.too_few_closed', lang)}"
        await context.bot.send_message(chat_id, text, parse_mode=parse_mode(True))
        return
    picture = await asyncio.to_thread(render_results_png, card.results, card.template, lang)
    await context.bot.send_photo(
        chat_id,
        InputFile(picture, filename="puls-resultat.png"),
        caption=results_caption(card, lang),
        parse_mode=parse_mode(True),
        reply_markup=_details_markup(pulse.id, 0, 1, lang),
    )


async def list_results(update: Update, context: BotContext) -> None:
    """Staff see their pulses (admins everyone's) as buttons, newest first."""
    checked = await staff_in_private(update, context)
    if checked is None:
        return
    staff, lang = checked
    pulses = await context.db.run(lambda s: pulse_store.pulses_for(s, staff=staff))
    if not pulses:
        await reply(update, t("pulse.results_none", lang))
        return
    now = context.now()
    rows = []
    for pulse in pulses:
        assert pulse.id is not None
        key = (
            "pulse.results_option_open"
            if pulse_store.is_open(pulse, now)
            else ("pulse.results_option_closed")
        )
        date = format_date_short(local_time(pulse.created_at, context).date(), lang)
        rows.append(
            [
                (
                    t(key, lang, label=pulse.label, date=date),
                    PulseResultsButton(pulse.id, "show").pack(),
                )
            ]
        )
    await reply(update, t("pulse.results_pick", lang), keyboard(rows))


async def _may_see(
    update: Update, context: BotContext, press: Pressed[Any], pulse_id: int
) -> Pulse | None:
    """The pulse, if the presser may see its results here (a private chat, the organiser or
    an admin); otherwise they have been told the button does not apply."""
    pulse = await context.db.run(lambda s: pulse_store.get_pulse(s, pulse_id=pulse_id))
    if (
        pulse is None
        or not is_private(update)
        or not pulse_store.may_see_results(pulse, press.staff)
    ):
        await press.stale()
        return None
    return pulse


async def show_results(update: Update, context: BotContext) -> None:
    """A pulse's results; for an open pulse its count so far and the choice to close it."""
    press = await checked_press(update, context, PulseResultsButton)
    if press is None:
        return
    query, staff, lang = press.query, press.staff, press.lang
    pulse_id, action = press.data.pulse_id, press.data.action
    pulse = await _may_see(update, context, press, pulse_id)
    if pulse is None:
        return
    # Admins may look at every pulse's results, but only the organiser closes a pulse early.
    organiser = staff.id == pulse.organiser_id
    if action != "show" and not organiser:
        await press.stale()
        return
    await query.answer()
    now = context.now()
    template = pulse_store.pulse_template(pulse)
    chat = update.effective_chat
    assert chat is not None
    if action == "closeyes" and pulse_store.is_open(pulse, now):
        closed = await context.db.run(lambda s: _close_now(s, pulse_id, now, delivered=True))
        if closed is not None:
            logger.info("Pulse %s closed by its organiser", pulse_id)
            await drop_drafts_of_closed(context, [pulse_id])
            count = await context.db.run(lambda s: pulse_store.answer_count(s, pulse_id=pulse_id))
            await edit_or_send(update, closed_notice(closed, count, lang))
            await send_results(context, chat.id, closed, lang)
            return
        pulse = await context.db.run(lambda s: pulse_store.get_pulse(s, pulse_id=pulse_id)) or pulse
    if not pulse_store.is_open(pulse, now):
        if pulse.closed_at is None:  # due, but the job has not closed it yet
            pulse = (
                await context.db.run(lambda s: _close_now(s, pulse_id, now, delivered=organiser))
                or pulse
            )
        await drop_drafts_of_closed(context, [pulse_id])
        await send_results(context, chat.id, pulse, lang)
        return
    if action == "close":
        rows = [
            [(t("pulse.close_yes", lang), PulseResultsButton(pulse_id, "closeyes").pack())],
            [(t("pulse.close_no", lang), PulseResultsButton(pulse_id, "keep").pack())],
        ]
        await edit_or_send(
            update, t("pulse.close_confirm", lang, label=pulse.label), keyboard(rows)
        )
        return
    if action in ("keep", "closeyes"):
        await edit_or_send(update, t("pulse.close_kept", lang))
        return
    count = await context.db.run(lambda s: pulse_store.answer_count(s, pulse_id=pulse_id))
    # Never the exact count while open: watching it step from k-1 to k would tell the
    # organiser when one person answered (and, with their own answers, what).
    shown = "count_at_least_k" if count >= pulse.k else "count_below_k"
    text = t(
        "pulse.results_open",
        lang,
        title=template.title.get(lang),
        label=pulse.label,
        count=t(f"pulse.{shown}", lang, k=pulse.k),
        closes=format_datetime(local_time(pulse.closes_at, context), lang),
    )
    close_now = PulseResultsButton(pulse_id, "close").pack()
    close = keyboard([[(t("pulse.close_now", lang), close_now)]])
    await reply(update, text, close if organiser else None)


async def show_details(update: Update, context: BotContext) -> None:
    """On the results picture: the caption becomes the details (a page of them), or the
    short caption again; edited in place."""
    press = await checked_press(update, context, PulseDetailsButton)
    if press is None:
        return
    pulse = await _may_see(update, context, press, press.data.pulse_id)
    message = press.query.message
    if (
        pulse is None
        or pulse.id is None
        or pulse.closed_at is None
        or not isinstance(message, Message)
        or not message.photo
    ):
        if pulse is not None:
            await press.stale()
        return
    await press.query.answer()
    card, comments = await _card_and_comments(context, pulse)
    lang, page = press.lang, press.data.page
    if page == 0 or not card.results.visible:
        caption, markup = results_caption(card, lang), _details_markup(pulse.id, 0, 1, lang)
    else:
        caption, pages = results_details(card, comments, lang, page)
        markup = _details_markup(pulse.id, min(page, pages), pages, lang)
    try:
        await press.query.edit_message_caption(
            caption=caption, parse_mode=parse_mode(True), reply_markup=markup
        )
    except BadRequest as exc:
        # A double tap asks for the same caption again; Telegram refuses "not modified".
        if "not modified" not in str(exc).lower():
            raise


def closed_notice(pulse: Pulse, count: int, lang: Lang) -> str:
    """ "Your pulse has closed" with its number of answers (none below k)."""
    if count < pulse.k:
        return t("pulse.closed_notice_hidden", lang, label=pulse.label)
    answers = tn("pulse.answers", count, lang)
    return t("pulse.closed_notice", lang, label=pulse.label, answers=answers)


def _close_now(
    session: Session, pulse_id: int, now: dt.datetime, *, delivered: bool
) -> Pulse | None:
    """Close the pulse; ``delivered``: the organiser is looking at the results, so the
    closing job need not send them."""
    pulse = pulse_store.close_pulse(session, pulse_id=pulse_id, now=now)
    if delivered:
        pulse_store.claim_notification(session, pulse_id=pulse_id, now=now)
    return pulse


# -- trends -------------------------------------------------------------------------------


async def pick_trend(update: Update, context: BotContext) -> None:
    """Staff pick the template whose trend they want to see."""
    checked = await staff_in_private(update, context)
    if checked is None:
        return
    _staff, lang = checked
    templates = await site_templates(context)
    rows = [
        [(template_label(template, lang), PulseTrendButton(key).pack())]
        for key, template in templates.items()
    ]
    await reply(update, t("pulse.trend_pick", lang), keyboard(rows))


def _scope_text(scope: pulse_store.TrendScope, lang: Lang) -> str:
    if scope.organiser_id is not None:
        return t("pulse.trend_scope_own", lang)
    if scope.municipality is not None:
        municipality = municipality_label(scope.municipality, lang)
        return t("pulse.trend_scope_municipality", lang, municipality=municipality)
    return t("pulse.trend_scope_all", lang)


async def show_trend(update: Update, context: BotContext) -> None:
    """A template's trend over the last closed pulses in the person's scope: text and chart."""
    press = await checked_press(update, context, PulseTrendButton)
    if press is None:
        return
    template = (await site_templates(context)).get(press.data.template)
    if template is None or not is_private(update):
        await press.stale()
        return
    query, staff, lang = press.query, press.staff, press.lang
    await query.answer()
    scope, tz = pulse_store.trend_scope(staff), context.settings.tz
    points = await context.db.run(
        lambda s: pulse_store.trend_points(s, template_key=template.key, scope=scope, tz=tz)
    )
    text = render_trend_text(points, template, lang)
    await edit_or_send(update, prefixed(_scope_text(scope, lang), text))
    if points:
        picture = await asyncio.to_thread(render_trend_png, points, template, lang)
        chat = update.effective_chat
        assert chat is not None
        await chat.send_photo(InputFile(picture, filename="puls-trend.png"))


# -- the closing job ----------------------------------------------------------------------


async def _notify_organiser(context: BotContext, pulse_id: int, now: dt.datetime) -> None:
    """Tell the organiser their pulse has closed, with a button for the results: claimed in
    the database first, so it is told once whichever process gets there; given back when
    Telegram could not be reached, so the next run tries again."""

    def claim(session: Session) -> tuple[Pulse, Staff, int] | None:
        if not pulse_store.claim_notification(session, pulse_id=pulse_id, now=now):
            return None
        pulse = pulse_store.get_pulse(session, pulse_id=pulse_id)
        assert pulse is not None
        organiser = staff_store.get_staff_by_id(session, staff_id=pulse.organiser_id)
        if organiser is None or not organiser.active:
            return None
        return pulse, organiser, pulse_store.answer_count(session, pulse_id=pulse_id)

    claimed = await context.db.run(claim)
    if claimed is None:
        return
    pulse, organiser, count = claimed
    lang = as_lang(organiser.language)
    show = PulseResultsButton(pulse_id, "show").pack()
    markup = keyboard([[(t("pulse.show_results", lang), show)]]) if count >= pulse.k else None
    try:
        await context.bot.send_message(
            organiser.telegram_id, closed_notice(pulse, count, lang), reply_markup=markup
        )
    except (BadRequest, Forbidden) as exc:
        # Blocked or gone: the organiser can still ask with /puls_resultat.
        logger.warning("Pulse %s: closing notice not delivered (%s)", pulse_id, type(exc).__name__)
    except (NetworkError, RetryAfter):
        await context.db.run(lambda s: pulse_store.release_notification(s, pulse_id=pulse_id))
        logger.warning("Pulse %s: closing notice will be tried again", pulse_id)


async def close_due_pulses(context: BotContext) -> None:
    """Every minute: drop expired drafts, close due pulses, send their organisers the results."""
    now = context.now()
    expired = await context.db.run(drafts_store.drop_expired, now)
    await end_dropped(context, expired, "pulse.expired")
    closed = await context.db.run(lambda s: pulse_store.close_due_pulses(s, now=now))
    if closed:
        await drop_drafts_of_closed(context, closed)
        logger.info("Closed %d pulse(s)", len(closed))
    for pulse_id in await context.db.run(pulse_store.pulses_to_notify):
        await _notify_organiser(context, pulse_id, now)
