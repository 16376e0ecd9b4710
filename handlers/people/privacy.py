"""/mina_data: a staff member sees everything Dalsbot stores about them, and gets it as a file."""

from __future__ import annotations

import json

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.context import BotContext, Feature
from bot.i18n import format_date, t
from handlers.common import STAFF_ROLES, CommandSpec, authorise, private_only, reply, user_lang
from storage.people import mydata

COMMANDS = [CommandSpec("mina_data", "core.commands.mina_data", STAFF_ROLES)]


async def show_my_data(update: Update, context: BotContext) -> None:
    """A one-line summary, then the whole record as a JSON file."""
    staff = await authorise(update, context, STAFF_ROLES)
    if staff is None or staff.id is None or update.effective_chat is None:
        return
    lang = user_lang(update, context, staff)
    staff_id = staff.id
    data = await context.db.run(lambda session: mydata.personal_data(session, staff_id=staff_id))
    if data is None:
        return
    await reply(
        update,
        t(
            "core.mydata_summary",
            lang,
            name=data["person"]["name"],
            plans=len(data["plans"]),
            questions=len(data["questions"]),
            votes=len(data["votes"]),
            pulses=len(data["pulses_organised"]),
            events=len(data["audit_events"]),
        ),
    )
    content = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    today = context.now().astimezone(context.settings.tz).date()
    await update.effective_chat.send_document(
        InputFile(content, filename=f"mina-data-{today.isoformat()}.json", attach=True),
        caption=t("core.mydata_caption", lang, date=format_date(today, lang)),
    )


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """/mina_data in a private chat only (the record is nobody else's business)."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("mina_data", show_my_data, private),
        CommandHandler("mina_data", private_only, ~private),
    ]


FEATURE = Feature(name="privacy", commands=COMMANDS, handlers=build_handlers)
