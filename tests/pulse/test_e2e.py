"""The pulse end to end over HTTP: the real Application against the Bot API stand-in."""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa
from sqlmodel import select

from bot.context import DalsbotApp
from bot.guard import REDACTED
from bot.i18n import t
from bot.shell.standin import BotApiStandIn
from handlers.pulse.organise import label_problem
from handlers.pulse.results import JOB_NAME
from storage.db import Database
from storage.plans.models import Plan, PlanParticipant
from storage.pulse import drafts as drafts_store
from storage.pulse import store as pulse_store
from storage.pulse.models import Pulse, PulseAnswer, PulseRespondent, PulseScore
from storage.pulse.secret import PulseSecret
from tests.conftest import ADMIN_ID, FakeClock
from tests.helpers import add_staff
from tests.pulse.helpers import TEMPLATES, answer, link_command, open_pulse

PNG = b"\x89PNG\r\n\x1a\n"


async def run_closing_job(app: DalsbotApp) -> None:
    """Run the repeating closing job once, now (it would otherwise wait a minute)."""
    assert app.job_queue is not None
    (job,) = app.job_queue.get_jobs_by_name(JOB_NAME)
    await job.run(app)


def answers_of(db: Database, pulse: Pulse) -> list[tuple[dict[str, int], str | None, dt.date]]:
    """Every stored answer of ``pulse``: its scores, comment and date."""

    def read(session: object) -> list[tuple[dict[str, int], str | None, dt.date]]:
        from sqlmodel import Session

        assert isinstance(session, Session)
        rows = []
        for row in session.exec(select(PulseAnswer).where(PulseAnswer.pulse_id == pulse.id)):
            scores = session.exec(select(PulseScore).where(PulseScore.answer_id == row.id))
            rows.append(({s.question_key: s.score for s in scores}, row.comment, row.answered_on))
        return rows

    return db.call(read)


def unfinished(app: DalsbotApp) -> int:
    """How many unfinished answers the database holds."""
    return app.bot_data.db.call(drafts_store.count)


def has_draft(app: DalsbotApp, pulse_id: int, user_id: int) -> bool:
    """Whether ``user_id`` has an unfinished answer to ``pulse_id``."""
    secret = app.bot_data.services.get(PulseSecret).key
    key = drafts_store.draft_key(secret, pulse_id, user_id)
    return app.bot_data.db.call(lambda s: drafts_store.load(s, key)) is not None


