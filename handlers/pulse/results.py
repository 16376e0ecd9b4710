"""Pulse results and trends, and the job that closes due pulses and tells their organisers.

Results are never shown while a pulse is open (only the number of answers, with the choice to
close it now), so nobody can work out one person's answer by comparing results before and
after it. Only the organiser and admins see a pulse's results; a trend is all of Dalsland for
admins, a municipality for coordinators, and one's own pulses for other staff."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Final, Literal

from sqlmodel import Session
from telegram import InputFile, Update
from telegram.error import BadRequest, Forbidden, NetworkError

from bot.buttons import ButtonData, RowId, Token
from bot.context import BotContext
from bot.i18n import Lang, as_lang, format_date_short, format_datetime, t
from handlers.common import (
    checked_press,
    edit_or_send,
    keyboard,
    municipality_label,
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
    render_results_png,
    render_results_text,
    render_trend_png,
    render_trend_text,
)
from handlers.pulse.unfinished import drop_drafts_of_closed, end_dropped
from storage.people import store as staff_store
from storage.people.models import Staff
from storage.pulse import drafts as drafts_store
from storage.pulse import store as pulse_store
from storage.pulse.logic import PulseResults, shuffled_comments
from storage.pulse.models import Pulse

logger = logging.getLogger(__name__)

JOB_NAME: Final = "pulse_close"
JOB_INTERVAL_SECONDS: Final = 60


class PulseResultsButton(ButtonData, prefix="pres"):
    """A pulse in /puls_resultat (``show``), and for its organiser "close now" (``close``),
    then yes (``closeyes``) or no (``keep``): ``pres:<pulse id>:<action>``."""

    pulse_id: RowId
    action: Literal["show", "close", "closeyes", "keep"]


class PulseTrendButton(ButtonData, prefix="ptr"):
    """A template in /puls_trend, ``ptr:<template key>``."""

    template: Token


# -- results ------------------------------------------------------------------------------


async def _results_and_comments(
    context: BotContext, pulse: Pulse
) -> tuple[PulseResults, list[str]]:
    assert pulse.id is not None
    pulse_id = pulse.id
    return await context.db.run(
        lambda s: (
            pulse_store.pulse_results(s, pulse=pulse),
            pulse_store.pulse_comments(s, pulse_id=pulse_id),
        )
    )


async def send_results(
    context: BotContext, chat_id: int, pulse: Pulse, lang: Lang, heading: str
) -> None:
    """The closed pulse's results as text (comments in random order) and, when there is
    anything that may be shown, as a PNG chart."""
    results, comments = await _results_and_comments(context, pulse)
    template = pulse_store.pulse_template(pulse)
    closed_on = local_time(pulse.closed_at, context).date() if pulse.closed_at else None
    shown = shuffled_comments(comments) if results.visible else []
    text = render_results_text(results, template, lang, shown, date=closed_on, closed=True)
    await context.bot.send_message(chat_id, prefixed(heading, text))
    if results.visible:
        picture = await asyncio.to_thread(render_results_png, results, template, lang)
        await context.bot.send_photo(chat_id, InputFile(picture, filename="puls-resultat.png"))


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


async def show_results(update: Update, context: BotContext) -> None:
    """A pulse's results; for an open pulse its count so far and the choice to close it."""
    press = await checked_press(update, context, PulseResultsButton)
    if press is None:
        return
    if not is_private(update):
        await press.stale()
        return
    query, staff, lang = press.query, press.staff, press.lang
    pulse_id, action = press.data.pulse_id, press.data.action
    pulse = await context.db.run(lambda s: pulse_store.get_pulse(s, pulse_id=pulse_id))
    # Admins may look at every pulse's results, but only the organiser closes a pulse early.
    organiser = staff.id == pulse.organiser_id if pulse is not None else False
    if (
        pulse is None
        or not pulse_store.may_see_results(pulse, staff)
        or (action != "show" and not organiser)
    ):
        await query.answer(t("core.stale_button", lang), show_alert=True)
        return
    await query.answer()
    now = context.now()
    template = pulse_store.pulse_template(pulse)
    chat = update.effective_chat
    assert chat is not None
    if action == "closeyes" and pulse_store.is_open(pulse, now):
        pulse = (
            await context.db.run(lambda s: _close_now(s, pulse_id, now, delivered=True)) or pulse
        )
        logger.info("Pulse %s closed by its organiser", pulse_id)
    if not pulse_store.is_open(pulse, now):
        if pulse.closed_at is None:  # due, but the job has not closed it yet
            pulse = (
                await context.db.run(lambda s: _close_now(s, pulse_id, now, delivered=organiser))
                or pulse
            )
        await drop_drafts_of_closed(context, [pulse_id])
        heading = t("pulse.results_label", lang, label=pulse.label)
        await send_results(context, chat.id, pulse, lang, heading)
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
    def claim(session: Session) -> tuple[Pulse, Staff] | None:
        if not pulse_store.claim_notification(session, pulse_id=pulse_id, now=now):
            return None
        pulse = pulse_store.get_pulse(session, pulse_id=pulse_id)
        assert pulse is not None
        organiser = staff_store.get_staff_by_id(session, staff_id=pulse.organiser_id)
        return (pulse, organiser) if organiser is not None and organiser.active else None

    claimed = await context.db.run(claim)
    if claimed is None:
        return
    pulse, organiser = claimed
    lang = as_lang(organiser.language)
    heading = t("pulse.closed_notice", lang, label=pulse.label)
    try:
        await send_results(context, organiser.telegram_id, pulse, lang, heading)
    except (BadRequest, Forbidden, NetworkError) as exc:
        # The organiser can still ask with /puls_resultat.
        logger.warning("Pulse %s: results not delivered (%s)", pulse_id, type(exc).__name__)


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
