"""/ny_plan, step by step and tap first: reference → type → municipality → responsible →
participants → first follow-up (date, time, place; see handlers/plan_dates.py) → summary →
confirm. Nothing is stored before the confirmation; /cancel drops the draft."""

from __future__ import annotations

from sqlmodel import Session
from telegram import Update

from bot.context import BotContext
from bot.i18n import Lang, t
from bot.plan_render import follow_up_when, municipality_name, names, plan_type_label
from handlers import plan_dates
from handlers.common import authorise, first_press, keyboard, parse_id, user_lang
from handlers.plan_ui import (
    CONFIRM,
    END,
    MUNICIPALITY,
    PARTICIPANTS,
    PLAN_TYPE,
    REFERENCE,
    RESPONSIBLE,
    Draft,
    ask_again,
    end_flow,
    flow_press,
    flow_step,
    is_handle,
    load_view,
    people_rows,
    person_label,
    scheduling,
    show,
    show_card,
    start_flow,
)
from storage import plans as plans_store
from storage import staff as staff_store
from storage.models import Municipality, PlanType, Staff
from storage.plans import Person, PlanError

MUNICIPALITIES = [m.value for m in Municipality]
PLAN_TYPES = [p.value for p in PlanType]


async def start_new_plan(update: Update, context: BotContext) -> int:
    """/ny_plan: asks for the plan's reference."""
    staff = await authorise(update, context)
    if staff is None:
        return END
    lang = user_lang(update, context, staff)
    start_flow(context, mode="new", participants=[])
    await show(update, context, t("plans.new_ask_reference", lang), new=True)
    return REFERENCE


async def type_reference(update: Update, context: BotContext) -> int | None:
    """The reference is typed: refused (personnummer, form, taken) or kept; then the type."""
    step = await flow_step(update, context)
    if step is None:
        return None
    staff, lang, draft = step
    assert update.effective_message is not None
    text = update.effective_message.text or ""
    try:
        reference = await context.db.run(
            lambda session: plans_store.check_new_reference(session, reference=text, by=staff.id)
        )
    except PlanError as exc:
        await ask_again(update, context, t(exc.key, lang))
        return None
    draft["reference"] = reference
    if "date" in draft:
        # Back from the summary because the reference was taken meanwhile.
        return await show_summary(update, context, lang, draft)
    rows = [[(plan_type_label(value, lang), f"np:type:{value}")] for value in PLAN_TYPES]
    await show(update, context, t("plans.new_pick_type", lang, reference=reference), keyboard(rows))
    return PLAN_TYPE


async def pick_type(update: Update, context: BotContext) -> int | None:
    """The plan type is tapped: now the municipality, the creator's own first."""
    press = await flow_press(update, context, "np", 2, lambda p: p[1] in PLAN_TYPES)
    if press is None:
        return None
    staff, lang, draft, parts = press
    draft["plan_type"] = parts[1]
    own = staff.municipality
    order = sorted(range(len(MUNICIPALITIES)), key=lambda i: MUNICIPALITIES[i] != own)
    rows = []
    for index in order:
        label = municipality_name(MUNICIPALITIES[index], lang)
        if MUNICIPALITIES[index] == staff.municipality and staff.municipality != "region":
            label = t("plans.own_municipality", lang, municipality=label)
        rows.append([(label, f"np:mun:{index}")])
    await show(update, context, t("plans.new_pick_municipality", lang), keyboard(rows))
    return MUNICIPALITY


async def pick_municipality(update: Update, context: BotContext) -> int | None:
    """The municipality is tapped: now the responsible."""
    press = await flow_press(
        update, context, "np", 2, lambda p: p[1].isdigit() and int(p[1]) < len(MUNICIPALITIES)
    )
    if press is None:
        return None
    staff, lang, draft, parts = press
    draft["municipality"] = MUNICIPALITIES[int(parts[1])]
    return await _ask_responsible(update, context, staff, lang, draft, page=0)


async def _ask_responsible(
    update: Update, context: BotContext, staff: Staff, lang: Lang, draft: Draft, *, page: int
) -> int:
    municipality, me = draft["municipality"], staff.id
    assert me is not None
    people = await context.db.run(
        lambda session: plans_store.staff_to_pick(session, municipality=municipality, exclude={me})
    )
    rows = []
    if plans_store.responsible_fits(staff, municipality):
        rows.append([(t("plans.btn_me", lang), "np:resp:me")])
    rows += people_rows(
        people,
        page,
        item=lambda p: (person_label(p, lang), f"np:resp:{p.id}"),
        page_data=lambda n: f"np:rpg:{n}",
        lang=lang,
    )
    await show(update, context, t("plans.new_pick_responsible", lang), keyboard(rows))
    return RESPONSIBLE


