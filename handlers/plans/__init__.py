"""Joint plans (the child's plan, SIP) by pseudonymous reference: ``menu`` (commands and the
one conversation of every plan flow), ``create`` (/ny_plan), ``dates`` (a new date, a held
follow-up), ``card`` (the plan card and its team), ``flow`` (what the flows share),
``presses`` (the checks every button press and typed answer starts with, and plan changes),
and ``reminders`` (the follow-up reminders, their buttons, /installningar and the dispatcher)."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import BotContext, DalsbotApp, Feature
from handlers.plans import menu, reminders


def _handlers() -> Sequence[BaseHandler[Update, BotContext, object]]:
    return [*menu.build_handlers(), *reminders.build_handlers()]


def _setup(app: DalsbotApp) -> None:
    menu.register(app)
    reminders.register(app)


FEATURE = Feature(
    name="plans",
    commands=[*menu.COMMANDS, *reminders.COMMANDS],
    handlers=_handlers,
    setup=_setup,
)
