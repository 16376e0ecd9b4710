"""/start: the home menu for registered people, how to get access for anyone else, and
joining with an invitation (name and organisation by buttons; the inviter is told)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final, Literal, get_args

from sqlmodel import Session
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, filters

from bot.buttons import ButtonData
from bot.context import BotContext, Feature
from bot.guard import contains_identity_number, normalise_line
from bot.i18n import Lang, as_lang, t
from bot.state import flow_draft
from handlers.common import (
    CommandSpec,
    Handlers,
    button_flow,
    edit_or_send,
    first_press,
    keyboard,
    municipality_label,
    person_params,
    public_press,
    reply,
    staff_and_lang,
    text_step,
    user_lang,
)
from handlers.people.home import HomeButton, home_keyboard, press_home
from handlers.people.menus import refresh_person_menu
from storage.people import store as staff_store
from storage.people.models import Organisation, Staff

logger = logging.getLogger(__name__)

NAME, ORGANISATION, CONFIRM = range(3)
INVITE_LINK = filters.Regex(r"^/start(@\w+)?\s+inv_[A-Za-z0-9_-]{1,60}\s*$")
ANY_START_PAYLOAD = filters.Regex(r"^/start(@\w+)?\s+\S")

COMMANDS = [CommandSpec("start", "core.commands.start")]

OrganisationName = Literal["skola", "socialtjanst", "halso_sjukvard", "polis", "annan"]
ORGANISATION_NAMES: Final[tuple[OrganisationName, ...]] = get_args(OrganisationName)
if tuple(Organisation) != ORGANISATION_NAMES:  # the buttons offer exactly the stored ones
    raise RuntimeError("OrganisationName must list storage.people.models.Organisation")


class RegistrationStepButton(ButtonData, prefix="reg"):
    """``reg:name`` (keep the Telegram name), ``reg:ok`` (register), ``reg:again`` (change)."""

    action: Literal["name", "ok", "again"]


class OrganisationButton(ButtonData, prefix="reg"):
    """``reg:org:<organisation>``: where the person works."""

    action: Literal["org"]
    organisation: OrganisationName


async def start(update: Update, context: BotContext) -> None:
    """A registered person gets the home menu; anyone else learns how to get access."""
    staff, lang = await staff_and_lang(update, context)
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
    await reply(
        update, t("core.start_welcome_back", lang, name=staff.display_name), home_keyboard(lang)
    )


@flow_draft("registration")
@dataclass
class RegistrationDraft:
    """A registration through an invitation, step by step."""

    code: str = ""
    suggested: str = ""  # the name Telegram knows the person by, offered if it passes
    role: str = ""
    municipality: str = ""
    name: str = ""
    organisation: str = ""


def _draft(context: BotContext) -> RegistrationDraft:
    return context.state.ensure(RegistrationDraft)


async def start_with_invitation(update: Update, context: BotContext) -> int:
    """Check the invitation in the deep link, then ask for the name to show."""
    assert update.effective_user is not None and update.effective_message is not None
    code = (update.effective_message.text or "").split(maxsplit=1)[1].strip()
    staff, lang = await staff_and_lang(update, context)
    if staff is not None:
        await reply(update, t("core.already_registered", lang, name=staff.display_name))
        return ConversationHandler.END
    checked = await context.db.run(
        lambda session: staff_store.check_invitation(session, code=code, now=context.now())
    )
    if checked.invitation is None:
        await reply(update, t(f"core.invite_{checked.status.value}", lang))
        return ConversationHandler.END
    # A Telegram name that fails the checks (e.g. holds a personnummer) is never offered, so
    # it is not kept in the draft either.
    telegram_name = _clean_name(update.effective_user.full_name)[:64]
    context.state.put(
        RegistrationDraft(
            code=code,
            suggested="" if _name_problem(telegram_name) else telegram_name,
            role=checked.invitation.role,
            municipality=checked.invitation.municipality,
        )
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
        "role": t(f"core.roles.{draft.role}", lang),
        "municipality": municipality_label(draft.municipality, lang),
    }
    suggested = draft.suggested
    if _name_problem(suggested) is not None:
        # A Telegram name that fails the checks (e.g. holds a personnummer) is never offered.
        await edit_or_send(update, t("core.register_intro_type_name", lang, **params))
        return
    keep = (
        t("core.register_use_name", lang, name=suggested),
        RegistrationStepButton("name").pack(),
    )
    await edit_or_send(update, t("core.register_intro", lang, **params), keyboard([[keep]]))


async def _ask_organisation(update: Update, context: BotContext, lang: Lang) -> int:
    rows = [
        [(t(f"core.organisations.{org}", lang), OrganisationButton("org", org).pack())]
        for org in ORGANISATION_NAMES
    ]
    text = t("core.register_pick_organisation", lang, name=_draft(context).name)
    await edit_or_send(update, text, keyboard(rows))
    return ORGANISATION


async def use_suggested_name(update: Update, context: BotContext) -> int:
    """The person keeps the name Telegram knows them by."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    draft = _draft(context)
    lang = user_lang(update, context)
    problem = _name_problem(draft.suggested)
    if problem is not None:
        await reply(update, t(problem, lang))
        return NAME
    draft.name = draft.suggested
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
    _draft(context).name = name
    return await _ask_organisation(update, context, lang)


