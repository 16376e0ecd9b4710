"""/ny_plan that forgives, end to end over the stand-in: back on every step with what was
chosen kept, wrong input answered under the question in the same message, holidays marked,
a generated reference and the last place as buttons, first names refused.

The clock starts on Wednesday 25 November 2026, 10:00 in Stockholm. Counts of messages and
taps are the README's "taps before / taps after" figures.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, col, select

from bot.context import DalsbotApp
from bot.i18n import t, tn
from bot.shell.standin import BotApiStandIn, ChatEvent, SimUser
from storage.plans import store as plans_store
from storage.plans.models import Plan, PlanParticipant
from tests.conftest import FakeClock, too_long_for_a_phone
from tests.plans.helpers import CALENDAR, POLICY, add_staff

ANNA, BO, DAN = 301, 302, 303
BACK = "◀ Tillbaka"
LEGEND = t("plan_wizard.calendar_legend", "sv")
DATE_QUESTION = t("plans.new_ask_date", "sv") + "\n" + LEGEND


@pytest.fixture
def team(app: DalsbotApp) -> dict[str, int]:
    """Staff ids: Anna (coordinator), Bo and Dan, all in Mellerud."""
    db = app.bot_data.db
    return {
        "anna": add_staff(db, ANNA, "Anna Ek", role="coordinator", username="anna"),
        "bo": add_staff(db, BO, "Bo Al", username="bo"),
        "dan": add_staff(db, DAN, "Dan Ulf", username="dan"),
    }


def labels(event: ChatEvent) -> list[str]:
    return [button["text"] for button in event.buttons]


def sends(user: SimUser) -> int:
    """How many messages the bot has sent this person (edits not counted)."""
    return sum(1 for event in user.events() if event.kind == "send")


def plans(app: DalsbotApp) -> list[Plan]:
    return app.bot_data.db.call(lambda s: list(s.exec(select(Plan).order_by(col(Plan.id)))))


def store_plan(app: DalsbotApp, clock: FakeClock, reference: str, by: int, place: str) -> None:
    """A plan Anna made earlier, stored directly."""

    def run(session: Session) -> None:
        plans_store.create_plan(
            session, reference=reference, plan_type="sip", municipality="Mellerud",
            responsible_id=by, next_follow_up=dt.date(2026, 12, 18), place=place,
            created_by=by, policy=POLICY, calendar=CALENDAR, now=clock.now,
        )  # fmt: skip

    app.bot_data.db.call(run)


async def to_date_step(anna: SimUser, reference: str = "BP-17") -> ChatEvent:
    """/ny_plan up to the calendar: a typed reference, SIP, Mellerud, Anna herself, no team."""
    await anna.ask("/ny_plan")
    step = await anna.tap(await anna.ask(reference), "SIP")
    step = await anna.tap(await anna.tap(step, "Mellerud"), "Jag själv")
    step = await anna.tap(step, "Klar")
    assert step.text == DATE_QUESTION
    return step


async def test_back_on_every_step_keeps_what_was_chosen(
    app: DalsbotApp, standin: BotApiStandIn, team: dict[str, int]
) -> None:
    """From the summary "back" walks every step to the reference, each showing the earlier
    choice marked ✅ (the day framed in the calendar), all in the one message; forward again
    with those choices, the plan is created as chosen. "Done" counts with plurals."""
    anna = standin.user(ANNA, "Anna")
    await anna.ask("/ny_plan")
    step = await anna.ask("BP-17")
    step = await anna.tap(await anna.tap(step, "SIP"), "Mellerud")
    step = await anna.tap(step, "Jag själv")
    step = await anna.tap(step, "Bo Al")
    assert "Klar ✔️ (1 vald)" in labels(step)
    step = await anna.tap(step, "Dan Ulf")
    assert "Klar ✔️ (2 valda)" in labels(step)
    step = await anna.tap(step, "Klar")
    assert labels(step)[-1] == BACK
    step = await anna.tap(await anna.ask("15/12"), "10:00")
    summary = await anna.ask("Familjecentralen")
    assert labels(summary)[-1] == BACK
    before = sends(anna)

    step = await anna.tap(summary, BACK)
    assert step.text == t("plans.ask_place", "sv")
    assert labels(step) == ["📍 Familjecentralen", t("plans.btn_skip_place", "sv"), BACK]
    step = await anna.tap(step, BACK)
    assert step.text.startswith("Tisdag 15 december 2026. Vilken tid?")
    assert "✅ 10:00" in labels(step) and "13:00" in labels(step)
    step = await anna.tap(step, BACK)
    assert step.text == DATE_QUESTION
    assert "December 2026" in labels(step) and "[15]" in labels(step)
    step = await anna.tap(step, BACK)
    assert step.text == t("plans.new_pick_participants", "sv")
    assert {"✅ Bo Al · Mellerud", "✅ Dan Ulf · Mellerud", "Klar ✔️ (2 valda)"} <= set(labels(step))
    step = await anna.tap(step, BACK)
    assert step.text == t("plans.new_pick_responsible", "sv")
    assert labels(step)[0] == "✅ " + t("plans.btn_me", "sv")
    step = await anna.tap(step, BACK)
    assert labels(step)[0] == "✅ Mellerud (din kommun)"
    step = await anna.tap(step, BACK)
    assert labels(step) == ["Barnets plan", "✅ SIP", "Annan plan", BACK]
    step = await anna.tap(step, BACK)
    assert step.text == t("plans.new_ask_reference", "sv")
    assert labels(step)[0] == "✅ BP-17"
    assert sends(anna) == before  # eight steps back, every one an edit

    step = await anna.tap(step, "BP-17")
    step = await anna.tap(await anna.tap(step, "✅ SIP"), "✅ Mellerud")
    step = await anna.tap(await anna.tap(step, "Jag själv"), "Klar")
    step = await anna.tap(step, "[15]")
    step = await anna.tap(await anna.tap(step, "✅ 10:00"), "📍 Familjecentralen")
    assert "Deltagare: Bo Al, Dan Ulf" in step.text
    assert "Första uppföljning: tisdag 15 december 2026 kl. 10:00, Familjecentralen" in step.text
    await anna.tap(step, "Skapa planen")
    [plan] = plans(app)
    assert (plan.reference, plan.plan_type, plan.municipality, plan.responsible_id) == (
        "BP-17", "sip", "Mellerud", team["anna"],
    )  # fmt: skip
    assert (plan.next_follow_up, plan.follow_up_time, plan.place) == (
        dt.date(2026, 12, 15), dt.time(10), "Familjecentralen",
    )  # fmt: skip
    team_ids = app.bot_data.db.call(lambda s: set(s.exec(select(PlanParticipant.staff_id))))
    assert team_ids == {team["bo"], team["dan"]}
    assert sends(anna) == before  # the whole way back and forth: no new message
    assert not too_long_for_a_phone(standin)


async def test_a_wrong_date_or_time_is_one_line_under_the_question(
    app: DalsbotApp, standin: BotApiStandIn, team: dict[str, int]
) -> None:
    """An unreadable or past date edits the calendar's message with one line under the
    question (no new calendar); so does an unreadable time. Correcting a wrong date: one
    new message (the time question), before two (a new calendar, then the time)."""
    anna = standin.user(ANNA, "Anna")
    calendar = await to_date_step(anna)
    before = sends(anna)
    step = await anna.ask("blabla")
    assert step.kind == "edit" and step.message["message_id"] == calendar.message["message_id"]
    assert step.text == DATE_QUESTION + "\n\n⚠️ " + t("plans.date_unreadable", "sv")
    assert labels(step) == labels(calendar)  # the calendar stays as it was
    step = await anna.ask("2026-11-20")
    assert step.kind == "edit"
    assert step.text == DATE_QUESTION + "\n\n⚠️ " + t("plans.date_past", "sv")
    assert sends(anna) == before
    time_step = await anna.ask("15/12")
    assert time_step.kind == "send" and sends(anna) == before + 1
    step = await anna.ask("25:99")
    assert step.kind == "edit" and step.message["message_id"] == time_step.message["message_id"]
    assert step.text.endswith("\n\n⚠️ " + t("plans.time_unreadable", "sv"))
    step = await anna.ask("13:30")
    assert step.text == t("plans.ask_place", "sv")
    # A calendar shown on another month keeps that month under a problem line.
    step = await anna.tap(step, BACK)
    step = await anna.tap(step, BACK)
    step = await anna.tap(step, "▶")
    assert "Januari 2027" in labels(step)
    step = await anna.ask("hmm")
    assert "Januari 2027" in labels(step) and step.text.endswith(t("plans.date_unreadable", "sv"))
    assert sends(anna) == before + 2  # the time and the place questions only
    assert not too_long_for_a_phone(standin)


async def test_holidays_are_marked_and_named_when_picked(
    app: DalsbotApp, standin: BotApiStandIn, team: dict[str, int]
) -> None:
    """December shows 24*, 25*, 26* and 31* and weekends in brackets; picking a holiday
    still works and the time question names it; so does a typed 6 January."""
    anna = standin.user(ANNA, "Anna")
    calendar = await to_date_step(anna)
    assert "(28)" in labels(calendar) and "25" in labels(calendar)
    december = await anna.tap(calendar, "▶")
    assert {"24*", "25*", "26*", "31*", "(5)", "(27)"} <= set(labels(december))
    assert "24" not in labels(december)
    step = await anna.tap(december, "24*")
    assert step.text.startswith("Torsdag 24 december 2026. Vilken tid?")
    assert step.text.endswith(t("plan_wizard.holiday_note", "sv", name="Julafton"))
    step = await anna.tap(step, BACK)
    assert "[24*]" in labels(step)
    step = await anna.ask("6/1")
    assert step.text.endswith("Obs! Helgdag: Trettondedag jul.")
    step = await anna.tap(await anna.tap(step, "Ingen tid"), t("plans.btn_skip_place", "sv"))
    await anna.tap(step, "Skapa planen")
    assert plans(app)[0].next_follow_up == dt.date(2027, 1, 6)


async def test_a_generated_reference_and_the_last_place_make_a_plan_with_two_typed_messages(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """The reference step offers the next free MEL-2026-nnn; the place step Anna's last place.
    A plan with a typed date: 2 typed messages and 8 taps, 2 messages from the bot (before:
    4 typed, 6 taps, 4 messages)."""
    store_plan(app, clock, "MEL-2026-001", team["anna"], "Familjecentralen")
    anna = standin.user(ANNA, "Anna")
    step = await anna.ask("/ny_plan")
    assert labels(step) == ["✨ Använd MEL-2026-002", t("plan_wizard.btn_cancel", "sv")]
    taps = 0

    async def tap(event: ChatEvent, label: str) -> ChatEvent:
        nonlocal taps
        taps += 1
        return await anna.tap(event, label)

    step = await tap(step, "MEL-2026-002")
    assert step.text == "Vilken sorts plan är MEL-2026-002?"
    step = await tap(await tap(step, "SIP"), "Mellerud")
    step = await tap(await tap(step, "Jag själv"), "Klar")
    step = await tap(await anna.ask("nästa fredag"), "13:00")
    assert labels(step)[0] == "📍 Familjecentralen"
    step = await tap(step, "📍 Familjecentralen")
    assert "Första uppföljning: fredag 27 november 2026 kl. 13:00, Familjecentralen" in step.text
    await tap(step, "Skapa planen")
    assert (taps, sends(anna)) == (8, 2)
    created = plans(app)[-1]
    assert (created.reference, created.place) == ("MEL-2026-002", "Familjecentralen")
    # The next suggestion counts on.
    assert labels(await anna.ask("/ny_plan"))[0] == "✨ Använd MEL-2026-003"
    assert not too_long_for_a_phone(standin)


async def test_a_suggested_reference_taken_meanwhile_is_replaced(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, team: dict[str, int]
) -> None:
    """Someone takes the offered reference before the tap: said under the question, and the
    next free one offered."""
    anna = standin.user(ANNA, "Anna")
    step = await anna.ask("/ny_plan")
    store_plan(app, clock, "MEL-2026-001", team["bo"], "Skolan")
    step = await anna.tap(step, "MEL-2026-001")
    assert step.text.endswith("⚠️ " + t("plans.ref_taken", "sv"))
    assert labels(step)[0] == "✨ Använd MEL-2026-002"


async def test_a_reference_with_a_first_name_is_refused_with_the_name(
    app: DalsbotApp, standin: BotApiStandIn, team: dict[str, int]
) -> None:
    """ "Lisa-7b" and "zoë-4" are refused, naming the part, under the question; a code like
    SIP-2026-014 or BB-ÅM-7 is taken; nothing is stored before the confirmation."""
    anna = standin.user(ANNA, "Anna")
    question = await anna.ask("/ny_plan")
    step = await anna.ask("Lisa-7b")
    assert step.kind == "edit" and step.message["message_id"] == question.message["message_id"]
    named = t("plan_wizard.ref_first_name_named", "sv", name="Lisa")
    assert step.text == t("plans.new_ask_reference", "sv") + "\n\n⚠️ " + named
    assert named.startswith("”Lisa” ser ut som ett förnamn.")
    step = await anna.ask("zoë-4")
    assert "”zoë”" in step.text
    assert (await anna.ask("SIP-2026-014")).text == "Vilken sorts plan är SIP-2026-014?"
    assert plans(app) == []


async def test_cancel_on_the_first_step_ends_the_wizard(
    app: DalsbotApp, standin: BotApiStandIn, team: dict[str, int]
) -> None:
    """ "✖ Cancel" instead of typing /cancel: the flow is over, nothing stored."""
    anna = standin.user(ANNA, "Anna")
    step = await anna.ask("/ny_plan")
    step = await anna.tap(step, t("plan_wizard.btn_cancel", "sv"))
    assert step.text == t("plan_wizard.cancelled", "sv")
    assert (await anna.ask("/cancel")).text == t("core.nothing_to_cancel", "sv")
    assert plans(app) == []


async def test_a_forged_back_button_is_refused_as_stale(
    app: DalsbotApp, standin: BotApiStandIn, team: dict[str, int]
) -> None:
    """Each step takes only the back button to its own previous step: "back to the place"
    forged on the type step, or a step that does not exist, is stale and changes nothing."""
    anna = standin.user(ANNA, "Anna")
    await anna.ask("/ny_plan")
    step = await anna.ask("BP-17")
    for forged in ("np:back:place", "np:back:nowhere", "np:ref:new"):
        await anna.press(step, BACK, data=forged)
        assert (await anna.reply()).alert == t("core.stale_button", "sv")
    assert anna.last().text == "Vilken sorts plan är BP-17?"
    assert (await anna.tap(step, BACK)).text == t("plans.new_ask_reference", "sv")


def test_done_counts_in_both_languages() -> None:
    """CLDR plural rules through Babel: one and other."""
    assert tn("plan_wizard.btn_done", 1, "sv") == "Klar ✔️ (1 vald)"
    assert tn("plan_wizard.btn_done", 3, "sv") == "Klar ✔️ (3 valda)"
    assert tn("plan_wizard.btn_done", 1, "en") == "Done ✔️ (1 chosen)"
