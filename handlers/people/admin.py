"""Admin work in chat: /invite (a new invitation by buttons) here, and /staff (roles,
removal) from handlers/people/staff.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, get_args
from urllib.parse import urlencode

from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, filters

from bot.buttons import ButtonData, Token
from bot.context import BotContext, Feature
from bot.i18n import Lang, format_date, t
from bot.state import flow_draft
from handlers.common import (
    ADMIN_ONLY,
    CommandSpec,
    Handlers,
    authorise,
    button_flow,
    checked_press,
    edit_or_send,
    first_press,
    keyboard,
    municipality_label,
    private_only,
    user_lang,
)
from handlers.people.staff import ROLE_NAMES
from handlers.people.staff import build_handlers as staff_handlers
from storage.people import store as staff_store
from storage.people.models import Municipality, Role

COMMANDS = [
    CommandSpec("invite", "core.commands.invite", ADMIN_ONLY),
    CommandSpec("staff", "core.commands.staff", ADMIN_ONLY),
]


def invite_link(bot_username: str, code: str) -> str:
    """The deep link that opens the bot with the invitation code."""
    return f"https://t.me/{bot_username}?start={code}"


def share_buttons(link: str, lang: Lang) -> InlineKeyboardMarkup:
    """Under a new invitation: share the link in another Telegram chat, or copy it."""
    share = "https://t.me/share/url?" + urlencode(
        {"url": link, "text": t("core.admin_invite_share_text", lang)}
    )
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t("core.admin_invite_share", lang), url=share)],
            [
                InlineKeyboardButton(
                    t("core.admin_invite_copy", lang), copy_text=CopyTextButton(link)
                )
            ],
        ]
    )


# -- /invite: role, municipality, number of uses, days valid; one tap each -------------------

InviteStep = Literal["role", "mun", "uses", "days"]
STEPS: Final[tuple[InviteStep, ...]] = get_args(InviteStep)  # a step's state is its index
USES_CHOICES: Final = (1, 5, 20)
DAYS_CHOICES: Final = (1, 7, 30)


class InviteButton(ButtonData, prefix="inv"):
    """``inv:<step>:<value>``, a tap in one step of /invite: ``inv:role:<role>``,
    ``inv:mun:<index>`` (the municipality at ``index`` of the Municipality enum),
    ``inv:uses:<n>`` (how many people may use the invitation), ``inv:days:<n>`` (how many
    days it is valid). A value the step did not offer is refused as stale."""

    step: InviteStep
    value: Token


class InviteBackButton(ButtonData, prefix="inv"):
    """``inv:back:<to>``: "◀ Back" to the step ``to`` (what was chosen there marked ✅) or
    "✖ Cancel" (``exit``: the draft is dropped, no invitation made)."""

    action: Literal["back"]
    to: Literal["exit", "role", "mun", "uses"]


def _uses_label(uses: int, lang: Lang) -> str:
    if uses == 1:
        return t("core.admin_invite_uses_one", lang)
    return t("core.admin_invite_uses_many", lang, n=uses)


def _days_label(days: int, lang: Lang) -> str:
    if days == 1:
        return t("core.admin_invite_days_one", lang)
    return t("core.admin_invite_days", lang, n=days)


@dataclass(frozen=True)
class _Step:
    """One question of /invite: its text, what it offers (each button's value and what that
    value stands for), the buttons' labels, and whether they stand side by side."""

    question: str
    offers: Mapping[str, str]
    label: Callable[[str, Lang], str]
    side_by_side: bool = False


_STEPS: Final[Mapping[InviteStep, _Step]] = {
    "role": _Step(
        "core.admin_invite_pick_role",
        {role: role for role in ROLE_NAMES},
        lambda role, lang: t(f"core.roles.{role}", lang),
    ),
    "mun": _Step(
        "core.admin_invite_pick_municipality",
        {str(index): municipality.value for index, municipality in enumerate(Municipality)},
        municipality_label,
    ),
    "uses": _Step(
        "core.admin_invite_pick_uses",
        {str(n): str(n) for n in USES_CHOICES},
        lambda uses, lang: _uses_label(int(uses), lang),
        side_by_side=True,
    ),
    "days": _Step(
        "core.admin_invite_pick_days",
        {str(n): str(n) for n in DAYS_CHOICES},
        lambda days, lang: _days_label(int(days), lang),
        side_by_side=True,
    ),
}


@flow_draft("invite")
@dataclass
class InviteDraft:
    """An invitation being made: role, municipality and number of uses, one tap each."""

    role: str = ""
    municipality: str = ""
    uses: str = ""

    def chosen(self, step: InviteStep) -> str:
        """What was chosen in ``step`` before going back ("" if nothing)."""
        return {"role": self.role, "mun": self.municipality, "uses": self.uses}.get(step, "")

    def keep(self, step: InviteStep, chosen: str) -> None:
        """Keep what was chosen in ``step`` (the last step's choice makes the invitation)."""
        if step == "role":
            self.role = chosen
        elif step == "mun":
            self.municipality = chosen
        elif step == "uses":
            self.uses = chosen


