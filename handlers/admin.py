"""Admin work in chat: /invite (a new invitation by buttons) and /staff (roles, removal)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.i18n import Lang, format_date, t
from handlers.common import (
    ADMIN_ONLY,
    CommandSpec,
    authorise,
    callback_parts,
    edit_or_send,
    first_press,
    keyboard,
    municipality_label,
    parse_id,
    parse_page,
    private_only,
    reply,
    staff_press,
    user_lang,
)
from storage import staff as staff_store
from storage.models import Municipality, Role, Staff

ROLE, MUNICIPALITY, USES, DAYS = range(4)
USES_CHOICES = (1, 5, 20)
DAYS_CHOICES = (1, 7, 30)
PAGE_SIZE = 8

COMMANDS = [
    CommandSpec("invite", "core.commands.invite", ADMIN_ONLY),
    CommandSpec("staff", "core.commands.staff", ADMIN_ONLY),
]


def invite_link(bot_username: str, code: str) -> str:
    """The deep link that opens the bot with the invitation code."""
    return f"https://t.me/{bot_username}?start={code}"


# -- /invite ------------------------------------------------------------------------------------


async def start_invite(update: Update, context: BotContext) -> int:
    """An admin starts a new invitation: first the role."""
    staff = await authorise(update, context, ADMIN_ONLY)
    if staff is None:
        return ConversationHandler.END
    lang = user_lang(update, context, staff)
    assert context.user_data is not None
    context.user_data["invite"] = {}
    rows = [[(t(f"core.roles.{role.value}", lang), f"inv:role:{role.value}")] for role in Role]
    await reply(update, t("core.admin_invite_pick_role", lang), keyboard(rows))
    return ROLE


async def _checked_step(
    update: Update, context: BotContext, allowed: set[str]
) -> tuple[str, Lang, dict[str, str]] | None:
    """The chosen value if the presser is still an admin and the value is one offered."""
    assert context.user_data is not None
    draft = context.user_data.get("invite")
    press = await staff_press(
        update, context, "inv", 2, roles=ADMIN_ONLY, valid=lambda p: p[1] in allowed
    )
    if press is None:
        return None
    if draft is None:
        await press.stale()
        return None
    await press.query.answer()
    return press.parts[1], press.lang, draft


async def pick_role(update: Update, context: BotContext) -> int:
    """The role is chosen: now the municipality."""
    step = await _checked_step(update, context, {role.value for role in Role})
    if step is None:
        return ROLE
    value, lang, draft = step
    draft["role"] = value
    rows = [
        [(municipality_label(m.value, lang), f"inv:mun:{index}")]
        for index, m in enumerate(Municipality)
    ]
    await edit_or_send(update, t("core.admin_invite_pick_municipality", lang), keyboard(rows))
    return MUNICIPALITY


async def pick_municipality(update: Update, context: BotContext) -> int:
    """The municipality is chosen: now how many may use it."""
    step = await _checked_step(update, context, {str(i) for i in range(len(Municipality))})
    if step is None:
        return MUNICIPALITY
    value, lang, draft = step
    draft["municipality"] = list(Municipality)[int(value)].value
    rows = [[(_uses_label(n, lang), f"inv:uses:{n}") for n in USES_CHOICES]]
    await edit_or_send(update, t("core.admin_invite_pick_uses", lang), keyboard(rows))
    return USES


def _uses_label(uses: int, lang: Lang) -> str:
    if uses == 1:
        return t("core.admin_invite_uses_one", lang)
    return t("core.admin_invite_uses_many", lang, n=uses)


async def pick_uses(update: Update, context: BotContext) -> int:
    """The number of uses is chosen: now the validity."""
    step = await _checked_step(update, context, {str(n) for n in USES_CHOICES})
    if step is None:
        return USES
    value, lang, draft = step
    draft["uses"] = value
    rows = [
        [
            (
                t("core.admin_invite_days_one", lang)
                if n == 1
                else t("core.admin_invite_days", lang, n=n),
                f"inv:days:{n}",
            )
            for n in DAYS_CHOICES
        ]
    ]
    await edit_or_send(update, t("core.admin_invite_pick_days", lang), keyboard(rows))
    return DAYS


async def pick_days(update: Update, context: BotContext) -> int:
    """The validity is chosen: the invitation is created and its link shown."""
    step = await _checked_step(update, context, {str(n) for n in DAYS_CHOICES})
    if step is None:
        return DAYS
    value, lang, draft = step
    assert update.effective_user is not None
    admin_id = update.effective_user.id
    if not await first_press(update, context):
        return DAYS
    invitation = await context.db.run(
        lambda session: staff_store.create_invitation(
            session,
            role=Role(draft["role"]),
            municipality=draft["municipality"],
            uses=int(draft["uses"]),
            expires_days=int(value),
            created_by=admin_id,
            now=context.now(),
        )
    )
    assert context.user_data is not None
    context.user_data.pop("invite", None)
    expires = invitation.expires_at.astimezone(context.settings.tz)
    await edit_or_send(
        update,
        t(
            "core.admin_invite_created",
            lang,
            role=t(f"core.roles.{invitation.role}", lang),
            municipality=municipality_label(invitation.municipality, lang),
            uses=_uses_label(invitation.max_uses, lang),
            expires=format_date(expires.date(), lang),
            link=invite_link(context.data.bot_username, invitation.code),
            code=invitation.code,
        ),
    )
    return ConversationHandler.END


async def expect_button(update: Update, context: BotContext) -> None:
    """Text where a button is expected."""
    await reply(update, t("core.register_expected_button", user_lang(update, context)))


async def cancel_invite(update: Update, context: BotContext) -> int:
    """/cancel: no invitation is created."""
    assert context.user_data is not None
    context.user_data.pop("invite", None)
    await reply(update, t("core.cancelled", user_lang(update, context)))
    return ConversationHandler.END


# -- /staff -------------------------------------------------------------------------------------


def _staff_list_markup(people: list[Staff], page: int, lang: Lang) -> InlineKeyboardMarkup:
    pages = max(1, -(-len(people) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = people[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows = [
        [
            (
                f"{p.display_name} · {t(f'core.roles.{p.role}', lang)} · "
                f"{municipality_label(p.municipality, lang)}",
                f"stf:view:{p.id}",
            )
        ]
        for p in shown
    ]
    nav = []
    if page > 0:
        nav.append((t("core.previous_page", lang), f"stf:page:{page - 1}"))
    if page < pages - 1:
        nav.append((t("core.next_page", lang), f"stf:page:{page + 1}"))
    if nav:
        rows.append(nav)
    return keyboard(rows)


async def _show_staff_list(update: Update, context: BotContext, lang: Lang, page: int) -> None:
    people = await context.db.run(lambda session: staff_store.list_staff(session))
    if not people:
        await edit_or_send(update, t("core.admin_staff_empty", lang))
        return
    markup = _staff_list_markup(people, page, lang)
    await edit_or_send(update, t("core.admin_staff_title", lang, count=len(people)), markup)


async def list_staff(update: Update, context: BotContext) -> None:
    """An admin sees everyone registered, as buttons."""
    staff = await authorise(update, context, ADMIN_ONLY)
    if staff is not None:
        await _show_staff_list(update, context, user_lang(update, context, staff), 0)


def _card(person: Staff, lang: Lang) -> tuple[str, InlineKeyboardMarkup]:
    text = t(
        "core.admin_staff_card",
        lang,
        name=person.display_name,
        role=t(f"core.roles.{person.role}", lang),
        municipality=municipality_label(person.municipality, lang),
        organisation=t(f"core.organisations.{person.organisation}", lang),
    )
    rows = [
        [
            (
                t("core.admin_make_role", lang, role=t(f"core.roles.{role.value}", lang)),
                f"stf:role:{person.id}:{role.value}",
            )
        ]
        for role in Role
        if role.value != person.role
    ]
    rows.append([(t("core.admin_remove", lang), f"stf:rm:{person.id}")])
    rows.append([(t("core.admin_back", lang), "stf:page:0")])
    return text, keyboard(rows)


async def staff_button(update: Update, context: BotContext) -> None:
    """Every /staff button: re-checked against the database and the presser's rights."""
    query = update.callback_query
    assert query is not None
    admin = await authorise(update, context, ADMIN_ONLY)
    if admin is None:
        return
    lang = user_lang(update, context, admin)
    data = query.data or ""
    parts = callback_parts(data, "stf", 2) or callback_parts(data, "stf", 3)
    # A page number or a row id in range; anything else (99999999999999999999) is forged.
    number = None
    if parts is not None:
        number = parse_page(parts[1]) if parts[0] == "page" else parse_id(parts[1])
    if parts is None or number is None:
        await query.answer(t("core.stale_button", lang), show_alert=True)
        return
    action = parts[0]
    if action == "page":
        await query.answer()
        await _show_staff_list(update, context, lang, number)
        return
    person = await context.db.run(
        lambda session: staff_store.get_staff_by_id(session, staff_id=number)
    )
    if person is None:
        await query.answer(t("core.admin_gone", lang), show_alert=True)
        return
    await _staff_action(update, context, lang, action, person, parts[2:], admin.id)


