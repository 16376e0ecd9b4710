"""/staff in chat: an admin sees everyone registered, changes a role or removes a person.
Both ask first (with what the change means), are checked again on the confirming tap, and
tell the person concerned, whose command menu follows their new role."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, Literal, TypeVar, get_args

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.buttons import ButtonData, Page, RowId
from bot.context import BotContext
from bot.i18n import Lang, as_lang, t
from handlers.common import (
    ADMIN_ONLY,
    Pressed,
    authorise,
    checked_press,
    edit_or_send,
    keyboard,
    municipality_label,
    page_buttons,
    page_of,
    person_params,
    user_lang,
)
from handlers.kb.buttons import editor_row
from handlers.people.buttons import StaffButton
from handlers.people.menus import refresh_person_menu
from storage.people import store as staff_store
from storage.people.models import Role, Staff

logger = logging.getLogger(__name__)

PAGE_SIZE = 8

RoleName = Literal["admin", "coordinator", "staff"]
ROLE_NAMES: Final[tuple[RoleName, ...]] = get_args(RoleName)
if tuple(Role) != ROLE_NAMES:  # the buttons offer exactly the stored roles
    raise RuntimeError("RoleName must list storage.people.models.Role")


# The buttons share the prefix "stf" and carry ids only: every press reloads the person and
# the presser's rights.


class StaffPageButton(ButtonData, prefix="stf"):
    """``stf:page:<page>``: a page of /staff (also "back to the list")."""

    action: Literal["page"]
    page: Page


class StaffRoleButton(ButtonData, prefix="stf"):
    """``stf:role:<staff id>:<role>``: asks to give the person another role;
    ``stf:roleok:<staff id>:<role>``: "yes, do it"."""

    action: Literal["role", "roleok"]
    staff_id: RowId
    role: RoleName


PersonButton = TypeVar("PersonButton", StaffButton, StaffRoleButton)
_BACK: Final = StaffPageButton("page", 0).pack()


def _staff_list_markup(people: list[Staff], page: int, lang: Lang) -> InlineKeyboardMarkup:
    shown, pages = page_of(people, page, PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    rows = [
        [
            (
                f"{p.display_name} · {t(f'core.roles.{p.role}', lang)} · "
                f"{municipality_label(p.municipality, lang)}",
                StaffButton("view", p.id).pack(),
            )
        ]
        for p in shown
        if p.id is not None
    ]
    nav = page_buttons(page, pages, lang, lambda to: StaffPageButton("page", to).pack())
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
    assert person.id is not None
    about = person_params(
        lang, person.display_name, person.role, person.municipality, person.organisation
    )
    text = t("core.admin_staff_card", lang, **about)
    rows = [
        [
            (
                t("core.admin_make_role", lang, role=t(f"core.roles.{role}", lang)),
                StaffRoleButton("role", person.id, role).pack(),
            )
        ]
        for role in ROLE_NAMES
        if role != person.role
    ]
    editor = editor_row(person, lang)
    if editor is not None:
        rows.append(editor)
    rows.append([(t("core.admin_remove", lang), StaffButton("rm", person.id).pack())])
    rows.append([(t("core.admin_back", lang), _BACK)])
    return text, keyboard(rows)


async def turn_staff_page(update: Update, context: BotContext) -> None:
    """Another page of /staff (or back to the list from a card)."""
    press = await checked_press(update, context, StaffPageButton, roles=ADMIN_ONLY)
    if press is None:
        return
    await press.query.answer()
    await _show_staff_list(update, context, press.lang, press.data.page)


async def _pressed_person(
    update: Update, context: BotContext, kind: type[PersonButton]
) -> tuple[Pressed[PersonButton], Staff] | None:
    """A checked press by an admin and the person its button names; None (the admin told)
    when the press is refused or the person is gone."""
    press = await checked_press(update, context, kind, roles=ADMIN_ONLY)
    if press is None:
        return None
    person = await context.db.run(staff_store.get_staff_by_id, staff_id=press.data.staff_id)
    if person is None:
        await press.query.answer(t("core.admin_gone", press.lang), show_alert=True)
        return None
    return press, person


async def staff_button(update: Update, context: BotContext) -> None:
    """A person's card, "remove" and "yes, remove": re-checked against the database and the
    presser's rights."""
    pressed = await _pressed_person(update, context, StaffButton)
    if pressed is None:
        return
    press, person = pressed
    lang, person_id = press.lang, press.data.staff_id
    if press.data.action == "view":
        await press.query.answer()
        text, markup = _card(person, lang)
        await edit_or_send(update, text, markup)
    elif press.data.action == "rm":
        if await _is_last_admin(context, person):
            await press.query.answer(t("core.admin_last_admin", lang), show_alert=True)
            return
        await press.query.answer()
        await edit_or_send(
            update,
            t("core.admin_remove_confirm", lang, name=person.display_name),
            keyboard(
                [
                    [(t("core.admin_remove_yes", lang), StaffButton("rmok", person_id).pack())],
                    [(t("core.admin_back", lang), StaffButton("view", person_id).pack())],
                ]
            ),
        )
    else:
        now, admin_id = context.now(), press.staff_id
        removed = await _after_change(
            update,
            context,
            lang,
            lambda s: staff_store.remove_staff(s, staff_id=person_id, now=now, by=admin_id),
            "core.admin_removed",
        )
        if removed is not None:
            await _tell(context, removed, t("core.removed_notice", as_lang(removed.language)))
            await refresh_person_menu(context, None, removed.telegram_id)


