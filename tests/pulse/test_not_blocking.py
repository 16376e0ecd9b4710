"""An unfinished pulse answer never blocks the rest of the bot (issue 11, item 9): a typed
question is answered, /cancel ends the answer, and a command during /puls runs."""

from __future__ import annotations

from sqlmodel import select

from bot.context import DalsbotApp
from bot.i18n import t
from bot.shell.standin import BotApiStandIn
from storage.pulse.models import Pulse
from tests.conftest import FakeClock
from tests.helpers import add_staff, questions
from tests.pulse.helpers import TEMPLATES, link_command, open_pulse
from tests.pulse.test_e2e import answers_of, has_draft, unfinished

PULSE_TEXTS = {
    t(f"pulse.{key}", "sv") for key in ("comment_late", "expired", "button_invalid", "closed")
}


async def test_a_question_typed_mid_answer_gets_the_knowledge_base_answer(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Halfway through a pulse, a staff member types a question: the knowledge base answers
    it (no "use the buttons"), and the buttons of the answering message still work, so the
    answer is finished with the same taps as without the question."""
    db = app.bot_data.db
    pulse = open_pulse(db, add_staff(db, 50, "Olle"), now=clock.now, template=TEMPLATES["natverk"])
    add_staff(db, 108, "Dan")
    person = standin.user(108, "Dan")
    message = await person.ask(link_command(pulse))
    message = await person.tap(message, "3")
    card = await person.ask("vad är ett barnteam?")
    assert card.kind == "send" and card.text not in PULSE_TEXTS
    assert "Fråga" not in card.text.split("\n")[0]  # not the answering message again
    assert [(q.question, q.answered) for q in questions(app)] == [("vad är ett barnteam?", True)]
    assert has_draft(app, pulse.id or 0, 108)
    taps = 0
    for score in ("4", "2", "5"):
        message = await person.tap(message, score)
        taps += 1
    assert message.kind == "edit" and t("pulse.summary_title", "sv") in message.text
    done = await person.tap(message, "Skicka utan kommentar")
    assert done.text == t("pulse.thanks", "sv") and taps + 2 == 5  # 4 scores and send
    assert answers_of(db, pulse)[0][0] == {
        "syfte": 3, "delaktighet": 4, "nytta": 2, "nasta_steg": 5,
    }  # fmt: skip


async def test_text_at_the_summary_is_a_question_not_a_comment(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Only the explicit comment step takes text: at the summary a text is a question, and
    the answer is sent without it."""
    db = app.bot_data.db
    pulse = open_pulse(db, add_staff(db, 50, "Olle"), now=clock.now, template=TEMPLATES["natverk"])
    add_staff(db, 109, "Eva")
    person = standin.user(109, "Eva")
    message = await person.ask(link_command(pulse))
    for score in ("3", "3", "3", "3"):
        message = await person.tap(message, score)
    await person.ask("vad är SIP?")
    assert [q.question for q in questions(app)] == ["vad är SIP?"]
    assert (await person.tap(message, "Skicka")).text == t("pulse.thanks", "sv")
    assert [comment for _, comment, _ in answers_of(db, pulse)] == [None]


async def test_cancel_ends_the_unfinished_answer_and_nothing_is_stored(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """/cancel during an answer: one short line, the answering message loses its buttons, the
    draft is gone and nothing is stored; a second /cancel has nothing left to cancel."""
    db = app.bot_data.db
    pulse = open_pulse(db, add_staff(db, 50, "Olle"), now=clock.now)
    person = standin.user(110, "Fia")
    message = await person.ask(link_command(pulse))
    message = await person.tap(message, "4")
    await person.send("/cancel")
    edited, told = await person.next(2)
    assert edited.kind == "edit" and edited.buttons == []
    assert told.kind == "send" and told.text == t("pulse.answer_cancelled", "sv")
    assert len(told.text) <= 60
    assert unfinished(app) == 0 and answers_of(db, pulse) == []
    await person.press(message, 0, data=f"pa:{pulse.id}:q1:4")
    assert (await person.reply()).alert == t("pulse.button_invalid", "sv")
    assert (await person.ask("/cancel")).text == t("core.nothing_to_cancel", "sv")
    # The link opens a fresh answer afterwards.
    again = await person.ask(link_command(pulse))
    assert "Fråga 1 av 5" in again.text


async def test_cancel_during_a_comment_and_a_flow_ends_both_with_one_line(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Writing a pulse comment while /puls waits for a label: /cancel ends both, and the
    person reads one line (the flow's); the next text is neither comment nor label."""
    db = app.bot_data.db
    olle = add_staff(db, 50, "Olle")
    pulse = open_pulse(db, olle, now=clock.now, template=TEMPLATES["natverk"])
    organiser = standin.user(50, "Olle")
    await organiser.tap(await organiser.ask("/puls"), "SIP-möte")
    message = await organiser.ask(link_command(pulse))
    for score in ("3", "3", "3", "3"):
        message = await organiser.tap(message, score)
    await organiser.tap(message, "Lägg till kommentar")
    await organiser.send("/cancel")
    edited, told = await organiser.next(2)
    assert edited.kind == "edit" and edited.buttons == []
    assert told.text == t("core.cancelled", "sv")
    organiser.skip_pending()
    await organiser.ask("vad är SIP?")
    assert [q.question for q in questions(app)] == ["vad är SIP?"]
    assert answers_of(db, pulse) == []
    assert [p.label for p in db.call(lambda s: list(s.exec(select(Pulse))))] == [pulse.label]


async def test_a_command_during_the_label_step_runs_and_leaves_the_new_pulse(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """/ny_plan typed where /puls waits for the meeting label: one line says the new pulse
    stopped, the plan wizard starts, and its next text goes to the wizard, not the label."""
    db = app.bot_data.db
    add_staff(db, 50, "Olle")
    organiser = standin.user(50, "Olle")
    prompt = await organiser.tap(await organiser.ask("/puls"), "Barnteamsmöte")
    assert "etikett" in prompt.text
    await organiser.send("/ny_plan")
    left, wizard = await organiser.next(2)
    assert left.text == t("pulse.new_left", "sv")
    assert wizard.kind == "send" and "etikett" not in wizard.text
    step = await organiser.ask("BP-17")
    assert step.text != t("pulse.new_closing", "sv")
    assert "48 timmar (standard)" not in [b["text"] for b in step.buttons]
    assert db.call(lambda s: list(s.exec(select(Pulse)))) == []


async def test_other_buttons_during_puls_work_and_keep_the_step(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """A button that starts no flow (a pulse answer's score) pressed while /puls waits for
    its closing time works as ever, and the /puls step stays."""
    db = app.bot_data.db
    olle = add_staff(db, 50, "Olle")
    pulse = open_pulse(db, olle, now=clock.now)
    organiser = standin.user(50, "Olle")
    await organiser.tap(await organiser.ask("/puls"), "Barnteamsmöte")
    closing = await organiser.ask("Barnteam Väst")
    answering = await organiser.ask(link_command(pulse))
    assert "Fråga 2 av 5" in (await organiser.tap(answering, "5")).text
    k_menu = await organiser.tap(closing, "24 timmar")
    assert k_menu.text == t("pulse.new_k", "sv")