async def _staff_action(
    update: Update,
    context: BotContext,
    lang: Lang,
    action: str,
    person: Staff,
    rest: list[str],
    admin_id: int | None,
) -> None:
    query = update.callback_query
    assert query is not None and person.id is not None
    person_id = person.id
    if action == "view" and not rest:
        await query.answer()
        text, markup = _card(person, lang)
        await edit_or_send(update, text, markup)
    elif action == "role" and rest and rest[0] in {r.value for r in Role}:
        role = Role(rest[0])
        result = await context.db.run(_change_role, person_id, role, admin_id)
        await _after_change(
            update,
            context,
            lang,
            result,
            "core.admin_role_changed",
            role=t(f"core.roles.{role.value}", lang),
        )
    elif action == "rm" and not rest:
        await query.answer()
        await edit_or_send(
            update,
            t("core.admin_remove_confirm", lang, name=person.display_name),
            keyboard(
                [
                    [(t("core.admin_remove_yes", lang), f"stf:rmok:{person_id}")],
                    [(t("core.admin_back", lang), f"stf:view:{person_id}")],
                ]
            ),
        )
    elif action == "rmok" and not rest:
        result = await context.db.run(_remove, person_id, context.now(), admin_id)
        await _after_change(update, context, lang, result, "core.admin_removed")
    else:
        await query.answer(t("core.stale_button", lang), show_alert=True)


