"""The team step of /ny_plan, shown from the wizard (handlers/plans/create.py) and when going
back from the first follow-up's date (handlers/plans/dates.py, which create.py imports)."""

from __future__ import annotations

from sqlmodel import Session
from telegram import Update

from bot.context import BotContext
from bot.i18n import t, tn
from handlers.common import keyboard
from handlers.plans.buttons import NewPlanPageButton, NewPlanPersonButton, NewPlanStepButton
from handlers.plans.flow import PARTICIPANTS, back_button, people_rows, show
from handlers.plans.presses import Step
from storage.plans import store as plans_store
from storage.plans.store import Person


async def ask_participants(
    update: Update, context: BotContext, step: Step, *, page: int, new: bool = False
) -> int:
    """The team question of /ny_plan: the people of the plan's municipality and those chosen
    (✅, from anywhere), "Done (n chosen)" and "◀ Back" to the responsible."""
    lang, draft = step.lang, step.draft
    municipality, responsible = draft.municipality, draft.responsible
    chosen: list[int] = draft.participants

    def load(session: Session) -> list[Person]:
        local = plans_store.staff_to_pick(session, municipality=municipality, exclude={responsible})
        known = {p.id for p in local}
        others = plans_store.people(session, staff_ids=[i for i in chosen if i not in known])
        return others + local

    everyone = await context.db.run(load)
    rows = people_rows(
        everyone,
        page,
        lang,
        data=lambda p: NewPlanPersonButton("part", p.id).pack(),
        page_data=lambda n: NewPlanPageButton("ppg", n).pack(),
        chosen=chosen,
    )
    done = tn("plan_wizard.btn_done", len(chosen), lang) if chosen else t("plans.btn_done", lang)
    rows.append([(done, NewPlanStepButton("done").pack())])
    rows.append(back_button(lang, "resp"))
    draft.page = page
    await show(update, context, t("plans.new_pick_participants", lang), keyboard(rows), new=new)
    return PARTICIPANTS
