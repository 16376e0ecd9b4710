"""Anonymous pulse feedback after meetings: ``organise`` (/puls, the link and QR code),
``share`` (sending it to a plan's team, invited-only), ``answer`` (the deep link and the
taps), ``results`` (results, trends, the closing job)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext, CommandSpec, DalsbotApp, Feature
from handlers.common import STAFF_ROLES, Handlers, button_flow, text_step
from handlers.pulse import answer, organise, results, share
from handlers.pulse.common import CANCEL
from storage.pulse.secret import PulseSecret, load_pulse_secret

COMMANDS = [
    CommandSpec("puls", "pulse.commands.puls", STAFF_ROLES),
    CommandSpec("puls_resultat", "pulse.commands.puls_resultat", STAFF_ROLES),
    CommandSpec("puls_trend", "pulse.commands.puls_trend", STAFF_ROLES),
]


async def _load_secret(app: DalsbotApp) -> None:
    # At start-up, so a short DALSBOT_PULSE_SECRET stops the bot with a clear message.
    data = app.bot_data
    data.services.add(PulseSecret(await asyncio.to_thread(load_pulse_secret, data.settings)))


def _setup(app: DalsbotApp) -> None:
    """The secret (checked at start-up) and the closing job."""
    app.bot_data.post_init_hooks.append(_load_secret)
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            results.close_due_pulses,
            interval=results.JOB_INTERVAL_SECONDS,
            first=results.JOB_INTERVAL_SECONDS,
            name=results.JOB_NAME,
        )


def _comment_catcher() -> BaseHandler[Update, BotContext, object]:
    # Keeps a text (ApplicationHandlerStop) only at an answer's comment step, and /cancel
    # only when it ended an unfinished answer; everything else goes on.
    cancel = filters.COMMAND & filters.Regex(CANCEL)
    private_text = filters.ChatType.PRIVATE & ((filters.TEXT & ~filters.COMMAND) | cancel)
    return MessageHandler(private_text, answer.first_look)


def _step(*handlers: BaseHandler[Update, BotContext, object]) -> Handlers:
    """A step of /puls: its own handlers, then a command or another button (step_aside)."""
    aside: Handlers = [
        MessageHandler(filters.COMMAND & ~filters.Regex(CANCEL), organise.step_aside),
        CallbackQueryHandler(organise.step_aside),
    ]
    return [*handlers, *aside]


def _new_pulse_step(
    callback: Callable[[Update, BotContext], Coroutine[Any, Any, object]], step: str
) -> CallbackQueryHandler[BotContext, object]:
    return CallbackQueryHandler(callback, pattern=organise.NewPulseButton.matching(step=step))


def _nav() -> CallbackQueryHandler[BotContext, object]:
    """ "◀ Back" and "✖ Cancel" of the first two steps of /puls."""
    return CallbackQueryHandler(
        organise.back_or_cancel, pattern=organise.NewPulseBackButton.matching()
    )


def _handlers() -> Handlers:
    """The pulse handlers; the deep link must come before the generic /start."""
    new_pulse = button_flow(
        organise.NEW_PULSE_FLOW,
        CommandHandler("puls", organise.start_pulse),
        {
            organise.TEMPLATE: _step(_new_pulse_step(organise.pick_template, "tpl"), _nav()),
            organise.LABEL: _step(text_step(organise.type_label), _nav()),
            # The label prompt's buttons stay under it: they still go back or cancel.
            organise.CLOSING: _step(_new_pulse_step(organise.pick_closing, "close"), _nav()),
            organise.K: _step(_new_pulse_step(organise.pick_k, "k"), _nav()),
        },
        draft=organise.NewPulseDraft,
        expected_button="pulse.label_expected_button",
    )
    return [
        CommandHandler(
            "start",
            answer.open_pulse,
            filters.ChatType.PRIVATE & filters.Regex(answer.PULSE_LINK.pattern),
        ),
        CommandHandler(
            "start",
            answer.open_invite,
            filters.ChatType.PRIVATE & filters.Regex(answer.INVITE_LINK.pattern),
        ),
        new_pulse,
        # Every "pa:" press: tap_answer refuses malformed ones with the answering alert.
        CallbackQueryHandler(answer.tap_answer, pattern=answer.is_answer_tap),
        CallbackQueryHandler(share.pick_plan, pattern=share.PulsePlansButton.matching()),
        CallbackQueryHandler(share.send_to_plan, pattern=share.PulsePlanButton.matching()),
        CallbackQueryHandler(share.make_invited_only, pattern=share.PulseInvitedButton.matching()),
        CallbackQueryHandler(share.send_own_link, pattern=share.PulseOwnLinkButton.matching()),
        CommandHandler("puls_resultat", results.list_results),
        CallbackQueryHandler(results.show_results, pattern=results.PulseResultsButton.matching()),
        CallbackQueryHandler(results.show_details, pattern=results.PulseDetailsButton.matching()),
        CommandHandler("puls_trend", results.pick_trend),
        CallbackQueryHandler(results.show_trend, pattern=results.PulseTrendButton.matching()),
    ]


FEATURE = Feature(
    name="pulse",
    commands=COMMANDS,
    handlers=_handlers,
    text_first=_comment_catcher,
    setup=_setup,
)