def _is_last_admin(session: Session, person_id: int) -> bool:
    person = staff_store.get_staff_by_id(session, staff_id=person_id)
    return (
        person is not None
        and person.role == Role.ADMIN.value
        and (staff_store.count_admins(session) <= 1)
    )


def _change_role(
    session: Session, person_id: int, role: Role, admin_id: int | None
) -> Staff | str | None:
    if role != Role.ADMIN and _is_last_admin(session, person_id):
        return "last_admin"
    return staff_store.set_role(session, staff_id=person_id, role=role, by=admin_id)


def _remove(
    session: Session, person_id: int, now: dt.datetime, admin_id: int | None
) -> Staff | str | None:
    if _is_last_admin(session, person_id):
        return "last_admin"
    return staff_store.remove_staff(session, staff_id=person_id, now=now, by=admin_id)


async def _after_change(
    update: Update,
    context: BotContext,
    lang: Lang,
    result: Staff | str | None,
    key: str,
    **params: str,
) -> None:
    query = update.callback_query
    assert query is not None
    if result == "last_admin":
        await query.answer(t("core.admin_last_admin", lang), show_alert=True)
        return
    if not isinstance(result, Staff):
        await query.answer(t("core.admin_gone", lang), show_alert=True)
        return
    await query.answer()
    await edit_or_send(
        update,
        t(key, lang, name=result.display_name, **params),
        keyboard([[(t("core.admin_back", lang), "stf:page:0")]]),
    )


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The admin handlers."""
    invite: ConversationHandler[BotContext] = ConversationHandler(
        entry_points=[CommandHandler("invite", start_invite, filters.ChatType.PRIVATE)],
        states={
            ROLE: [CallbackQueryHandler(pick_role, pattern=r"^inv:role:")],
            MUNICIPALITY: [CallbackQueryHandler(pick_municipality, pattern=r"^inv:mun:")],
            USES: [CallbackQueryHandler(pick_uses, pattern=r"^inv:uses:")],
            DAYS: [CallbackQueryHandler(pick_days, pattern=r"^inv:days:")],
        },
        fallbacks=[
            CommandHandler("cancel", cancel_invite),
            MessageHandler(filters.TEXT & ~filters.COMMAND, expect_button),
        ],
        name="invite",
        conversation_timeout=30 * 60,
    )
    return [
        # In a group these would show colleagues' names and invitation links to everyone.
        CommandHandler(["invite", "staff"], private_only, ~filters.ChatType.PRIVATE),
        invite,
        CommandHandler("staff", list_staff),
        CallbackQueryHandler(staff_button, pattern=r"^stf:"),
    ]
