"""/start: a welcome, and joining with an invitation (name and organisation by buttons)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.guard import contains_identity_number, normalise_line
from bot.i18n import Lang, t
from handlers.common import (
    CommandSpec,
    callback_parts,
    current_staff,
    edit_or_send,
    first_press,
    keyboard,
    municipality_label,
    reply,
    user_lang,
)
from storage import staff as staff_store
from storage.models import Organisation

NAME, ORGANISATION, CONFIRM = range(3)
INVITE_LINK = filters.Regex(r"^/start(@\w+)?\s+inv_[A-Za-z0-9_-]{1,60}\s*$")
ANY_START_PAYLOAD = filters.Regex(r"^/start(@\w+)?\s+\S")

COMMANDS = [CommandSpec("start", "core.commands.start")]


async def start(update: Update, context: BotContext) -> None:
    """A registered person is welcomed back; anyone else learns how to get access."""
    staff = await current_staff(update, context)
    lang = user_lang(update, context, staff)
    if staff is None:
        # Also for an unknown deep-link payload: reveal nothing beyond how to get access.
        await reply(update, t("core.start_unregistered", lang))
        return
    user = update.effective_user
    name = _clean_name(user.full_name)[:64] if user is not None else ""
    if (
        user is not None
        and staff.display_name == staff_store.placeholder_admin_name(user.id)
        and _name_problem(name) is None
    ):
        # An admin from DALSBOT_ADMINS gets their Telegram name on their first /start.
        staff = await context.db.run(
            lambda session: staff_store.rename(session, telegram_id=user.id, display_name=name)
        )
        assert staff is not None
    await reply(update, t("core.start_welcome_back", lang, name=staff.display_name))


def _draft(context: BotContext) -> dict[str, str]:
    assert context.user_data is not None
    draft: dict[str, str] = context.user_data.setdefault("registration", {})
    return draft


async def start_with_invitation(update: Update, context: BotContext) -> int:
    """Check the invitation in the deep link, then ask for the name to show."""
    assert update.effective_user is not None and update.effective_message is not None
    code = (update.effective_message.text or "").split(maxsplit=1)[1].strip()
    staff = await current_staff(update, context)
    lang = user_lang(update, context, staff)
    if staff is not None:
        await reply(update, t("core.already_registered", lang, name=staff.display_name))
        return ConversationHandler.END
    checked = await context.db.run(
        lambda session: staff_store.check_invitation(session, code=code, now=context.now())
    )
    if checked.invitation is None:
        await reply(update, t(f"core.invite_{checked.status.value}", lang))
        return ConversationHandler.END
    draft = _draft(context)
    draft.clear()
    draft.update(
        code=code,
        suggested=_clean_name(update.effective_user.full_name)[:64],
        role=checked.invitation.role,
        municipality=checked.invitation.municipality,
    )
    await _ask_name(update, context, lang)
    return NAME


def _clean_name(text: str) -> str:
    return normalise_line(text)


def _name_problem(name: str) -> str | None:
    """The catalogue key explaining why ``name`` cannot be a display name, or None."""
    if contains_identity_number(name):
        return "core.register_name_personnummer"
    if not 2 <= len(name) <= 64 or name.startswith("/"):
        return "core.register_name_invalid"
    return None


async def _ask_name(update: Update, context: BotContext, lang: Lang) -> None:
    """Ask for the name to show, offering the Telegram name when it may be kept."""
    draft = _draft(context)
    params = {
        "role": t(f"core.roles.{draft['role']}", lang),
        "municipality": municipality_label(draft["municipality"], lang),
    }
    suggested = draft["suggested"]
    if _name_problem(suggested) is not None:
        # A Telegram name that fails the checks (e.g. holds a personnummer) is never offered.
        await edit_or_send(update, t("core.register_intro_type_name", lang, **params))
        return
    await edit_or_send(
        update,
        t("core.register_intro", lang, **params),
        keyboard([[(t("core.register_use_name", lang, name=suggested), "reg:name")]]),
    )


async def _ask_organisation(update: Update, context: BotContext, lang: Lang) -> int:
    rows = [
        [(t(f"core.organisations.{org.value}", lang), f"reg:org:{org.value}")]
        for org in Organisation
    ]
    text = t("core.register_pick_organisation", lang, name=_draft(context)["name"])
    await edit_or_send(update, text, keyboard(rows))
    return ORGANISATION


async def use_suggested_name(update: Update, context: BotContext) -> int:
    """The person keeps the name Telegram knows them by."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    draft = _draft(context)
    lang = user_lang(update, context)
    problem = _name_problem(draft.get("suggested", ""))
    if problem is not None:
        await reply(update, t(problem, lang))
        return NAME
    draft["name"] = draft["suggested"]
    return await _ask_organisation(update, context, lang)


