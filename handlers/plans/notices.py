"""Notices to the people a plan change concerns: made responsible, added, removed, the
follow-up booked or moved, the plan's type changed, closed or re-opened.

Each person concerned is told once, in their own language, never the person who made the
change. A notice is sent after the change is stored; one that cannot be delivered (the person
blocked the bot) is skipped and logged by ids only, and never undoes or stops the change.
The wizard (handlers/plans/create.py) calls :func:`tell_plan_created` after storing a plan.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.context import BotContext
from bot.i18n import as_lang, t
from handlers.common import keyboard
from handlers.plans.buttons import PlanButton
from handlers.plans.render import escape, follow_up_when, plan_type_label
from storage.plans import store as plans_store
from storage.plans.store import Person, PlanView

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Audience:
    """The plan as the system sees it, who made the change, and who is to be told."""

    view: PlanView
    actor: str
    people: list[Person]


def _audience(
    session: Session, plan_id: int, actor_id: int | None, staff_ids: Iterable[int]
) -> Audience | None:
    view = plans_store.plan_view(session, plan_id=plan_id, viewer_id=None)
    if view is None:
        return None
    wanted = [i for i in dict.fromkeys(staff_ids) if i != actor_id]
    actor = plans_store.people(session, staff_ids=[actor_id]) if actor_id is not None else []
    return Audience(
        view, actor[0].name if actor else "Dalsbot", plans_store.people(session, staff_ids=wanted)
    )


async def tell(
    context: BotContext,
    plan_id: int,
    actor_id: int | None,
    staff_ids: Iterable[int],
    key: str,
    *,
    card: bool = True,
    **params: str,
) -> int:
    """Send the notice ``key`` (HTML, see plans.yaml) about the plan to ``staff_ids`` but the
    actor, each in their language, with the card's button (``card``). ``params`` are plain
    values (escaped here). How many were told."""
    ids = list(staff_ids)
    audience = await context.db.run(lambda session: _audience(session, plan_id, actor_id, ids))
    if audience is None:
        return 0
    view, told = audience.view, 0
    for person in audience.people:
        lang = as_lang(person.language)
        values = {
            "actor": escape(audience.actor),
            "reference": escape(view.reference),
            "plan_type": escape(plan_type_label(view.plan_type, lang)),
            "next": escape(
                follow_up_when(view.next_follow_up, view.follow_up_time, view.place, lang)
                if view.active
                else t("plans.no_date", lang)
            ),
            **{name: escape(value) for name, value in params.items()},
        }
        markup = (
            keyboard([[(t("plans.btn_open_card", lang), PlanButton("card", view.id).pack())]])
            if card
            else None
        )
        told += await _send(context, plan_id, person, t(key, lang, **values), markup)
    return told


async def _send(
    context: BotContext, plan_id: int, person: Person, text: str, markup: object
) -> int:
    try:
        await context.bot.send_message(
            person.telegram_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,  # type: ignore[arg-type]
            disable_web_page_preview=True,
        )
    except Forbidden:
        logger.info("plan %s: notice to staff %s skipped (the bot is blocked)", plan_id, person.id)
        return 0
    except BadRequest as exc:
        if "chat not found" not in str(exc).lower():
            raise
        logger.info("plan %s: notice to staff %s skipped (no chat)", plan_id, person.id)
        return 0
    except TelegramError as exc:
        # The change is stored; a notice lost on the network is logged, not retried.
        logger.warning(
            "plan %s: notice to staff %s failed: %s", plan_id, person.id, type(exc).__name__
        )
        return 0
    return 1


async def team(context: BotContext, plan_id: int) -> list[int]:
    """The plan's active responsible and participants."""
    return await context.db.run(lambda session: plans_store.team_ids(session, plan_id=plan_id))


# -- the changes --------------------------------------------------------------------------------


async def tell_plan_created(context: BotContext, plan_id: int, actor_staff_id: int | None) -> None:
    """A new plan: the responsible (unless they made it) and the participants are told."""
    people = await team(context, plan_id)
    if not people:
        return
    await tell(context, plan_id, actor_staff_id, people[:1], "plans.notice_created_responsible")
    await tell(context, plan_id, actor_staff_id, people[1:], "plans.notice_created_member")


async def tell_added(
    context: BotContext, plan_id: int, actor_id: int | None, staff_id: int
) -> None:
    """Someone was added to the team: they are told."""
    await tell(context, plan_id, actor_id, [staff_id], "plans.notice_added")


async def tell_removed(
    context: BotContext, plan_id: int, actor_id: int | None, staff_id: int
) -> None:
    """Someone was taken out of the team: they are told (no card: they cannot open it)."""
    await tell(context, plan_id, actor_id, [staff_id], "plans.notice_removed", card=False)


async def tell_responsible(
    context: BotContext, plan_id: int, actor_id: int | None, before: int, after: int, name: str
) -> None:
    """Responsibility moved: the new responsible and the one before are told."""
    await tell(context, plan_id, actor_id, [after], "plans.notice_responsible_new")
    await tell(context, plan_id, actor_id, [before], "plans.notice_responsible_old", name=name)


async def tell_team(context: BotContext, plan_id: int, actor_id: int | None, key: str) -> None:
    """A change the whole team should know (a new date or time or place, the type, closed,
    re-opened): everyone in it but the actor is told."""
    await tell(context, plan_id, actor_id, await team(context, plan_id), key)