async def test_organiser_opens_a_pulse_and_gets_link_and_qr_code(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """/puls → template, label, closing time, k: a deep link and a QR code PNG; the pulse is
    stored with the template's version and a snapshot, closing 48 hours later."""
    db = app.bot_data.db
    add_staff(db, 50, "Olle")
    organiser = standin.user(50, "Olle")
    menu = await organiser.ask("/puls")
    assert menu.text == t("pulse.new_pick_template", "sv")
    assert [b["text"] for b in menu.buttons] == [
        "Barnteamsmöte",
        "Hur var mötet för dig? (familjeversion)",
        "Arbetsgrupps- eller nätverksmöte",
        "SIP-möte",
        "✖ Avbryt",
    ]
    prompt = await organiser.tap(menu, "Barnteamsmöte")
    assert "etikett" in prompt.text
    assert [b["text"] for b in prompt.buttons] == ["◀ Tillbaka", "✖ Avbryt"]
    closing = await organiser.ask("Barnteam Rektorsområde Norr")
    assert [b["text"] for b in closing.buttons] == [
        "2 timmar", "24 timmar", "48 timmar (standard)", "7 dagar",
    ]  # fmt: skip
    k_menu = await organiser.tap(closing, "48 timmar")
    assert [b["text"] for b in k_menu.buttons] == ["3 svar (standard)", "5 svar", "10 svar"]
    await organiser.tap(k_menu, "3 svar", count=2)
    created, photo = organiser.events()[-2:]
    pulse = db.call(lambda s: s.exec(select(Pulse)).one())
    link = f"https://t.me/dalsbot_local_bot?start=pulse_{pulse.token}"
    assert link in created.text
    assert "Barnteamsmöte – Barnteam Rektorsområde Norr" in created.text
    assert "27 november 2026 kl. 10:00" in created.text  # 48 h after 10:00 Stockholm time
    assert created.buttons[0]["text"] == t("pulse.send_to_plan", "sv")
    assert photo.file_name == "puls-qr.png"
    stored = standin.files[photo.message["photo"][-1]["file_id"]]
    assert stored.content.startswith(PNG) and len(stored.content) > 1000
    assert len(f"pulse_{pulse.token}") <= 64
    template = TEMPLATES["barnteam"]
    assert (pulse.template_key, pulse.template_version, pulse.k) == (
        "barnteam",
        template.version,
        3,
    )
    assert pulse.closes_at == clock.now + dt.timedelta(hours=48)
    assert pulse_store.pulse_template(pulse) == template


async def test_label_with_personal_data_is_refused_and_cancel_opens_nothing(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """A label with a personnummer or phone number is refused; /cancel opens no pulse."""
    add_staff(app.bot_data.db, 50, "Olle")
    organiser = standin.user(50, "Olle")
    await organiser.tap(await organiser.ask("/puls"), "SIP-möte")
    refused = await organiser.ask("SIP för 19900101-0017")
    assert refused.text == t("pulse.label_personal", "sv")
    refused = await organiser.ask("Ring 070-123 45 67")
    assert refused.text == t("pulse.label_personal", "sv")
    assert (await organiser.ask("x")).text == t("pulse.label_invalid", "sv", max=60)
    assert (await organiser.ask("/cancel")).text == t("core.cancelled", "sv")
    assert app.bot_data.db.call(lambda s: s.exec(select(Pulse)).all()) == []


async def test_back_and_cancel_in_the_first_two_steps_of_a_new_pulse(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Template step: "✖ Avbryt"; label step: "◀ Tillbaka" (the templates again in the same
    message, the chosen one marked ✅) and "✖ Avbryt" (the draft dropped, nothing stored,
    the next text is no label). A pulse with one detour back: /puls, 3 taps, 1 label, 2 taps."""
    db = app.bot_data.db
    add_staff(db, 50, "Olle")
    add_staff(db, 51, "Ella", language="en")
    organiser = standin.user(50, "Olle")
    menu = await organiser.ask("/puls")
    prompt = await organiser.tap(menu, "Barnteamsmöte")
    back = await organiser.tap(prompt, "◀ Tillbaka")
    assert back.kind == "edit" and back.message["message_id"] == menu.message["message_id"]
    assert back.text == t("pulse.new_pick_template", "sv")
    assert back.buttons[0]["text"] == "✅ Barnteamsmöte"
    assert [b["text"] for b in back.buttons][-1] == "✖ Avbryt"
    prompt = await organiser.tap(back, "SIP-möte")
    assert prompt.text.startswith("SIP-möte\n") and prompt.kind == "edit"
    closing = await organiser.ask("SIP-möte v.48")
    await organiser.tap(await organiser.tap(closing, "48 timmar"), "3 svar", count=2)
    pulse = db.call(lambda s: s.exec(select(Pulse)).one())
    assert (pulse.template_key, pulse.label) == ("sip", "SIP-möte v.48")
    # Cancel at the label step, then at the template step; in English too.
    prompt = await organiser.tap(await organiser.ask("/puls"), "Barnteamsmöte")
    cancelled = await organiser.tap(prompt, "✖ Avbryt")
    assert cancelled.kind == "edit" and cancelled.text == t("core.cancelled", "sv")
    assert not cancelled.buttons
    after = await organiser.ask("Barnteam Norr")
    assert after.text != t("pulse.new_closing", "sv")
    ella = standin.user(51, "Ella")
    menu = await ella.ask("/pulse")
    assert [b["text"] for b in menu.buttons][-1] == "✖ Cancel"
    prompt = await ella.tap(menu, "SIP meeting")
    assert [b["text"] for b in prompt.buttons] == ["◀ Back", "✖ Cancel"]
    assert (await ella.tap(await ella.tap(prompt, "◀ Back"), "✖ Cancel")).text == t(
        "core.cancelled", "en"
    )
    assert len(db.call(lambda s: s.exec(select(Pulse)).all())) == 1
    for event in [*organiser.events(), *ella.events()]:
        assert len(event.visible_text) <= 1200


async def test_a_label_with_a_first_name_is_refused_and_ordinary_labels_are_not(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """A label is shown to everyone who answers: "SIP Lisa" (and "Team Elin" in English) is
    refused in one short line naming the word, nothing stored, the step stays; ordinary
    meeting labels pass (label_problem, the reference rule's name check)."""
    add_staff(app.bot_data.db, 50, "Olle")
    add_staff(app.bot_data.db, 51, "Ella", language="en")
    organiser = standin.user(50, "Olle")
    await organiser.tap(await organiser.ask("/puls"), "SIP-möte")
    refused = await organiser.ask("SIP Lisa")
    assert refused.text == t("pulse.label_first_name", "sv", name="Lisa")
    assert (
        refused.text == "”Lisa” ser ut som ett förnamn. Skriv en etikett utan namn, t.ex. SIP-möte."
    )
    assert "\n" not in refused.text and len(refused.text) <= 100 and not refused.buttons
    closing = await organiser.ask("SIP-möte Åmål")
    assert closing.buttons[0]["text"] == "2 timmar"
    english = standin.user(51, "Ella")
    await english.tap(await english.ask("/pulse"), "SIP meeting")
    refused = await english.ask("Team Elin")
    assert (
        refused.text
        == "“Elin” looks like a first name. Type a label without names, e.g. SIP meeting."
    )
    assert app.bot_data.db.call(lambda s: s.exec(select(Pulse)).all()) == []
    for label in (
        "Uppföljning",
        "SIP-möte",
        "Barnteam Åmål",
        "Nätverksmöte",
        "Elevhälsomöte v.48",
        "Barnteam Rektorsområde Norr",
        "Föräldramöte Dals-Ed",
        "Follow-up meeting",
    ):
        assert label_problem(label) is None, label
    for label in ("SIP Lisa", "Hos Elin", "Möte Mohammed", "Uppföljning ÅSA"):
        assert label_problem(label) == "pulse.label_first_name", label


async def test_strangers_cannot_open_pulses_or_see_results(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Starting pulses and results are for registered staff only."""
    stranger = standin.user(70, "Sven")
    for command in ("/puls", "/puls_resultat", "/puls_trend"):
        assert (await stranger.ask(command)).text == t("core.not_registered", "sv")


async def test_several_people_answer_at_once_through_the_deep_link(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Four people answer concurrently without registering; one skips, one comments; every
    answer is stored once, with the date only and the comment redacted."""
    db = app.bot_data.db
    organiser = add_staff(db, 50, "Olle")
    pulse = open_pulse(db, organiser, now=clock.now)
    comment = "Bra möte! Ring 070-123 45 67, mejla anna@exempel.se, gäller 19900101-0017."
    done = await asyncio.gather(
        answer(standin, 101, pulse, [5, 4, 4, 3, 5]),
        answer(standin, 102, pulse, [4, None, 3, 3, 4]),
        answer(standin, 103, pulse, [2, 3, 3, 2, 1], comment=comment),
        answer(standin, 104, pulse, [5, 5, 5, 5, 5]),
    )
    assert [event.text for event in done] == [t("pulse.thanks", "sv")] * 4
    assert all(event.buttons == [] for event in done)
    stored = answers_of(db, pulse)
    assert len(stored) == 4
    assert all(date == dt.date(2026, 11, 25) for _, _, date in stored)
    keys = TEMPLATES["barnteam"].question_keys
    assert sorted(tuple(scores.get(key) for key in keys) for scores, _, _ in stored) == sorted(
        [(5, 4, 4, 3, 5), (4, None, 3, 3, 4), (2, 3, 3, 2, 1), (5, 5, 5, 5, 5)]
    )
    comments = [text for _, text, _ in stored if text]
    assert comments == [f"Bra möte! Ring {REDACTED}, mejla {REDACTED}, gäller {REDACTED}."]
    respondents = db.call(lambda s: s.exec(select(PulseRespondent)).all())
    assert len(respondents) == 4
    assert all(str(user_id) not in r.key_hash for r in respondents for user_id in range(101, 105))
    assert unfinished(app) == 0


async def test_answers_can_be_changed_and_go_back_before_sending(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """One message is edited in place; back, change from the summary and the comment all
    work, and only what is sent is stored."""
    db = app.bot_data.db
    pulse = open_pulse(db, add_staff(db, 50, "Olle"), now=clock.now, template=TEMPLATES["natverk"])
    person = standin.user(105, "Anna")
    message = await person.ask(link_command(pulse))
    assert "Fråga 1 av 4" in message.text and "Var mötets syfte tydligt?" in message.text
    first_id = message.message["message_id"]
    message = await person.tap(message, "2")
    assert "Fråga 2 av 4" in message.text
    message = await person.tap(message, "Tillbaka")
    assert "Fråga 1 av 4" in message.text and t("pulse.your_answer", "sv", score=2) in message.text
    for score in ("4", "3", "Hoppa över", "5"):
        message = await person.tap(message, score)
    assert message.kind == "edit" and message.message["message_id"] == first_id
    assert "3. Nytta i arbetet: hoppade över" in message.text
    message = await person.tap(message, "✏️ 2")
    assert "Fråga 2 av 4" in message.text
    message = await person.tap(message, "1")
    assert "2. Alla kom till tals: 1" in message.text
    done = await person.tap(message, "Skicka utan kommentar")
    assert done.text == t("pulse.thanks", "sv")
    assert answers_of(db, pulse) == [
        ({"syfte": 4, "delaktighet": 1, "nasta_steg": 5}, None, dt.date(2026, 11, 25))
    ]


async def test_too_long_comment_is_refused_and_a_second_answer_is_refused(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Over 1,000 characters the person is asked to shorten it; a second answer from the
    same account gets "already answered" and nothing more."""
    db = app.bot_data.db
    pulse = open_pulse(db, add_staff(db, 50, "Olle"), now=clock.now, template=TEMPLATES["familj"])
    person = standin.user(106, "Bo", language_code="en")
    message = await person.ask(link_command(pulse))
    assert "Did you feel listened to?" in message.text
    for _ in range(5):
        message = await person.tap(message, "Skip")
    prompt = await person.tap(message, "Add a comment")
    assert "anything else you want to say" in prompt.text
    refused = await person.ask("a" * 1001)
    assert refused.text == t("pulse.comment_too_long", "en", length="1,001", max="1,000")
    await person.send("Thank you for listening.")
    summary = (await person.next(2))[0]
    assert "Your comment:\nThank you for listening." in summary.text
    assert (await person.tap(summary, "Send")).text == t("pulse.thanks", "en")
    again = await person.ask(link_command(pulse))
    assert again.text == t("pulse.already_answered", "en") and again.buttons == []
    await asyncio.sleep(0.2)
    assert person.events()[-1].text == again.text
    assert answers_of(db, pulse) == [({}, "Thank you for listening.", dt.date(2026, 11, 25))]


async def test_a_long_comment_keeps_the_summary_short_and_html_is_shown_as_typed(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """A comment sits in an expandable quote, and a 1,000-character one is shown cut so the
    summary stays within 1,200 characters (it is stored whole); a label and a comment with
    <, > and & are shown as typed."""
    db = app.bot_data.db
    pulse = open_pulse(
        db, add_staff(db, 50, "Olle"), now=clock.now, template=TEMPLATES["natverk"],
        label="Team <Norr> & Väst",
    )  # fmt: skip
    person = standin.user(111, "Ia")
    message = await person.ask(link_command(pulse))
    assert message.text.startswith("Arbetsgrupps- eller nätverksmöte – Team <Norr> & Väst\n")
    for score in ("3", "3", "3", "3"):
        message = await person.tap(message, score)
    await person.tap(message, "Lägg till kommentar")
    comment = "<b>inte fet</b> & " + "ord " * 245
    await person.send(comment)
    summary = (await person.next(2))[0]
    assert "Din kommentar:\n<b>inte fet</b> & ord ord" in summary.text
    assert summary.text.endswith("…\n\n" + t("pulse.change_hint", "sv"))
    assert 1100 < len(summary.text) <= 1200
    assert (await person.tap(summary, "Skicka")).text == t("pulse.thanks", "sv")
    assert answers_of(db, pulse)[0][1] == comment.strip()


async def test_text_not_meant_as_comment_goes_to_the_other_features(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Only after "add a comment" is a text taken as a comment; commands always pass."""
    db = app.bot_data.db
    pulse = open_pulse(db, add_staff(db, 50, "Olle"), now=clock.now)
    person = standin.user(107, "Cia")
    await person.ask(link_command(pulse))
    assert (await person.ask("/privacy")).text.startswith("Så hanterar Dalsbot uppgifter")


async def test_a_comment_at_the_comment_step_never_reaches_the_question_log(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """After "add a comment" a staff member's text is the comment: the knowledge base, which
    logs questions with the asker's staff id, never sees it. (Text anywhere else goes on to
    the other features: tests/pulse/test_not_blocking.py.)"""
    from storage.knowledge.models import KbQuestion

    db = app.bot_data.db
    pulse = open_pulse(db, add_staff(db, 50, "Olle"), now=clock.now, template=TEMPLATES["natverk"])
    add_staff(db, 108, "Dan")
    person = standin.user(108, "Dan")
    message = await person.ask(link_command(pulse))
    for score in ("3", "4", "2", "5"):
        message = await person.tap(message, score)
    await person.tap(message, "Lägg till kommentar")
    await person.send("mötet var rörigt, men bra att vi hann med alla punkter.")
    summary = (await person.next(2))[0]
    assert "bra att vi hann med alla punkter." in summary.text
    assert (await person.tap(summary, "Skicka")).text == t("pulse.thanks", "sv")
    assert db.call(lambda s: list(s.exec(select(KbQuestion)))) == []
    assert answers_of(db, pulse) == [
        (
            {"syfte": 3, "delaktighet": 4, "nytta": 2, "nasta_steg": 5},
            "mötet var rörigt, men bra att vi hann med alla punkter.",
            dt.date(2026, 11, 25),
        )
    ]


async def test_unknown_and_closed_links_get_a_clear_message(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """A made-up token says the link leads nowhere; a pulse past its closing time is closed,
    also for someone who opened it before it closed."""
    db = app.bot_data.db
    pulse = open_pulse(db, add_staff(db, 50, "Olle"), now=clock.now, hours=2)
    person = standin.user(108, "Dan")
    unknown = await person.ask("/start pulse_NoSuchPulseToken123")
    assert unknown.text == t("pulse.unknown_link", "sv")
    clock.advance(hours=1, minutes=55)
    message = await person.ask(link_command(pulse))
    for score in ("3", "3", "3", "3", "3"):
        message = await person.tap(message, score)
    clock.advance(minutes=5)
    assert (await person.tap(message, "Skicka")).text == t("pulse.closed", "sv")
    assert (await person.ask(link_command(pulse))).text == t("pulse.closed", "sv")
    assert answers_of(db, pulse) == []


async def test_forged_and_foreign_button_data_is_refused(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Made-up pulse ids, scores, questions and actions, and another person's message, are
    refused with an alert and change nothing."""
    db = app.bot_data.db
    organiser = add_staff(db, 50, "Olle")
    pulse = open_pulse(db, organiser, now=clock.now)
    person = standin.user(109, "Eva")
    message = await person.ask(link_command(pulse))
    forged = [
        "pa:999:q0:5", f"pa:{pulse.id}:q0:9", f"pa:{pulse.id}:q7:3", f"pa:{pulse.id}:send:0",
        f"pa:{pulse.id}:com:0", f"pa:{pulse.id}:drop:0", "pa:x:y", "pa:1:2:3:4:5",
    ]  # fmt: skip
    for data in forged:
        await person.press(message, 0, data=data)
        alert = await person.reply()
        assert alert.kind == "answer" and alert.alert == t("pulse.button_invalid", "sv"), data
    other = standin.user(110, "Fia")
    await other.press(message, "4")
    assert (await other.reply()).alert == t("pulse.button_invalid", "sv")
    colleague = add_staff(db, 51, "Gun")
    assert colleague.id is not None
    nosy = standin.user(51, "Gun")
    await nosy.press(message, 0, data=f"pres:{pulse.id}:show")
    assert (await nosy.reply()).alert == t("core.stale_button", "sv")
    await nosy.press(message, 0, data=f"ppl:{pulse.id}:0")
    assert (await nosy.reply()).alert == t("core.stale_button", "sv")
    assert "Fråga 1 av 5" in person.last().text
    assert has_draft(app, pulse.id or 0, 109)
    assert answers_of(db, pulse) == []


async def test_results_are_hidden_below_k_and_shown_at_k_when_the_pulse_closes(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """With k = 3: when the pulses close the organiser gets one short notice each; two
    answers → only that there were too few (no button); three answers → the count and a
    results button: one picture whose caption turns into the means and the comments and
    back, in place. The markers are deleted, and nothing is sent twice."""
    db = app.bot_data.db
    organiser = add_staff(db, 50, "Olle")
    olle = standin.user(50, "Olle")
    few = open_pulse(db, organiser, now=clock.now, label="Få svar")
    enough = open_pulse(db, organiser, now=clock.now, label="Tillräckligt")
    for user_id in (111, 112):
        await answer(standin, user_id, few, [5, 5, 5, 5, 5], comment=f"hemlig {user_id}")
    for user_id, score in ((111, 2), (112, 4), (113, 5)):
        await answer(standin, user_id, enough, [score, score, None, 3, 4], comment=f"ok {user_id}")
    await run_closing_job(app)
    assert olle.events() == []  # nothing closes before its time
    clock.advance(hours=48)
    await run_closing_job(app)
    sent = await olle.next(2)
    await asyncio.sleep(0.2)
    assert len(olle.events()) == 2
    by_label = {event.text.split("”")[1]: event for event in sent}
    hidden = by_label["Få svar"]
    assert hidden.text == t("pulse.closed_notice_hidden", "sv", label="Få svar")
    assert hidden.buttons == [] and "hemlig" not in hidden.text and "2" not in hidden.text
    notice = by_label["Tillräckligt"]
    assert notice.text == "🔒 Pulsen ”Tillräckligt” har stängt: 3 svar."
    card = await olle.tap(notice, t("pulse.show_results", "sv"))
    assert card.file_name == "puls-resultat.png"
    assert standin.files[card.message["photo"][-1]["file_id"]].content.startswith(PNG)
    assert card.text.splitlines() == [
        "Barnteamsmöte – Tillräckligt",
        "3 svar · stängd fre 27 nov.",
        "Medel 3,6 av 5 för alla frågor",
        "Högst: Samverkan 4,0",
        "Lägst: Tydligt vem som gör vad 3,0",
    ]
    assert [b["text"] for b in card.buttons] == [t("pulse.details_button", "sv")]
    details = await olle.tap(card, t("pulse.details_button", "sv"))
    assert details.kind == "edit" and details.message["message_id"] == card.message["message_id"]
    assert "1. Tydligt syfte: 3,7 (3 svar)" in details.text
    assert "3. Familjen kom till tals: visas inte (för få svar)" in details.text
    assert all(f"• ok {user_id}" in details.text for user_id in (111, 112, 113))
    assert "hemlig" not in details.text
    assert len(details.text) <= 1024
    summary = await olle.tap(details, t("pulse.summary_button", "sv"))
    assert summary.text == card.text and summary.kind == "edit"
    assert db.call(lambda s: s.exec(select(PulseRespondent)).all()) == []
    await run_closing_job(app)  # the organiser is told once
    await asyncio.sleep(0.2)
    assert [e.kind for e in olle.events()] == ["send", "send", "send", "edit", "edit"]


async def test_the_results_button_works_for_no_one_else(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """The closing notice's results button and the details button refuse a colleague who
    did not organise the pulse and someone not registered, and send them nothing."""
    db = app.bot_data.db
    organiser = add_staff(db, 50, "Olle")
    olle = standin.user(50, "Olle")
    pulse = open_pulse(db, organiser, now=clock.now, label="Teamet", hours=2)
    for user_id in (151, 152, 153):
        await answer(standin, user_id, pulse, [3, 3, 3, 3, 3], comment="privat")
    clock.advance(hours=2)
    await run_closing_job(app)
    (notice,) = await olle.next(1)
    add_staff(db, 51, "Gun")
    for user_id, refusal in ((51, "core.stale_button"), (70, "core.not_registered")):
        other = standin.user(user_id, "Other")
        own = await other.ask("/help")  # a message of their own to press forged buttons on
        for data in (notice.buttons[0]["callback_data"], f"pdet:{pulse.id}:1"):
            await other.press(own, 0, data=data)
            said = await other.reply()
            assert said.kind == "answer" and said.alert == t(refusal, "sv"), (user_id, data)
        await asyncio.sleep(0.2)
        assert all("privat" not in e.text for e in other.events())
    card = await olle.tap(notice, t("pulse.show_results", "sv"))
    assert card.file_name == "puls-resultat.png"


async def test_results_on_request_only_after_closing(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """/puls_resultat on an open pulse shows the count only; closing it now shows results."""
    db = app.bot_data.db
    organiser = add_staff(db, 50, "Olle")
    pulse = open_pulse(db, organiser, now=clock.now, label="Nätverket")
    for user_id in (121, 122):
        await answer(standin, user_id, pulse, [4, 4, 4, 4, 4])
    olle = standin.user(50, "Olle")
    listing = await olle.ask("/puls_resultat")
    assert [b["text"] for b in listing.buttons] == ["🟢 Nätverket (ons 25 nov.)"]
    status = await olle.tap(listing, "Nätverket")
    # Never the exact count while open: the organiser cannot see one answer arrive.
    assert "Antal svar hittills: färre än 3." in status.text and "Medel" not in status.text
    await answer(standin, 123, pulse, [4, 4, 4, 4, 4])
    listing = await olle.ask("/puls_resultat")
    status = await olle.tap(listing, "Nätverket")
    assert "Antal svar hittills: 3 eller fler." in status.text and "Medel" not in status.text
    confirm = await olle.tap(status, t("pulse.close_now", "sv"))
    assert confirm.text == t("pulse.close_confirm", "sv", label="Nätverket")
    await olle.press(confirm, t("pulse.close_yes", "sv"))
    told, card = await olle.next(2)
    assert told.kind == "edit" and told.message["message_id"] == confirm.message["message_id"]
    assert told.text == "🔒 Pulsen ”Nätverket” har stängt: 3 svar." and told.buttons == []
    assert card.file_name == "puls-resultat.png"
    assert card.text.startswith("Barnteamsmöte – Nätverket\n3 svar · stängd ons 25 nov.\n")
    assert "Medel 4,0 av 5" in card.text
    delivered = len(olle.events())
    await run_closing_job(app)  # already delivered: the job sends nothing more
    await asyncio.sleep(0.2)
    assert len(olle.events()) == delivered
    person = standin.user(124, "Hanna")
    assert (await person.ask(link_command(pulse))).text == t("pulse.closed", "sv")
    admin = standin.user(ADMIN_ID, "Astrid")
    listing = await admin.ask("/puls_resultat")
    seen = await admin.tap(listing, "Nätverket")
    assert seen.file_name == "puls-resultat.png" and "Medel 4,0 av 5" in seen.text
    await asyncio.sleep(0.2)
    assert admin.last().message["message_id"] == seen.message["message_id"]


async def test_trend_shows_the_last_visible_pulses_in_scope(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """A coordinator's trend covers their municipality's closed pulses with enough answers;
    a staff member sees only their own pulses; pulses below k are left out."""
    db = app.bot_data.db
    olle = add_staff(db, 50, "Olle")
    add_staff(db, 52, "Ines", role="coordinator")
    other = add_staff(db, 53, "Jon", municipality="Åmål")
    standin.user(50, "Olle"), standin.user(53, "Jon")  # their chats, for the results
    for day, score in enumerate((2, 3, 4)):
        pulse = open_pulse(db, olle, now=clock.now, label=f"Möte {day}", hours=1)
        for user_id in range(3):
            await answer(standin, 200 + 10 * day + user_id, pulse, [score] * 5)
        clock.advance(days=1)
        await run_closing_job(app)
    hidden = open_pulse(db, olle, now=clock.now, hours=1)
    await answer(standin, 250, hidden, [1] * 5)
    elsewhere = open_pulse(db, other, now=clock.now, hours=1)
    for user_id in range(3):
        await answer(standin, 260 + user_id, elsewhere, [1] * 5)
    clock.advance(days=1)
    await run_closing_job(app)
    coordinator = standin.user(52, "Ines")
    menu = await coordinator.ask("/puls_trend")
    await coordinator.press(menu, "Barnteamsmöte")
    text, chart = await coordinator.next(2)
    assert text.text.startswith("Pulser i Mellerud\n\nTrend – Barnteamsmöte")
    assert "3 möten, 26 november 2026 – 28 november 2026" in text.text
    assert "2,0 → 4,0" in text.text
    assert chart.file_name == "puls-trend.png"
    jon = standin.user(53, "Jon")
    jon.skip_pending()
    await jon.press(await jon.ask("/puls_trend"), "Barnteamsmöte")
    own, _chart = await jon.next(2)
    assert own.text.startswith("Dina egna pulser") and "1 möte: 29 november 2026" in own.text
    assert "1,0" in own.text


async def test_link_is_sent_to_the_people_of_one_of_the_organisers_plans(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """The button lists the organiser's active plans; the link goes to the responsible and
    participants except the organiser (and not to removed staff)."""
    db = app.bot_data.db
    organiser = add_staff(db, 50, "Olle")
    lead = add_staff(db, 54, "Kim", language="en")
    member = add_staff(db, 55, "Lo")
    gone = add_staff(db, 56, "Max")
    outsider = add_staff(db, 57, "Nils")

    def plans(session: object) -> None:
        from sqlmodel import Session

        assert isinstance(session, Session)
        gone.active = False
        session.add(gone)

        def plan(reference: str, responsible: int | None, status: str = "active") -> Plan:
            assert responsible is not None
            return Plan(
                reference=reference,
                reference_key=reference,
                plan_type="sip",
                municipality="Mellerud",
                responsible_id=responsible,
                status=status,
            )

        team = plan("BT-12", lead.id)
        closed = plan("BT-07", organiser.id, "closed")
        foreign = plan("BT-99", outsider.id)
        session.add_all([team, closed, foreign])
        session.flush()
        for person in (organiser, member, gone):
            session.add(PlanParticipant(plan_id=team.id, staff_id=person.id))

    db.call(plans)
    pulse = open_pulse(db, organiser, now=clock.now, label="Barnteam BT-12")
    people = {user_id: standin.user(user_id, "x") for user_id in (54, 55, 56, 57)}
    olle = standin.user(50, "Olle")
    await olle.send("/puls_resultat")  # any message of Olle's to press the button on
    listing = await olle.reply()
    await olle.press(listing, 0, data=f"ppl:{pulse.id}:0")
    pick = await olle.reply()
    assert pick.text == t("pulse.plan_pick", "sv")
    assert [b["text"] for b in pick.buttons] == ["BT-12"]
    done = await olle.tap(pick, "BT-12")
    assert done.text == t("pulse.plan_sent", "sv", sent=2, total=2, reference="BT-12")
    link = f"https://t.me/dalsbot_local_bot?start=pulse_{pulse.token}"
    (to_lead,) = await people[54].next(1)
    assert (
        to_lead.text.startswith("Olle asks you to answer an anonymous pulse")
        and link in to_lead.text
    )
    (to_member,) = await people[55].next(1)
    assert to_member.text.startswith("Olle ber dig svara på en anonym puls")
    await asyncio.sleep(0.2)
    assert people[56].events() == [] and people[57].events() == []
    await olle.press(pick, 0, data=f"ppl:{pulse.id}:999")
    assert (await olle.reply()).alert == t("core.stale_button", "sv")


async def test_unfinished_answers_expire_and_are_dropped_from_memory(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """After 15 minutes without a tap the draft is gone: the job edits the message, and a
    later tap is refused; nothing was ever written to the database."""
    db = app.bot_data.db
    pulse = open_pulse(db, add_staff(db, 50, "Olle"), now=clock.now)
    person = standin.user(130, "Olga")
    message = await person.ask(link_command(pulse))
    message = await person.tap(message, "4")
    clock.advance(minutes=16)
    await run_closing_job(app)
    expired = await person.reply()
    assert expired.kind == "edit" and expired.text == t("pulse.expired", "sv")
    assert unfinished(app) == 0
    await person.press(message, 0, data=f"pa:{pulse.id}:q1:4")
    assert (await person.reply()).alert == t("pulse.button_invalid", "sv")
    counts = db.call(
        lambda s: [
            s.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (PulseAnswer, PulseScore, PulseRespondent)
        ]
    )
    assert counts == [0, 0, 0]


async def test_privacy_text_describes_the_pulse_as_built(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """/privacy says answers are stored without ids and time, with a keyed hash kept apart,
    comments redacted, results only from k answers and after closing (behind "read more")."""
    pia = standin.user(140, "Pia")
    text = (await pia.tap(await pia.ask("/privacy"), "Läs mer")).text
    for phrase in (
        "användar-id",
        "bara datum",
        "nyckelhash",
        "minst 3",
        "har stängt",
        "påbörjat svar",
    ):
        assert phrase in text, phrase


async def test_admin_sees_results_but_the_organiser_still_gets_them_and_alone_closes(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """An admin may look at a pulse's results but not close it early; when the admin looks
    at a pulse that is due, the organiser is still sent the results."""
    db = app.bot_data.db
    organiser = add_staff(db, 50, "Olle")
    olle = standin.user(50, "Olle")
    pulse = open_pulse(db, organiser, now=clock.now, label="Uppföljning", hours=2)
    for user_id in (151, 152, 153):
        await answer(standin, user_id, pulse, [3, 3, 3, 3, 3])
    admin = standin.user(ADMIN_ID, "Astrid")
    listing = await admin.ask("/puls_resultat")
    status = await admin.tap(listing, "Uppföljning")
    assert "Antal svar hittills: 3 eller fler." in status.text and status.buttons == []
    await admin.press(status, 0, data=f"pres:{pulse.id}:closeyes")
    assert (await admin.reply()).alert == t("core.stale_button", "sv")
    clock.advance(hours=2)
    seen = await admin.tap(listing, "Uppföljning")
    assert seen.file_name == "puls-resultat.png" and "Medel 3,0 av 5" in seen.text
    await run_closing_job(app)
    (notice,) = await olle.next(1)
    assert notice.text == t("pulse.closed_notice", "sv", label="Uppföljning", answers="3 svar")
    assert [b["text"] for b in notice.buttons] == [t("pulse.show_results", "sv")]


async def test_out_of_range_ids_in_button_data_are_refused_not_an_error(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Ids too large for any database column (forged) get the same alert as any other forged
    button, not the generic error (the database refused to compare them before)."""
    db = app.bot_data.db
    organiser = add_staff(db, 50, "Olle")
    pulse = open_pulse(db, organiser, now=clock.now)
    olle = standin.user(50, "Olle")
    listing = await olle.ask("/puls_resultat")
    huge = "9" * 30
    for data in (f"pres:{huge}:show", f"ppl:{huge}:0", f"ppl:{pulse.id}:{huge}", "ppl:0:0"):
        await olle.press(listing, 0, data=data)
        alert = await olle.reply()
        assert alert.kind == "answer" and alert.alert == t("core.stale_button", "sv"), data
    person = standin.user(160, "Eva")
    message = await person.ask(link_command(pulse))
    await person.press(message, 0, data=f"pa:{huge}:q0:5")
    assert (await person.reply()).alert == t("pulse.button_invalid", "sv")
    assert t("core.error", "sv") not in [event.text for event in olle.events()]


async def test_results_and_trends_are_never_posted_in_a_group(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """/puls_resultat and /puls_trend in a group chat say "private chat only" and show no
    pulse; a results or trend button pressed on a group message sends nothing there."""
    group = -500
    standin.group(group)
    db = app.bot_data.db
    organiser = add_staff(db, 50, "Olle")
    pulse = open_pulse(db, organiser, now=clock.now, label="Hemligt möte")
    for user_id in (171, 172, 173):
        await answer(standin, user_id, pulse, [4, 4, 4, 4, 4], comment=f"kommentar {user_id}")
    clock.advance(hours=48)
    await run_closing_job(app)
    olle = standin.user(50, "Olle")
    olle.skip_pending()
    for command in ("/puls_resultat", "/puls_trend"):
        await olle.send(command, chat_id=group)
        await standin.wait_for(lambda: len(standin.events[group]) > 0)
        (said,) = standin.events[group]
        assert said.text == t("core.private_only", "sv"), command
        assert said.buttons == []
        standin.events[group].clear()
    await olle.send("hej", chat_id=group)  # a message to hang forged buttons on
    message = standin.messages[(group, max(m for c, m in standin.messages if c == group))]
    for data in (f"pres:{pulse.id}:show", "ptr:barnteam"):
        await olle.press(message, 0, data=data)
        await asyncio.sleep(0.3)
    assert [event for event in standin.events[group] if event.kind != "answer"] == []


async def test_unfinished_answers_are_dropped_when_the_pulse_closes(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Someone halfway through when the pulse closes (at its time, or closed early by the
    organiser) is told at once that it has closed, not after the last tap, and their
    unfinished answer leaves memory then."""
    db = app.bot_data.db
    organiser = add_staff(db, 50, "Olle")
    olle = standin.user(50, "Olle")
    due = open_pulse(db, organiser, now=clock.now, label="Kort", hours=2)
    early = open_pulse(db, organiser, now=clock.now, label="Stängs tidigt")
    clock.advance(minutes=110)
    halfway = standin.user(180, "Pia")
    await halfway.tap(await halfway.ask(link_command(due)), "4")
    other = standin.user(181, "Rut")
    await other.tap(await other.ask(link_command(early)), "2")
    assert unfinished(app) == 2
    clock.advance(minutes=10)  # the pulse closes; the answers have not expired
    await run_closing_job(app)
    told = await halfway.reply()
    assert told.kind == "edit" and told.text == t("pulse.closed", "sv") and told.buttons == []
    assert not has_draft(app, due.id or 0, 180)
    olle.skip_pending()
    await olle.press(olle.last(), 0, data=f"pres:{early.id}:closeyes")
    told = await other.reply()
    assert told.kind == "edit" and told.text == t("pulse.closed", "sv")
    assert unfinished(app) == 0