async def page_responsible(update: Update, context: BotContext) -> int | None:
    """◀/▶ in the list of people who may be responsible."""
    press = await flow_press(update, context, "np", 2, lambda p: p[1].isdigit())
    if press is None:
        return None
    staff, lang, draft, parts = press
    return await _ask_responsible(update, context, staff, lang, draft, page=int(parts[1]))


async def pick_responsible(update: Update, context: BotContext) -> int | None:
    """ "Me" or a person is tapped as responsible; checked against the database."""
    press = await flow_press(
        update, context, "np", 2, lambda p: p[1] == "me" or parse_id(p[1]) is not None
    )
    if press is None:
        return None
    staff, lang, draft, parts = press
    assert staff.id is not None
    chosen = staff.id if parts[1] == "me" else int(parts[1])
    person = await context.db.run(
        lambda session: staff_store.get_staff_by_id(session, staff_id=chosen)
    )
    problem = _responsible_problem(person, draft)
    if problem is not None:
        await ask_again(update, context, t(problem, lang))
        return None
    return await _set_responsible(update, context, staff, lang, draft, chosen)


def _responsible_problem(person: Staff | None, draft: Draft) -> str | None:
    if person is None:
        return "plans.staff_unknown"
    if not plans_store.responsible_fits(person, draft["municipality"]):
        return "plans.responsible_municipality"
    return None


async def type_responsible(update: Update, context: BotContext) -> int | None:
    """An @username (or user id) is typed as responsible."""
    step = await flow_step(update, context)
    if step is None:
        return None
    staff, lang, draft = step
    person = await _typed_person(update, context)
    if person is None:
        return None
    problem = _responsible_problem(person, draft)
    if problem is not None:
        await ask_again(update, context, t(problem, lang))
        return None
    assert person.id is not None
    return await _set_responsible(update, context, staff, lang, draft, person.id)


async def _typed_person(update: Update, context: BotContext) -> Staff | None:
    """The staff member typed as ``@username`` or user id; else the question again."""
    assert update.effective_message is not None
    handle = (update.effective_message.text or "").strip()
    lang = user_lang(update, context)
    if not (handle.startswith("@") or handle.isdigit()):
        await ask_again(update, context, t("plans.expected_button", lang))
        return None
    person = (
        await context.db.run(lambda session: staff_store.find_staff(session, handle=handle))
        if is_handle(handle)
        else None
    )
    if person is None:
        await ask_again(update, context, t("plans.staff_not_found", lang))
    return person


async def _set_responsible(
    update: Update, context: BotContext, staff: Staff, lang: Lang, draft: Draft, chosen: int
) -> int:
    draft["responsible"] = chosen
    picked = [i for i in draft["participants"] if i != chosen]
    # The creator stays in the team when someone else is responsible, so they see the plan.
    if staff.id != chosen and staff.id not in picked:
        picked.insert(0, staff.id)
    draft["participants"] = picked
    return await _ask_participants(update, context, lang, draft, page=0)


async def _ask_participants(
    update: Update, context: BotContext, lang: Lang, draft: Draft, *, page: int, new: bool = False
) -> int:
    municipality, responsible = draft["municipality"], draft["responsible"]
    chosen: list[int] = draft["participants"]

    def load(session: Session) -> list[Person]:
        local = plans_store.staff_to_pick(session, municipality=municipality, exclude={responsible})
        known = {p.id for p in local}
        others = plans_store.people(session, staff_ids=[i for i in chosen if i not in known])
        return others + local

    everyone = await context.db.run(load)
    rows = people_rows(
        everyone,
        page,
        item=lambda p: (
            ("✅ " if p.id in chosen else "") + person_label(p, lang),
            f"np:part:{p.id}",
        ),
        page_data=lambda n: f"np:ppg:{n}",
        lang=lang,
    )
    done = (
        t("plans.btn_done_count", lang, count=len(chosen)) if chosen else t("plans.btn_done", lang)
    )
    rows.append([(done, "np:done")])
    draft["page"] = page
    await show(update, context, t("plans.new_pick_participants", lang), keyboard(rows), new=new)
    return PARTICIPANTS


async def toggle_participant(update: Update, context: BotContext) -> int | None:
    """A name is tapped: chosen (✅) or not any more."""
    press = await flow_press(update, context, "np", 2, lambda p: parse_id(p[1]) is not None)
    if press is None:
        return None
    _staff, lang, draft, parts = press
    person_id = int(parts[1])
    chosen: list[int] = draft["participants"]
    if person_id in chosen:
        chosen.remove(person_id)
    else:
        person = await context.db.run(
            lambda session: staff_store.get_staff_by_id(session, staff_id=person_id)
        )
        if person is None or person_id == draft["responsible"]:
            await ask_again(update, context, t("plans.staff_unknown", lang))
            return None
        chosen.append(person_id)
    return await _ask_participants(update, context, lang, draft, page=draft.get("page", 0))


