"""/ny_plan, step by step and tap first: reference → type → municipality → responsible →
participants → first follow-up (date, time, place; see handlers/plans/dates.py) → summary →
confirm. Nothing is stored before the confirmation; /cancel (or "cancel" on the first step)
drops the draft.

Every step after the first has "◀ Back" to the step before, where what was chosen is kept
and marked ✅ (a typed reference is offered again as a button). The reference step offers a
generated pseudonymous reference (storage/plans/suggestions.py); a reference with a common
first name is refused with the name it found (storage/plans/references.py). Typed text a
step cannot use is answered by one line under the step's question (flow.ask_again).
"""

from __future__ import annotations

from sqlmodel import Session
from telegram import Update

from bot.context import BotContext
from bot.i18n import LANGUAGES, Lang, t
from handlers.common import authorise, first_press, keyboard, municipality_label, user_lang
from handlers.plans import dates as plan_dates
from handlers.plans import notices
from handlers.plans.buttons import (
    PLAN_TYPE_NAMES,
    NewPlanBackButton,
    NewPlanMeButton,
    NewPlanMunicipalityButton,
    NewPlanPageButton,
    NewPlanPersonButton,
    NewPlanReferenceButton,
    NewPlanStepButton,
    NewPlanTypeButton,
)
from handlers.plans.flow import (
    CONFIRM,
    END,
    MUNICIPALITY,
    PARTICIPANTS,
    PLAN_TYPE,
    REFERENCE,
    RESPONSIBLE,
    PlanDraft,
    Rows,
    ask_again,
    back_button,
    chosen_label,
    end_flow,
    flow,
    local_today,
    people_rows,
    show,
    show_card,
    show_question,
    start_flow,
)
from handlers.plans.participants import ask_participants
from handlers.plans.presses import (
    TEXT,
    FlowPress,
    Step,
    StepTable,
    Unusable,
    find_typed_person,
    load_view,
    on_flow_button,
    on_text,
    run_change,
)
from handlers.plans.render import plan_type_label
from handlers.plans.summary import show_summary
from storage.people import store as staff_store
from storage.people.models import Municipality, Staff
from storage.plans import store as plans_store
from storage.plans import suggestions
from storage.plans.references import first_name_in
from storage.plans.store import PlanError

MUNICIPALITIES = [m.value for m in Municipality]


async def start_new_plan(update: Update, context: BotContext) -> int:
    """/ny_plan: asks for the plan's reference."""
    staff = await authorise(update, context)
    if staff is None:
        return END
    lang = user_lang(update, context, staff)
    start_flow(context, PlanDraft(mode="new"))
    return await _ask_reference(update, context, staff, lang, new=True)


async def _ask_reference(
    update: Update,
    context: BotContext,
    staff: Staff,
    lang: Lang,
    *,
    new: bool = False,
    problem: str | None = None,
) -> int:
    """The reference question: the reference chosen before (going back) and a generated one
    as buttons, and "cancel"."""
    draft = flow(context)
    assert draft is not None
    municipality, year = staff.municipality, local_today(context).year

    def suggest(session: Session) -> str:
        found = suggestions.suggest_reference(session, municipality=municipality, year=year)
        return found or ""

    draft.suggested = await context.db.run(suggest)
    rows: Rows = []
    if draft.reference:
        label = t("plan_wizard.btn_keep_reference", lang, reference=draft.reference)
        rows.append([(label, NewPlanReferenceButton("ref", "keep").pack())])
    if draft.suggested and draft.suggested.upper() != draft.reference.upper():
        label = t("plan_wizard.btn_suggested", lang, reference=draft.suggested)
        rows.append([(label, NewPlanReferenceButton("ref", "new").pack())])
    rows.append([(t("plan_wizard.btn_cancel", lang), NewPlanBackButton("back", "exit").pack())])
    question = t("plans.new_ask_reference", lang)
    await show_question(update, context, question, keyboard(rows), problem=problem, new=new)
    return REFERENCE


