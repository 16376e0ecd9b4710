"""The summary of a new plan, to confirm or start again (the last step of /ny_plan, reached
from the reference, date, time or place step)."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import Lang, t
from handlers.common import keyboard
from handlers.plans.buttons import NewPlanStepButton
from handlers.plans.flow import CONFIRM, PlanDraft, back_button, show
from handlers.plans.render import follow_up_when, plan_words
from storage.plans import store as plans_store


async def show_summary(update: Update, context: BotContext, lang: Lang, draft: PlanDraft) -> int:
    """Everything chosen, to confirm or start again."""
    ids = [draft.responsible, *draft.participants]
    found = await context.db.run(lambda session: plans_store.people(session, staff_ids=ids))
    by_id = {person.id: person for person in found}
    responsible = by_id.get(draft.responsible)
    participants = [by_id[i] for i in draft.participants if i in by_id]
    day, time = draft.when()
    text = t(
        "plans.new_summary",
        lang,
        reference=draft.reference,
        responsible=responsible.name if responsible else "–",
        next=follow_up_when(day, time, draft.place, lang),
        **plan_words(draft.plan_type, draft.municipality, participants, lang),
    )
    rows = [
        [(t("plans.btn_create", lang), NewPlanStepButton("ok").pack())],
        [(t("plans.btn_restart", lang), NewPlanStepButton("again").pack())],
        back_button(lang, "place"),
    ]
    draft.confirmable = True
    await show(update, context, text, keyboard(rows))
    return CONFIRM