async def page_participants(update: Update, context: BotContext) -> int | None:
    """◀/▶ in the list of possible participants."""
    press = await flow_press(update, context, "np", 2, lambda p: p[1].isdigit())
    if press is None:
        return None
    _staff, lang, draft, parts = press
    return await _ask_participants(update, context, lang, draft, page=int(parts[1]))


async def type_participant(update: Update, context: BotContext) -> int | None:
    """An @username (or user id) is typed: that person is chosen too."""
    step = await flow_step(update, context)
    if step is None:
        return None
    _staff, lang, draft = step
    person = await _typed_person(update, context)
    if person is None:
        return None
    if person.id != draft["responsible"] and person.id not in draft["participants"]:
        draft["participants"].append(person.id)
    return await _ask_participants(update, context, lang, draft, page=0, new=True)


async def participants_done(update: Update, context: BotContext) -> int | None:
    """ "Done": now the first follow-up's date."""
    press = await flow_press(update, context, "np", 1)
    if press is None:
        return None
    _staff, lang, draft, _parts = press
    draft["extra"] = []
    return await plan_dates.ask_date(update, context, lang, t("plans.new_ask_date", lang))


async def show_summary(update: Update, context: BotContext, lang: Lang, draft: Draft) -> int:
    """Everything chosen, to confirm or start again."""
    ids = [draft["responsible"], *draft["participants"]]
    found = await context.db.run(lambda session: plans_store.people(session, staff_ids=ids))
    by_id = {person.id: person for person in found}
    responsible = by_id.get(draft["responsible"])
    day, time = plan_dates.draft_when(draft)
    text = t(
        "plans.new_summary",
        lang,
        reference=draft["reference"],
        plan_type=plan_type_label(draft["plan_type"], lang),
        municipality=municipality_name(draft["municipality"], lang),
        responsible=responsible.name if responsible else "–",
        participants=names([by_id[i] for i in draft["participants"] if i in by_id], lang),
        next=follow_up_when(day, time, draft.get("place"), lang),
    )
    rows = [[(t("plans.btn_create", lang), "np:ok")], [(t("plans.btn_restart", lang), "np:again")]]
    draft["confirmable"] = True
    await show(update, context, text, keyboard(rows))
    return CONFIRM


async def confirm_plan(update: Update, context: BotContext) -> int | None:
    """ "Create the plan": stored with its reminders, and its card shown."""
    press = await flow_press(update, context, "np", 1)
    if press is None:
        return None
    staff, lang, draft, _parts = press
    # Updates run concurrently: of two quick taps on "create", only the first creates (in
    # this process; first_press across processes).
    if not draft.pop("confirmable", False) or not await first_press(update, context):
        return None
    policy, calendar = scheduling(context)
    day, time = plan_dates.draft_when(draft)
    now = context.now()
    try:
        plan = await context.db.run(
            lambda session: plans_store.create_plan(
                session, reference=draft["reference"], plan_type=draft["plan_type"],
                municipality=draft["municipality"], responsible_id=draft["responsible"],
                participant_ids=draft["participants"], next_follow_up=day,
                follow_up_time=time, place=draft.get("place"), created_by=staff.id,
                policy=policy, calendar=calendar, now=now,
            )
        )  # fmt: skip
    except PlanError as exc:
        return await _not_created(update, context, lang, draft, exc.key)
    assert plan.id is not None
    view = await load_view(context, plan.id, staff)
    end_flow(context)
    assert view is not None
    await show_card(update, context, view, lang, notice=t("plans.created", lang))
    return END


async def _not_created(
    update: Update, context: BotContext, lang: Lang, draft: Draft, key: str
) -> int:
    """Something changed since the summary: ask again for what no longer holds."""
    problem = t(key, lang)
    if key.startswith("plans.ref"):
        draft.pop("reference", None)
        await show(update, context, f"{problem}\n\n{t('plans.new_ask_reference', lang)}")
        return REFERENCE
    if key == "plans.date_past":
        draft.pop("date", None)
        return await plan_dates.ask_date(
            update, context, lang, t("plans.new_ask_date", lang), problem=problem
        )
    end_flow(context)
    await show(update, context, f"{problem}\n\n{t('core.cancelled', lang)}")
    return END


async def restart_plan(update: Update, context: BotContext) -> int | None:
    """ "Start again": the draft is dropped and the reference asked for."""
    press = await flow_press(update, context, "np", 1)
    if press is None:
        return None
    _staff, lang, _draft, _parts = press
    start_flow(context, mode="new", participants=[])
    await show(update, context, t("plans.new_ask_reference", lang))
    return REFERENCE


async def expect_button(update: Update, context: BotContext) -> int | None:
    """Text where a button is expected: said so, and the question again."""
    step = await flow_step(update, context)
    if step is None:
        return None
    _staff, lang, _draft = step
    await ask_again(update, context, t("plans.expected_button", lang))
    return None
