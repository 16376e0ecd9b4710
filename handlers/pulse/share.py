"""Handing out an open pulse: sending its link to a plan's team, making it invited-only
(personal one-time links) and the organiser's own personal link."""

from __future__ import annotations

import logging
from typing import Literal

from telegram import Update
from telegram.error import BadRequest, Forbidden

from bot.buttons import ButtonData, RowId
from bot.context import BotContext
from bot.i18n import Lang, as_lang, t
from handlers.common import (
    checked_press,
    edit_or_send,
    keyboard,
    reply,
)
from handlers.pulse.common import (
    invite_link,
    pulse_link,
)
from storage.people.models import Staff
from storage.pulse import store as pulse_store
from storage.pulse.models import Pulse

logger = logging.getLogger(__name__)


class PulsePlansButton(ButtonData, prefix="ppl"):
    """ "Send to a plan's team": the organiser's plans as buttons, ``ppl:<pulse id>:0``."""

    pulse_id: RowId
    plan: Literal[0] = 0


class PulsePlanButton(ButtonData, prefix="ppl"):
    """One of those plans: its people get the link, ``ppl:<pulse id>:<plan id>``."""

    pulse_id: RowId
    plan_id: RowId


class PulseInvitedButton(ButtonData, prefix="pinv"):
    """ "Personal links only": make the pulse invited-only, ``pinv:<pulse id>``."""

    pulse_id: RowId


class PulseOwnLinkButton(ButtonData, prefix="pown"):
    """The organiser's own personal link to their invited-only pulse, ``pown:<pulse id>``."""

    pulse_id: RowId


async def _own_open_pulse(
    update: Update, context: BotContext, pulse_id: int, staff: Staff, lang: Lang
) -> Pulse | None:
    """The organiser's own open pulse, pressed in their private chat (links are never
    handed out in a group), or None after an alert."""
    pulse = await context.db.run(lambda s: pulse_store.get_pulse(s, pulse_id=pulse_id))
    query = update.callback_query
    assert query is not None
    private = update.effective_chat is not None and update.effective_chat.type == "private"
    if pulse is None or pulse.organiser_id != staff.id or not private:
        await query.answer(t("core.stale_button", lang), show_alert=True)
        return None
    if not pulse_store.is_open(pulse, context.now()):
        await query.answer(t("pulse.closed", lang), show_alert=True)
        return None
    return pulse


async def make_invited_only(update: Update, context: BotContext) -> None:
    """ "Personal links only": before anyone answered, the organiser turns the pulse into an
    invited-only one. The shared link and QR code stop working; each person in a plan's team
    gets their own one-time link from the bot, and the organiser one for themselves, so
    answering twice needs somebody else's link."""
    press = await checked_press(update, context, PulseInvitedButton)
    if press is None:
        return
    query, staff, lang = press.query, press.staff, press.lang
    pulse_id, staff_id = press.data.pulse_id, press.staff_id
    pulse = await _own_open_pulse(update, context, pulse_id, staff, lang)
    if pulse is None:
        return
    changed = await context.db.run(
        lambda s: pulse_store.make_invited_only(
            s, pulse_id=pulse_id, organiser_id=staff_id, now=context.now()
        )
    )
    if changed is None:
        await query.answer(t("pulse.invited_too_late", lang), show_alert=True)
        return
    await query.answer()
    rows = [
        [(t("pulse.send_to_plan", lang), PulsePlansButton(pulse_id).pack())],
        [(t("pulse.own_link_button", lang), PulseOwnLinkButton(pulse_id).pack())],
    ]
    await edit_or_send(update, t("pulse.invited_done", lang, label=pulse.label), keyboard(rows))


