"""The home menu a registered person gets on /start: ask, my plans, new plan, new pulse,
settings. A button runs exactly what its command runs: the press becomes that command, sent
by the presser in their chat (so a flow starts just as when they type it, and the
command's handler checks their rights again)."""

from __future__ import annotations

import datetime as dt
from typing import Final, Literal

from telegram import InlineKeyboardMarkup, Message, MessageEntity, Update

from bot.buttons import ButtonData
from bot.context import BotContext
from bot.i18n import Lang, t
from handlers.common import checked_press, keyboard, reply

HomeAction = Literal["ask", "plans", "new_plan", "pulse", "settings"]

# The command each button stands for (the name its handlers are registered under).
HOME_COMMANDS: Final[dict[HomeAction, str]] = {
    "plans": "planer",
    "new_plan": "ny_plan",
    "pulse": "puls",
    "settings": "settings",
}


class HomeButton(ButtonData, prefix="home"):
    """``home:<action>``: a button of the home menu."""

    action: HomeAction


def home_keyboard(lang: Lang) -> InlineKeyboardMarkup:
    """The home menu's buttons: the question first, two a row after it."""
    button = {
        action: (t(f"core.home_{action}", lang), HomeButton(action).pack())
        for action in ("ask", "plans", "new_plan", "pulse", "settings")
    }
    return keyboard(
        [
            [button["ask"]],
            [button["plans"], button["new_plan"]],
            [button["pulse"], button["settings"]],
        ]
    )


async def press_home(update: Update, context: BotContext) -> None:
    """A home-menu button: "ask" gets a one-line hint; the others run their command."""
    press = await checked_press(update, context, HomeButton)
    if press is None:
        return
    await press.query.answer()
    if press.data.action == "ask":
        await reply(update, t("core.home_ask_hint", press.lang))
        return
    command = "/" + HOME_COMMANDS[press.data.action]
    chat = update.effective_chat
    assert chat is not None
    typed = Message(
        message_id=press.query.message.message_id if press.query.message else 0,
        date=dt.datetime.now(dt.UTC),
        chat=chat,
        from_user=press.query.from_user,
        text=command,
        entities=[MessageEntity(MessageEntity.BOT_COMMAND, 0, len(command))],
    )
    typed.set_bot(context.bot)
    # Queued like any update: it runs once this press is done (one update per person at a
    # time), through every handler group, as if the person had typed the command.
    await context.application.update_queue.put(Update(update.update_id, message=typed))