@on_text
async def type_reference(update: Update, context: BotContext, step: Step, text: str) -> int | None:
    """The reference is typed: refused (personnummer, a first name, form, taken) or kept;
    then the type."""
    try:
        return await _use_reference(update, context, step, text)
    except PlanError as exc:
        if exc.key != "plan_wizard.ref_first_name":
            raise
        # Said with the name it found, so the person sees what to change.
        name = first_name_in(text) or text
        problem = t("plan_wizard.ref_first_name_named", step.lang, name=name)
        await ask_again(update, context, problem)
        return None


@on_flow_button(NewPlanReferenceButton)
async def pick_reference(
    update: Update, context: BotContext, press: FlowPress[NewPlanReferenceButton]
) -> int:
    """The generated reference (or the one chosen before going back) is tapped: checked
    again (someone may have taken it since: then a new one is offered), then the type."""
    draft = press.draft
    chosen = draft.suggested if press.data.choice == "new" else draft.reference
    try:
        return await _use_reference(update, context, press, chosen)
    except PlanError as exc:
        draft.reference = ""
        return await _ask_reference(
            update, context, press.staff, press.lang, problem=t(exc.key, press.lang)
        )


async def _use_reference(update: Update, context: BotContext, step: Step, text: str) -> int:
    """``text`` becomes the reference if it may (else :class:`PlanError`); then the type, or
    the summary again when the reference was refused at the confirmation."""
    lang, draft, by = step.lang, step.draft, step.staff.id
    draft.reference = await context.db.run(
        lambda session: plans_store.check_new_reference(session, reference=text, by=by)
    )
    if draft.resume:
        draft.resume = False
        return await show_summary(update, context, lang, draft)
    return await _ask_type(update, context, step)


async def _ask_type(update: Update, context: BotContext, step: Step) -> int:
    lang, draft = step.lang, step.draft
    rows: Rows = [
        [
            (
                chosen_label(plan_type_label(value, lang), value == draft.plan_type, lang),
                NewPlanTypeButton("type", value).pack(),
            )
        ]
        for value in PLAN_TYPE_NAMES
    ]
    rows.append(back_button(lang, "ref"))
    question = t("plans.new_pick_type", lang, reference=draft.reference)
    await show(update, context, question, keyboard(rows))
    return PLAN_TYPE


@on_flow_button(NewPlanTypeButton)
async def pick_type(
    update: Update, context: BotContext, press: FlowPress[NewPlanTypeButton]
) -> int:
    """The plan type is tapped: now the municipality, the creator's own first."""
    press.draft.plan_type = press.data.plan_type
    return await _ask_municipality(update, context, press)


@on_text
async def type_type(update: Update, context: BotContext, step: Step, text: str) -> int | None:
    """A typed type that matches a button's label (``SIP``, ``barnets plan``, ``Other
    plan``; either language, any case) is taken as that button; other text is explained."""
    typed = " ".join(text.split()).casefold()
    for value in PLAN_TYPE_NAMES:
        if typed in {plan_type_label(value, lang).casefold() for lang in LANGUAGES}:
            step.draft.plan_type = value
            return await _ask_municipality(update, context, step)
    await ask_again(update, context, t("plans.expected_button", step.lang))
    return None


async def _ask_municipality(update: Update, context: BotContext, step: Step) -> int:
    staff, lang, draft = step.staff, step.lang, step.draft
    own = staff.municipality
    order = sorted(range(len(MUNICIPALITIES)), key=lambda i: MUNICIPALITIES[i] != own)
    rows: Rows = []
    for index in order:
        label = municipality_label(MUNICIPALITIES[index], lang)
        if MUNICIPALITIES[index] == staff.municipality and staff.municipality != "region":
            label = t("plans.own_municipality", lang, municipality=label)
        label = chosen_label(label, MUNICIPALITIES[index] == draft.municipality, lang)
        rows.append([(label, NewPlanMunicipalityButton("mun", index).pack())])
    rows.append(back_button(lang, "type"))
    await show(update, context, t("plans.new_pick_municipality", lang), keyboard(rows))
    return MUNICIPALITY