async def _is_last_admin(context: BotContext, person: Staff) -> bool:
    """True when ``person`` is the only admin (asked before offering a change the storage
    would refuse anyway)."""
    if person.role != Role.ADMIN.value:
        return False
    return await context.db.run(staff_store.count_admins) <= 1


async def change_role(update: Update, context: BotContext) -> None:
    """A "make coordinator" (or another role) button on a person's card asks first, with what
    the role means; "yes" (checked again: still an admin, the person still here) changes it
    and tells the person."""
    pressed = await _pressed_person(update, context, StaffRoleButton)
    if pressed is None:
        return
    press, person = pressed
    lang, role, person_id = press.lang, Role(press.data.role), press.data.staff_id
    role_name = t(f"core.roles.{role.value}", lang)
    if press.data.action == "role":
        if role.value != Role.ADMIN.value and await _is_last_admin(context, person):
            await press.query.answer(t("core.admin_last_admin", lang), show_alert=True)
            return
        await press.query.answer()
        text = t(
            "core.admin_role_confirm",
            lang,
            name=person.display_name,
            role=role_name,
            consequence=t(f"core.role_consequence.{role.value}", lang),
        )
        yes = StaffRoleButton("roleok", person_id, press.data.role).pack()
        rows = [
            [(t("core.admin_role_yes", lang, role=role_name), yes)],
            [(t("core.admin_back", lang), StaffButton("view", person_id).pack())],
        ]
        await edit_or_send(update, text, keyboard(rows))
        return
    admin_id = press.staff_id
    changed = await _after_change(
        update,
        context,
        lang,
        lambda s: staff_store.set_role(s, staff_id=person_id, role=role, by=admin_id),
        "core.admin_role_changed",
        role=role_name,
    )
    if changed is not None and changed.role != person.role:
        their = as_lang(changed.language)
        notice = t(
            "core.role_notice",
            their,
            role=t(f"core.roles.{role.value}", their),
            consequence=t(f"core.role_consequence.{role.value}", their),
        )
        await _tell(context, changed, notice)
        await refresh_person_menu(context, changed, changed.telegram_id)


async def _tell(context: BotContext, person: Staff, text: str) -> None:
    """Send ``person`` a notice; one that cannot be delivered (blocked, gone) is logged."""
    try:
        await context.bot.send_message(person.telegram_id, text)
    except TelegramError as exc:
        logger.warning("A staff notice was not delivered (%s)", type(exc).__name__)


async def _after_change(
    update: Update,
    context: BotContext,
    lang: Lang,
    change: Callable[[Session], Staff | None],
    key: str,
    **params: str,
) -> Staff | None:
    """Make the change (the storage refuses to leave Dalsbot without an admin) and say so;
    the person changed, or None when nothing changed."""
    query = update.callback_query
    assert query is not None
    try:
        result = await context.db.run(change)
    except staff_store.LastAdminError:
        await query.answer(t("core.admin_last_admin", lang), show_alert=True)
        return None
    if result is None:
        await query.answer(t("core.admin_gone", lang), show_alert=True)
        return None
    await query.answer()
    await edit_or_send(
        update,
        t(key, lang, name=result.display_name, **params),
        keyboard([[(t("core.admin_back", lang), _BACK)]]),
    )
    return result


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """/staff and its buttons (in a group /staff is refused by handlers/people/admin.py)."""
    return [
        CommandHandler("staff", list_staff),
        CallbackQueryHandler(turn_staff_page, pattern=StaffPageButton.matching()),
        CallbackQueryHandler(staff_button, pattern=StaffButton.matching()),
        CallbackQueryHandler(change_role, pattern=StaffRoleButton.matching()),
    ]