async def pick_organisation(update: Update, context: BotContext) -> int:
    """The person picks where they work; then they see everything to confirm."""
    query = update.callback_query
    assert query is not None
    chosen = await public_press(update, context, OrganisationButton)
    if chosen is None:
        return ORGANISATION
    lang = user_lang(update, context)
    await query.answer()
    draft = _draft(context)
    draft.organisation = chosen.organisation
    about = person_params(lang, draft.name, draft.role, draft.municipality, draft.organisation)
    text = t("core.register_confirm", lang, **about)
    await edit_or_send(
        update,
        text,
        keyboard(
            [
                [(t("core.register_yes", lang), RegistrationStepButton("ok").pack())],
                [(t("core.register_restart", lang), RegistrationStepButton("again").pack())],
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
    draft = _draft(context)
    if not await first_press(update, context):
        return CONFIRM
    await query.answer()
    now = context.now()

    def redeem(session: Session) -> tuple[staff_store.InviteStatus, Staff | None, Staff | None]:
        checked = staff_store.check_invitation(session, code=draft.code, now=now)
        maker = checked.invitation.created_by if checked.invitation is not None else None
        status, staff = staff_store.redeem_invitation(
            session,
            code=draft.code,
            telegram_id=user.id,
            display_name=draft.name,
            username=user.username,
            organisation=draft.organisation,
            language=lang,
            now=now,
        )
        inviter = staff_store.get_staff(session, telegram_id=maker) if maker is not None else None
        return status, staff, inviter

    status, staff, inviter = await context.db.run(redeem)
    context.state.pop(RegistrationDraft)
    if staff is None:
        await edit_or_send(update, t(f"core.invite_{status.value}", lang))
        return ConversationHandler.END
    about = person_params(lang, staff.display_name, staff.role, staff.municipality)
    await edit_or_send(update, t("core.register_done", lang, **about), home_keyboard(lang))
    await refresh_person_menu(context, staff, user.id)
    if inviter is not None and inviter.telegram_id != user.id:
        await _tell_inviter(context, inviter, staff)
    return ConversationHandler.END


async def _tell_inviter(context: BotContext, inviter: Staff, joined: Staff) -> None:
    """The person who made the invitation learns who joined with it, in their language."""
    lang = as_lang(inviter.language)
    about = person_params(lang, joined.display_name, joined.role, joined.municipality)
    try:
        await context.bot.send_message(inviter.telegram_id, t("core.invite_joined", lang, **about))
    except TelegramError as exc:  # blocked or gone: the joining itself is done
        logger.warning("The inviter was not told (%s)", type(exc).__name__)


async def restart_registration(update: Update, context: BotContext) -> int:
    """The person wants to change what they chose: back to the name."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _ask_name(update, context, user_lang(update, context))
    return NAME


def build_handlers() -> Handlers:
    """The /start handlers, in order: the invitation flow before the plain welcome."""
    registration = button_flow(
        "registration",
        CommandHandler("start", start_with_invitation, filters.ChatType.PRIVATE & INVITE_LINK),
        {
            NAME: [
                CallbackQueryHandler(
                    use_suggested_name, pattern=RegistrationStepButton.matching(action="name")
                ),
                text_step(type_name),
            ],
            ORGANISATION: [
                CallbackQueryHandler(pick_organisation, pattern=OrganisationButton.matching())
            ],
            CONFIRM: [
                CallbackQueryHandler(
                    confirm_registration, pattern=RegistrationStepButton.matching(action="ok")
                ),
                CallbackQueryHandler(
                    restart_registration, pattern=RegistrationStepButton.matching(action="again")
                ),
            ],
        },
        draft=RegistrationDraft,
        expected_button="core.register_expected_button",
    )
    return [
        registration,
        CommandHandler("start", start),
        CallbackQueryHandler(press_home, pattern=HomeButton.matching()),
    ]


FEATURE = Feature(name="registration", commands=COMMANDS, handlers=build_handlers)