@on_flow_button(NewPlanMunicipalityButton, valid=lambda d: d.index < len(MUNICIPALITIES))
async def pick_municipality(
    update: Update, context: BotContext, press: FlowPress[NewPlanMunicipalityButton]
) -> int:
    """The municipality is tapped: now the responsible."""
    press.draft.municipality = MUNICIPALITIES[press.data.index]
    return await _ask_responsible(update, context, press, page=0)


async def _ask_responsible(update: Update, context: BotContext, step: Step, *, page: int) -> int:
    staff, lang = step.staff, step.lang
    municipality, me = step.draft.municipality, staff.id
    assert me is not None
    people = await context.db.run(
        lambda session: plans_store.staff_to_pick(session, municipality=municipality, exclude={me})
    )
    chosen = step.draft.responsible
    rows: Rows = []
    if plans_store.responsible_fits(staff, municipality):
        label = chosen_label(t("plans.btn_me", lang), chosen == me, lang)
        rows.append([(label, NewPlanMeButton("resp", "me").pack())])
    rows += people_rows(
        people,
        page,
        lang,
        data=lambda p: NewPlanPersonButton("resp", p.id).pack(),
        page_data=lambda n: NewPlanPageButton("rpg", n).pack(),
        chosen=[chosen],
    )
    rows.append(back_button(lang, "mun"))
    await show(update, context, t("plans.new_pick_responsible", lang), keyboard(rows))
    return RESPONSIBLE


@on_flow_button(NewPlanPageButton)
async def page_responsible(
    update: Update, context: BotContext, press: FlowPress[NewPlanPageButton]
) -> int:
    """◀/▶ in the list of people who may be responsible."""
    return await _ask_responsible(update, context, press, page=press.data.page)


@on_flow_button(NewPlanMeButton)
async def pick_me_responsible(
    update: Update, context: BotContext, press: FlowPress[NewPlanMeButton]
) -> int | None:
    """ "Me" is tapped as responsible."""
    return await _chose_responsible(update, context, press, press.staff)


@on_flow_button(NewPlanPersonButton)
async def pick_responsible(
    update: Update, context: BotContext, press: FlowPress[NewPlanPersonButton]
) -> int | None:
    """A person is tapped as responsible; checked against the database."""
    staff_id = press.data.staff_id
    person = await context.db.run(
        lambda session: staff_store.get_staff_by_id(session, staff_id=staff_id)
    )
    return await _chose_responsible(update, context, press, person)


@on_text
async def type_responsible(
    update: Update, context: BotContext, step: Step, text: str
) -> int | None:
    """An @username (or user id) is typed as responsible."""
    person = await find_typed_person(context, text)
    if person is None:
        raise Unusable("plans.staff_not_found")
    return await _chose_responsible(update, context, step, person)


async def _chose_responsible(
    update: Update, context: BotContext, step: Step, person: Staff | None
) -> int | None:
    """``person`` becomes responsible if they may be; else the problem and the question."""
    if person is None or person.id is None:
        problem = "plans.staff_unknown"
    elif not plans_store.responsible_fits(person, step.draft.municipality):
        problem = "plans.responsible_municipality"
    else:
        return await _set_responsible(update, context, step, person.id)
    await ask_again(update, context, t(problem, step.lang))
    return None


async def _set_responsible(update: Update, context: BotContext, step: Step, chosen: int) -> int:
    staff, draft = step.staff, step.draft
    draft.responsible = chosen
    picked = [i for i in draft.participants if i != chosen]
    # The creator stays in the team when someone else is responsible, so they see the plan.
    if staff.id is not None and staff.id != chosen and staff.id not in picked:
        picked.insert(0, staff.id)
    draft.participants = picked
    return await ask_participants(update, context, step, page=0)