async def type_name(update: Update, context: BotContext) -> int:
    """The person types the name to show; it is checked before it is kept."""
    assert update.effective_message is not None
    lang = user_lang(update, context)
    name = _clean_name(update.effective_message.text or "")
    problem = _name_problem(name)
    if problem is not None:
        await reply(update, t(problem, lang))
        return NAME
    _draft(context)["name"] = name
    return await _ask_organisation(update, context, lang)


async def pick_organisation(update: Update, context: BotContext) -> int:
    """The person picks where they work; then they see everything to confirm."""
    query = update.callback_query
    assert query is not None
    lang = user_lang(update, context)
    parts = callback_parts(query.data, "reg", 2)
    if parts is None or parts[1] not in {org.value for org in Organisation}:
        await query.answer(t("core.stale_button", lang), show_alert=True)
        return ORGANISATION
    await query.answer()
    draft = _draft(context)
    draft["organisation"] = parts[1]
    text = t(
        "core.register_confirm",
        lang,
        name=draft["name"],
        role=t(f"core.roles.{draft['role']}", lang),
        municipality=municipality_label(draft["municipality"], lang),
        organisation=t(f"core.organisations.{draft['organisation']}", lang),
    )
    await edit_or_send(
        update,
        text,
        keyboard(
            [
                [(t("core.register_yes", lang), "reg:ok")],
                [(t("core.register_restart", lang), "reg:again")],
            ]
        ),
    )
    return CONFIRM


async def confirm_registration(update: Update, context: BotContext) -> int:
    """The person confirms: the invitation is used and they are registered."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    user = update.effective_user
    lang = user_lang(update, context)
    draft = dict(_draft(context))
    if not await first_press(update, context):
        return CONFIRM
    await query.answer()
    status, staff = await context.db.run(
        lambda session: staff_store.redeem_invitation(
            session,
            code=draft["code"],
            telegram_id=user.id,
            display_name=draft["name"],
            username=user.username,
            organisation=draft["organisation"],
            language=lang,
            now=context.now(),
        )
    )
    _draft(context).clear()
    if staff is None:
        await edit_or_send(update, t(f"core.invite_{status.value}", lang))
        return ConversationHandler.END
    await edit_or_send(
        update,
        t(
            "core.register_done",
            lang,
            name=staff.display_name,
            role=t(f"core.roles.{staff.role}", lang),
            municipality=municipality_label(staff.municipality, lang),
        ),
    )
    return ConversationHandler.END


async def restart_registration(update: Update, context: BotContext) -> int:
    """The person wants to change what they chose: back to the name."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _ask_name(update, context, user_lang(update, context))
    return NAME


async def expect_button(update: Update, context: BotContext) -> None:
    """Text where a button is expected: say so, keep the state."""
    await reply(update, t("core.register_expected_button", user_lang(update, context)))


async def cancel_registration(update: Update, context: BotContext) -> int:
    """/cancel during registration: nothing is registered."""
    _draft(context).clear()
    await reply(update, t("core.cancelled", user_lang(update, context)))
    return ConversationHandler.END


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The /start handlers, in order: the invitation flow before the plain welcome."""
    registration: ConversationHandler[BotContext] = ConversationHandler(
        entry_points=[
            CommandHandler("start", start_with_invitation, filters.ChatType.PRIVATE & INVITE_LINK)
        ],
        states={
            NAME: [
                CallbackQueryHandler(use_suggested_name, pattern=r"^reg:name$"),
                MessageHandler(filters.TEXT & ~filters.COMMAND, type_name),
            ],
            ORGANISATION: [
                CallbackQueryHandler(pick_organisation, pattern=r"^reg:org:"),
                MessageHandler(filters.TEXT & ~filters.COMMAND, expect_button),
            ],
            CONFIRM: [
                CallbackQueryHandler(confirm_registration, pattern=r"^reg:ok$"),
                CallbackQueryHandler(restart_registration, pattern=r"^reg:again$"),
                MessageHandler(filters.TEXT & ~filters.COMMAND, expect_button),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel_registration)],
        name="registration",
        conversation_timeout=30 * 60,
    )
    return [registration, CommandHandler("start", start)]