async def send_own_link(update: Update, context: BotContext) -> None:
    """The organiser's own personal link to their invited-only pulse (one, ever)."""
    press = await checked_press(update, context, PulseOwnLinkButton)
    if press is None:
        return
    query, staff, lang = press.query, press.staff, press.lang
    pulse_id = press.data.pulse_id
    pulse = await _own_open_pulse(update, context, pulse_id, staff, lang)
    if pulse is None or not pulse.invited_only:
        if pulse is not None:
            await query.answer(t("core.stale_button", lang), show_alert=True)
        return
    staff_id = press.staff_id
    token = await context.db.run(
        lambda s: pulse_store.own_link_once(s, pulse_id=pulse_id, organiser_id=staff_id)
    )
    if token is None:
        await query.answer(t("core.already_done", lang), show_alert=True)
        return
    await query.answer()
    link = invite_link(context.data.bot_username, token)
    await reply(update, t("pulse.own_link", lang, label=pulse.label, link=link))


async def pick_plan(update: Update, context: BotContext) -> None:
    """ "Send to a plan's team": the organiser's plans, one button each."""
    press = await checked_press(update, context, PulsePlansButton)
    if press is None:
        return
    query, staff, lang = press.query, press.staff, press.lang
    pulse = await _own_open_pulse(update, context, press.data.pulse_id, staff, lang)
    if pulse is None:
        return
    pulse_id, staff_id = press.data.pulse_id, press.staff_id
    plans = await context.db.run(lambda s: pulse_store.plans_of(s, staff_id=staff_id))
    await query.answer()
    if not plans:
        await reply(update, t("pulse.plan_none", lang))
        return
    rows = []
    for plan in plans:
        assert plan.id is not None
        rows.append([(plan.reference, PulsePlanButton(pulse_id, plan.id).pack())])
    await reply(update, t("pulse.plan_pick", lang), keyboard(rows))


async def send_to_plan(update: Update, context: BotContext) -> None:
    """The organiser picked one of their plans; its people get the link in a message."""
    press = await checked_press(update, context, PulsePlanButton)
    if press is None:
        return
    query, staff, lang = press.query, press.staff, press.lang
    pulse_id, plan_id, staff_id = press.data.pulse_id, press.data.plan_id, press.staff_id
    pulse = await _own_open_pulse(update, context, pulse_id, staff, lang)
    if pulse is None:
        return
    found = await context.db.run(
        lambda s: (
            pulse_store.plan_recipients(s, plan_id=plan_id, staff_id=staff_id),
            pulse_store.plans_of(s, staff_id=staff_id),
        )
    )
    recipients, plans = found
    reference = next((plan.reference for plan in plans if plan.id == plan_id), "")
    if recipients is None:
        await query.answer(t("core.stale_button", lang), show_alert=True)
        return
    invites = len(recipients) if pulse.invited_only else 0
    tokens = await context.db.run(
        lambda s: pulse_store.send_to_plan_once(
            s, pulse_id=pulse_id, plan_id=plan_id, invites=invites
        )
    )
    if tokens is None:
        await query.answer(t("core.already_done", lang), show_alert=True)
        return
    await query.answer()
    if not recipients:
        await edit_or_send(update, t("pulse.plan_nobody", lang, reference=reference))
        return
    sent = await _send_invitations(context, pulse, staff, recipients, tokens or None)
    await edit_or_send(
        update, t("pulse.plan_sent", lang, sent=sent, total=len(recipients), reference=reference)
    )


async def _send_invitations(
    context: BotContext,
    pulse: Pulse,
    organiser: Staff,
    recipients: list[Staff],
    tokens: list[str] | None = None,
) -> int:
    """Send each recipient the pulse's link: the shared one, or (``tokens``, invited-only)
    each their own personal link, which nobody else, the organiser included, ever sees."""
    shared = pulse_link(context.data.bot_username, pulse.token)
    template = pulse_store.pulse_template(pulse)
    sent = 0
    for index, person in enumerate(recipients):
        link = invite_link(context.data.bot_username, tokens[index]) if tokens else shared
        lang = as_lang(person.language)
        text = t(
            "pulse.plan_invite",
            lang,
            name=organiser.display_name,
            label=pulse.label,
            title=template.title.get(lang),
            link=link,
        )
        try:
            await context.bot.send_message(person.telegram_id, text)
        except (Forbidden, BadRequest):
            logger.info("Pulse %s: the link could not be delivered to one person", pulse.id)
            continue
        sent += 1
    return sent