@on_flow_button(NewPlanPersonButton)
async def toggle_participant(
    update: Update, context: BotContext, press: FlowPress[NewPlanPersonButton]
) -> int | None:
    """A name is tapped: chosen (✅) or not any more."""
    person_id, draft = press.data.staff_id, press.draft
    chosen: list[int] = draft.participants
    if person_id in chosen:
        chosen.remove(person_id)
    else:
        person = await context.db.run(
            lambda session: staff_store.get_staff_by_id(session, staff_id=person_id)
        )
        if person is None or person_id == draft.responsible:
            await ask_again(update, context, t("plans.staff_unknown", press.lang))
            return None
        chosen.append(person_id)
    return await ask_participants(update, context, press, page=draft.page)


@on_flow_button(NewPlanPageButton)
async def page_participants(
    update: Update, context: BotContext, press: FlowPress[NewPlanPageButton]
) -> int:
    """◀/▶ in the list of possible participants."""
    return await ask_participants(update, context, press, page=press.data.page)


@on_text
async def type_participant(update: Update, context: BotContext, step: Step, text: str) -> int:
    """An @username (or user id) is typed: that person is chosen too."""
    person = await find_typed_person(context, text)
    if person is None:
        raise Unusable("plans.staff_not_found")
    draft = step.draft
    if person.id is not None and person.id not in (draft.responsible, *draft.participants):
        draft.participants.append(person.id)
    return await ask_participants(update, context, step, page=0, new=True)


@on_flow_button(NewPlanStepButton)
async def participants_done(
    update: Update, context: BotContext, press: FlowPress[NewPlanStepButton]
) -> int:
    """ "Done": now the first follow-up's date."""
    press.draft.extra = [back_button(press.lang, "part")]
    question = t("plans.new_ask_date", press.lang)
    return await plan_dates.ask_date(update, context, press.lang, question)


@on_flow_button(NewPlanStepButton)
async def confirm_plan(
    update: Update, context: BotContext, press: FlowPress[NewPlanStepButton]
) -> int | None:
    """ "Create the plan": stored with its reminders, and its card shown."""
    staff, lang, draft = press.staff, press.lang, press.draft
    # Updates run concurrently: of two quick taps on "create", only the first creates (in
    # this process; first_press across processes).
    confirmable, draft.confirmable = draft.confirmable, False
    if not confirmable or not await first_press(update, context):
        return None
    day, time = draft.when()
    try:
        plan = await run_change(
            context, plans_store.create_plan, reference=draft.reference,
            plan_type=draft.plan_type, municipality=draft.municipality,
            responsible_id=draft.responsible, participant_ids=draft.participants,
            next_follow_up=day, follow_up_time=time, place=draft.place, created_by=staff.id,
        )  # fmt: skip
    except PlanError as exc:
        return await _not_created(update, context, press, exc.key)
    assert plan.id is not None
    view = await load_view(context, plan.id, staff)
    end_flow(context)
    assert view is not None
    await show_card(update, context, view, lang, notice=t("plans.created", lang))
    await notices.tell_plan_created(context, plan.id, staff.id)
    return END


async def _not_created(update: Update, context: BotContext, step: Step, key: str) -> int:
    """Something changed since the summary: ask again for what no longer holds."""
    lang, draft = step.lang, step.draft
    problem = t(key, lang)
    if key.startswith("plans.ref") or key.startswith("plan_wizard.ref"):
        draft.reference, draft.resume = "", True
        return await _ask_reference(update, context, step.staff, lang, problem=problem)
    if key == "plans.date_past":
        draft.date = None
        return await plan_dates.ask_date(
            update, context, lang, t("plans.new_ask_date", lang), problem=problem
        )
    end_flow(context)
    await show(update, context, f"{problem}\n\n{t('core.cancelled', lang)}")
    return END


@on_flow_button(NewPlanStepButton)
async def restart_plan(
    update: Update, context: BotContext, press: FlowPress[NewPlanStepButton]
) -> int:
    """ "Start again": the draft is dropped and the reference asked for."""
    start_flow(context, PlanDraft(mode="new"))
    return await _ask_reference(update, context, press.staff, press.lang)