async def _ask(update: Update, step: InviteStep, lang: Lang, draft: InviteDraft) -> int:
    """Show ``step``'s question with its buttons (what was chosen before going back marked
    ✅), then "◀ Back" (from the second step on) and "✖ Cancel"; the step's state."""
    spec = _STEPS[step]
    before = draft.chosen(step)
    buttons = []
    for value, chosen in spec.offers.items():
        label = spec.label(chosen, lang)
        if before and chosen == before:
            label = t("core.admin_invite_chosen", lang, label=label)
        buttons.append((label, InviteButton(step, value).pack()))
    rows = [buttons] if spec.side_by_side else [[button] for button in buttons]
    index = STEPS.index(step)
    nav = [(t("core.admin_invite_cancel", lang), InviteBackButton("back", "exit").pack())]
    if index > 0:
        previous = STEPS[index - 1]
        assert previous != "days"
        back = InviteBackButton("back", previous).pack()
        nav.insert(0, (t("core.admin_back", lang), back))
    await edit_or_send(update, t(spec.question, lang), keyboard([*rows, nav]))
    return index


async def start_invite(update: Update, context: BotContext) -> int:
    """An admin starts a new invitation: first the role."""
    staff = await authorise(update, context, ADMIN_ONLY)
    if staff is None:
        return ConversationHandler.END
    draft = InviteDraft()
    context.state.put(draft)
    return await _ask(update, "role", user_lang(update, context, staff), draft)


async def back_or_cancel(update: Update, context: BotContext) -> int | None:
    """ "◀ Back": the previous step again, its choice marked (kept until another is tapped);
    "✖ Cancel": the draft is dropped and the message says so. Only for an admin."""
    query = update.callback_query
    button = InviteBackButton.parse(query.data if query is not None else None)
    draft = context.state.get(InviteDraft)
    press = await checked_press(update, context, InviteBackButton, roles=ADMIN_ONLY)
    if press is None or button is None:
        return None  # refused or told: the step stays
    if draft is None:
        await press.stale()
        return ConversationHandler.END
    await press.query.answer()
    if button.to == "exit":
        context.state.pop(InviteDraft)
        await edit_or_send(update, t("core.cancelled", press.lang))
        return ConversationHandler.END
    return await _ask(update, button.to, press.lang, draft)


async def pick(update: Update, context: BotContext) -> int:
    """A tap in one step (its handler's pattern names the step), if the presser is still an
    admin making an invitation and the step offered it: kept, then the next step; the last
    step makes the invitation."""
    query = update.callback_query
    button = InviteButton.parse(query.data if query is not None else None)
    assert button is not None  # the handler's pattern
    state = STEPS.index(button.step)
    draft = context.state.get(InviteDraft)
    press = await checked_press(update, context, InviteButton, roles=ADMIN_ONLY)
    if press is None:
        return state
    chosen = _STEPS[button.step].offers.get(button.value)
    if draft is None or chosen is None:
        await press.stale()
        return state
    await press.query.answer()
    if button.step == "days":
        return await _make_invitation(update, context, draft, int(chosen), press.lang)
    draft.keep(button.step, chosen)
    return await _ask(update, STEPS[state + 1], press.lang, draft)


async def _make_invitation(
    update: Update, context: BotContext, draft: InviteDraft, days: int, lang: Lang
) -> int:
    """The validity is chosen: the invitation is created (once) and its link shown."""
    assert update.effective_user is not None
    admin_id = update.effective_user.id
    if not await first_press(update, context):
        return STEPS.index("days")
    invitation = await context.db.run(
        staff_store.create_invitation,
        role=Role(draft.role),
        municipality=draft.municipality,
        uses=int(draft.uses),
        expires_days=days,
        created_by=admin_id,
        now=context.now(),
    )
    context.state.pop(InviteDraft)
    expires = invitation.expires_at.astimezone(context.settings.tz)
    link = invite_link(context.data.bot_username, invitation.code)
    await edit_or_send(
        update,
        t(
            "core.admin_invite_created",
            lang,
            role=t(f"core.roles.{invitation.role}", lang),
            municipality=municipality_label(invitation.municipality, lang),
            uses=_uses_label(invitation.max_uses, lang),
            expires=format_date(expires.date(), lang),
            link=link,
            code=invitation.code,
        ),
        share_buttons(link, lang),
    )
    return ConversationHandler.END


def build_handlers() -> Handlers:
    """The admin handlers: /invite's flow, then /staff's."""
    invite = button_flow(
        "invite",
        CommandHandler("invite", start_invite, filters.ChatType.PRIVATE),
        {
            state: [
                CallbackQueryHandler(pick, pattern=InviteButton.matching(step=step)),
                CallbackQueryHandler(back_or_cancel, pattern=InviteBackButton.matching()),
            ]
            for state, step in enumerate(STEPS)
        },
        draft=InviteDraft,
        expected_button="core.register_expected_button",
    )
    return [
        # In a group these would show colleagues' names and invitation links to everyone.
        CommandHandler(["invite", "staff"], private_only, ~filters.ChatType.PRIVATE),
        invite,
        *staff_handlers(),
    ]


FEATURE = Feature(name="admin", commands=COMMANDS, handlers=build_handlers)