# -- back ---------------------------------------------------------------------------------------


@on_flow_button(NewPlanBackButton)
async def leave_wizard(
    update: Update, context: BotContext, press: FlowPress[NewPlanBackButton]
) -> int:
    """ "Cancel" on the first step: the draft is dropped, nothing was stored."""
    end_flow(context)
    await show(update, context, t("plan_wizard.cancelled", press.lang))
    return END


@on_flow_button(NewPlanBackButton)
async def back_to_reference(
    update: Update, context: BotContext, press: FlowPress[NewPlanBackButton]
) -> int:
    """ "Back" from the type: the reference question, the reference kept as a button."""
    return await _ask_reference(update, context, press.staff, press.lang)


@on_flow_button(NewPlanBackButton)
async def back_to_type(
    update: Update, context: BotContext, press: FlowPress[NewPlanBackButton]
) -> int:
    """ "Back" from the municipality: the type, the one chosen marked."""
    return await _ask_type(update, context, press)


@on_flow_button(NewPlanBackButton)
async def back_to_municipality(
    update: Update, context: BotContext, press: FlowPress[NewPlanBackButton]
) -> int:
    """ "Back" from the responsible: the municipality, the one chosen marked."""
    return await _ask_municipality(update, context, press)


@on_flow_button(NewPlanBackButton)
async def back_to_responsible(
    update: Update, context: BotContext, press: FlowPress[NewPlanBackButton]
) -> int:
    """ "Back" from the participants: the responsible, the one chosen marked."""
    return await _ask_responsible(update, context, press, page=0)


@on_flow_button(NewPlanBackButton)
async def back_to_place(
    update: Update, context: BotContext, press: FlowPress[NewPlanBackButton]
) -> int:
    """ "Back" from the summary: the place, the one chosen offered again."""
    press.draft.confirmable = False
    return await plan_dates.ask_place(update, context, press.lang)


@on_text
async def expect_button(update: Update, context: BotContext, step: Step, _text: str) -> None:
    """Text where a button is expected: said so, and the question again."""
    await ask_again(update, context, t("plans.expected_button", step.lang))
    return None


# The conversation's steps of /ny_plan before the date, and its last (see handlers/plans/menu.py).
# Each step takes only the back button to its own previous step.
STEPS: StepTable = {
    REFERENCE: [
        (pick_reference, NewPlanReferenceButton.matching()),
        (leave_wizard, NewPlanBackButton.matching(to="exit")),
        (type_reference, TEXT),
    ],
    PLAN_TYPE: [
        (pick_type, NewPlanTypeButton.matching()),
        (back_to_reference, NewPlanBackButton.matching(to="ref")),
        (type_type, TEXT),
    ],
    MUNICIPALITY: [
        (pick_municipality, NewPlanMunicipalityButton.matching()),
        (back_to_type, NewPlanBackButton.matching(to="type")),
        (expect_button, TEXT),
    ],
    RESPONSIBLE: [
        (pick_me_responsible, NewPlanMeButton.matching()),
        (pick_responsible, NewPlanPersonButton.matching(action="resp")),
        (page_responsible, NewPlanPageButton.matching(action="rpg")),
        (back_to_municipality, NewPlanBackButton.matching(to="mun")),
        (type_responsible, TEXT),
    ],
    PARTICIPANTS: [
        (toggle_participant, NewPlanPersonButton.matching(action="part")),
        (page_participants, NewPlanPageButton.matching(action="ppg")),
        (participants_done, NewPlanStepButton.matching(action="done")),
        (back_to_responsible, NewPlanBackButton.matching(to="resp")),
        (type_participant, TEXT),
    ],
    CONFIRM: [
        (confirm_plan, NewPlanStepButton.matching(action="ok")),
        (restart_plan, NewPlanStepButton.matching(action="again")),
        (back_to_place, NewPlanBackButton.matching(to="place")),
        (expect_button, TEXT),
    ],
}
