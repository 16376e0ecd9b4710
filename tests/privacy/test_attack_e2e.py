"""Attacks a stranger found, over the real Application and the Bot API stand-in.

Invisible characters, no-break spaces, full-width digits and line breaks inside a
personnummer no longer carry it past the guard, into the database or its write-ahead log;
an edited message is never taken as a new question, a pulse comment or a command.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.context import DalsbotApp
from bot.guard import REDACTED
from bot.i18n import t
from bot.settings import Settings
from bot.shell.standin import BotApiStandIn, SimUser
from storage.db import Database
from storage.knowledge.models import KbQuestion
from storage.people.models import Staff
from storage.pulse.models import PulseAnswer
from tests.conftest import FakeClock
from tests.helpers import add_staff, open_invitation, questions, staff_chat
from tests.pulse import helpers as pulse_helpers

# One personnummer (valid check digit), written the ways that passed the old guard.
DIGITS = "1212121212"
FORMS = (
    "121212\u200b-1212",  # zero-width space
    "121212\u00a01212",  # no-break space
    "121212\u20601212",  # word joiner
    "12121\u00ad21212",  # soft hyphen inside the date
    "\ufeff121212-1212",  # BOM
    "１２１２１２－１２１２",  # full-width digits and hyphen
    "121212\n1212",  # line break
    "1912-12-12-1212",  # the date written with dashes
    "121212.1212",  # dot
    "121212\u202f1212",  # narrow no-break space
    "1912 1212 1212",  # groups of four, as a card number is written (found by a tester)
    "1912-1212-1212",
    "19 12 12 12 12 12",
)


def stored_bytes(settings: Settings) -> bytes:
    """The SQLite database file and its write-ahead log, as bytes."""
    data = b""
    for path in Path(settings.data_dir).glob("e2e.sqlite3*"):
        data += path.read_bytes()
    return data


def has_the_number(data: bytes) -> bool:
    """True if the personnummer's digits occur anywhere, whatever separates them."""
    text = data.decode("utf-8", errors="ignore")
    return DIGITS in re.sub(r"[^0-9１２]", "", text).replace("１", "1").replace("２", "2")


async def answered(person: SimUser, text: str) -> dict[str, Any]:
    """Send ``text`` and wait for the bot's answer; the message sent (to edit it later)."""
    sent = await person.send(text)
    await person.reply()
    return sent


@pytest.mark.parametrize("form", FORMS)
async def test_a_disguised_personnummer_is_refused_and_never_stored(
    app: DalsbotApp,
    standin: BotApiStandIn,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    form: str,
) -> None:
    for name in ("handlers", "knowledge", "storage", "bot"):
        caplog.set_level(logging.DEBUG, logger=name)
    refused = await staff_chat(app, standin, 301, "Ida Ek").ask(f"behöver eleven {form} en SIP?")
    assert refused.text == t("ask.personnummer", "sv")
    assert questions(app) == []
    app.bot_data.db.engine.dispose()  # let SQLite write everything it holds
    assert not has_the_number(stored_bytes(settings))
    assert not any(has_the_number(r.getMessage().encode()) for r in caplog.records)


async def test_a_mistyped_personnummer_is_refused_and_never_stored(
    app: DalsbotApp, standin: BotApiStandIn, settings: Settings
) -> None:
    """One wrong digit (here the check digit) leaves it a child's number all the same."""
    mistyped = "19120212-9816"
    refused = await staff_chat(app, standin, 306, "Eva Ek").ask(f"SIP för {mistyped}, hur?")
    assert refused.text == t("ask.personnummer", "sv")
    assert questions(app) == []
    app.bot_data.db.engine.dispose()
    assert b"2129816" not in stored_bytes(settings)


async def test_a_disguised_personnummer_in_a_pulse_comment_is_redacted(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, settings: Settings
) -> None:
    db = app.bot_data.db
    organiser = add_staff(db, 302, "Olle")
    pulse = pulse_helpers.open_pulse(db, organiser, now=clock.now)
    comment = "Bra! " + " / ".join(FORMS[:7])
    done = await pulse_helpers.answer(standin, 303, pulse, [4, 4, 4, 4, 4], comment=comment)
    assert done.text == t("pulse.thanks", "sv")
    kept = db.call(lambda s: [row.comment for row in s.exec(select(PulseAnswer))])
    assert kept == ["Bra! " + " / ".join([REDACTED] * 7)]
    db.engine.dispose()
    assert not has_the_number(stored_bytes(settings))


async def test_a_telegram_name_with_bidi_controls_is_stored_clean(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Right-to-left overrides and isolates in a Telegram name never reach the table."""
    person, intro = await open_invitation(standin, 304, "Anna\u202e\u2066", "Ek\u200b")
    orgs = await person.tap(intro, "Använd")
    confirm = await person.tap(orgs, "Socialtjänst")
    assert "Namn: Anna Ek" in confirm.text
    await person.tap(confirm, "Ja, registrera mig")
    stored = app.bot_data.db.call(
        lambda s: s.exec(select(Staff).where(Staff.telegram_id == 304)).one()
    )
    assert stored.display_name == "Anna Ek"


async def test_an_edited_question_is_not_answered_again(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """The edit gets a hint; the knowledge base does not see it; nothing more is stored."""
    person = staff_chat(app, standin, 305, "Per Ek")
    sent = await answered(person, "vad är en SIP?")
    await person.edit(sent, "vad är en orosanmälan, 121212\u200b-1212?")
    hint = await person.reply()
    assert hint.text == t("core.edit_ignored", "sv")
    assert [q.question for q in questions(app)] == ["vad är en SIP?"]


async def test_edited_commands_are_ignored_without_a_crash(
    app: DalsbotApp, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """An edited /start with a payload used to crash; edits of commands are now ignored."""
    person = staff_chat(app, standin, 306, "Eva Ek")
    sent = await answered(person, "/start")
    await person.edit(sent, "/start pulse_xyz")
    # The next thing the bot does is answer the next message: the edit did nothing.
    nxt = await person.ask("tack!")
    assert nxt.text != t("core.edit_ignored", "sv")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_editing_a_pulse_comment_does_not_become_a_question(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """The edit of a comment is neither a question stored with the person's id nor a new
    comment: the comment stays unlinked to its author."""
    person = await at_the_comment(app, standin, clock, 307, (308, "Kim Ek"))
    sent = await person.send("Bra möte")
    message = (await person.next(2))[0]
    await person.edit(sent, "Bra möte, men Olle pratade för mycket")
    hint = await person.reply()
    assert hint.text == t("core.edit_ignored", "sv")
    done = await person.tap(message, "Skicka")
    assert done.text == t("pulse.thanks", "sv")
    assert questions(app) == []
    db = app.bot_data.db
    kept = db.call(lambda s: [row.comment for row in s.exec(select(PulseAnswer))])
    assert kept == ["Bra möte"]
    assert db.call(lambda s: list(s.exec(select(KbQuestion)))) == []


async def at_the_comment(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, organiser: int, who: tuple[int, str]
) -> SimUser:
    """A staff member (``who``: id and name) opens a fresh pulse of ``organiser``'s, taps 4 to
    every question and then "Lägg till kommentar": their chat, where the bot now waits for
    the comment."""
    db = app.bot_data.db
    pulse = pulse_helpers.open_pulse(db, add_staff(db, organiser, "Olle"), now=clock.now)
    person = staff_chat(app, standin, *who)
    message = await person.ask(pulse_helpers.link_command(pulse))
    for _ in range(5):
        message = await person.tap(message, "4")
    await person.tap(message, "Lägg till kommentar")
    return person


async def test_kb_gaps_is_private_only(app: DalsbotApp, standin: BotApiStandIn) -> None:
    """The unanswered questions are never posted to a group."""
    from tests.conftest import ADMIN_ID

    group = -4242
    standin.group(group)
    admin = standin.user(ADMIN_ID, "Astrid", username="astrid")
    await admin.send("/kb_gaps", chat_id=group)
    await standin.wait_for(lambda: bool(standin.sent_messages(group)))
    assert [e.text for e in standin.sent_messages(group)] == [t("core.private_only", "sv")]


async def test_an_out_of_range_id_in_a_staff_button_is_refused(
    app: DalsbotApp, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """stf:view:99999999999999999999 used to raise OverflowError."""
    from tests.conftest import ADMIN_ID

    admin = standin.user(ADMIN_ID, "Astrid", username="astrid")
    listing = await admin.ask("/staff")
    await admin.press(listing, 0, data="stf:view:99999999999999999999")
    alert = await admin.reply()
    assert alert.alert == t("core.stale_button", "sv")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_after_closing_no_marker_survives_in_the_file_or_its_log(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, settings: Settings
) -> None:
    """The who-has-answered markers are deleted when the pulse closes, overwritten in the
    database file and gone from the write-ahead log too, so a copy of the data folder pairs
    nobody with an answer."""
    from storage.pulse.models import PulseRespondent

    db = app.bot_data.db
    organiser = add_staff(db, 310, "Olle")
    pulse = pulse_helpers.open_pulse(db, organiser, now=clock.now, label="Loggen")
    for user_id in (311, 312, 313):
        await pulse_helpers.answer(standin, user_id, pulse, [4, 3, 4, 3, 4])
    markers = db.call(lambda s: [r.key_hash for r in s.exec(select(PulseRespondent))])
    assert len(markers) == 3
    assert all(m.encode() in stored_bytes(settings) for m in markers)  # the test can see them
    olle = standin.user(310, "Olle")
    status = await olle.tap(await olle.ask("/puls_resultat"), "Loggen")
    confirm = await olle.tap(status, t("pulse.close_now", "sv"))
    await olle.press(confirm, t("pulse.close_yes", "sv"))
    await olle.next(2)
    wal = Path(settings.data_dir) / "e2e.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    data = stored_bytes(settings)
    assert not any(m.encode() in data for m in markers)


async def test_a_double_tap_creates_one_pulse_and_one_invitation(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Two taps on the last button before the first is handled: one pulse, one invitation;
    the second tap gets a short "already done"."""
    from storage.people.models import Invitation
    from storage.pulse.models import Pulse
    from tests.conftest import ADMIN_ID

    db = app.bot_data.db
    olle = staff_chat(app, standin, 320, "Olle")
    prompt = await olle.tap(await olle.ask("/puls"), "Barnteamsmöte")
    assert prompt.text
    closing = await olle.ask("Barnteam Norr")
    k_menu = await olle.tap(closing, "48 timmar")
    await olle.press(k_menu, "3 svar")
    await olle.press(k_menu, "3 svar")
    events = await olle.next(3)  # the pulse, its QR code, and the second tap's alert
    assert [e.alert for e in events if e.alert] == [t("core.already_done", "sv")]
    assert len(db.call(lambda s: list(s.exec(select(Pulse))))) == 1

    admin = standin.user(ADMIN_ID, "Astrid", username="astrid")
    menu = await admin.ask("/invite")
    menu = await admin.tap(menu, t("core.roles.staff", "sv"))
    menu = await admin.tap(menu, "Mellerud")
    menu = await admin.tap(menu, "1 person")
    await admin.press(menu, "7 dagar")
    await admin.press(menu, "7 dagar")
    events = await admin.next(2)
    assert [e.alert for e in events if e.alert] == [t("core.already_done", "sv")]
    assert len(db.call(lambda s: list(s.exec(select(Invitation))))) == 1


async def test_a_forged_vote_on_another_persons_card_is_refused(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Only the asker rates an answer: a registered colleague forging kb:vote:<id> is told so
    and nothing is stored."""
    from storage.knowledge.models import KbFeedback

    ada, other = staff_chat(app, standin, 330, "Ada Ek"), staff_chat(app, standin, 331, "Bo Ek")
    card = await ada.ask("vem kallar till SIP?")
    card_id = questions(app)[0].id
    own = await other.ask("vad är samtycke?")
    await other.press(own, 0, data=f"kb:vote:{card_id}:down")
    assert (await other.reply()).alert == t("ask.vote_not_yours", "sv")
    assert app.bot_data.db.call(lambda s: list(s.exec(select(KbFeedback)))) == []
    assert card.text


async def test_an_edit_while_a_question_is_awaited_is_not_taken_as_the_question(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """After /fraga the next text is the question; an edit of an older message is not."""
    person = staff_chat(app, standin, 340, "Tom Ek")
    older = await answered(person, "hej")
    prompt = await person.ask("/fraga")
    assert prompt.text
    await person.edit(older, "vad är en SIP för 121212\u200b-1212?")
    assert (await person.reply()).text == t("core.edit_ignored", "sv")
    card = await person.ask("vem kallar till SIP?")
    assert card.text.startswith("📘")
    assert [q.question for q in questions(app)] == ["vem kallar till SIP?"]


async def test_an_edit_stops_even_when_its_hint_cannot_be_sent(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """If the "edits are not read" hint fails (a 429 or a dropped connection), the edit must
    still stop there: before, it went on to be answered and stored as a question."""
    person = staff_chat(app, standin, 350, "Vera Ek")
    sent = await answered(person, "vad är en SIP?")
    standin.drop_next_requests = 1
    await person.edit(sent, "vad är en orosanmälan?")
    await asyncio.sleep(0.3)
    assert [q.question for q in questions(app)] == ["vad är en SIP?"]


async def test_two_different_final_buttons_tapped_together_open_one_pulse(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    from storage.pulse.models import Pulse

    db = app.bot_data.db
    olle = staff_chat(app, standin, 351, "Olle")
    await olle.tap(await olle.ask("/puls"), "Barnteamsmöte")
    k_menu = await olle.tap(await olle.ask("Barnteam Syd"), "48 timmar")
    await olle.press(k_menu, "3 svar")
    await olle.press(k_menu, "5 svar")
    await olle.next(3)
    assert len(db.call(lambda s: list(s.exec(select(Pulse))))) == 1


async def test_a_late_pulse_comment_is_never_a_question(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """The answer timed out while the bot waited for the comment: the comment sent later is
    dropped with a note, not answered and stored as a question under the person's id."""
    import datetime as dt

    from handlers.pulse.results import close_due_pulses

    person = await at_the_comment(app, standin, clock, 352, (353, "Siv Ek"))
    clock.set(clock.now + dt.timedelta(minutes=20))
    await close_due_pulses(app_context(app))
    person.skip_pending()
    late = await person.ask("Bra möte, men Olle pratade för mycket")
    assert late.text == t("pulse.comment_late", "sv")
    assert questions(app) == []


def app_context(app: DalsbotApp) -> object:
    """A job context for calling the pulse job directly."""
    from bot.context import BotContext

    return BotContext(app)


def test_phone_redaction_keeps_times_dates_and_large_numbers() -> None:
    from bot.guard import redact

    for kept in ("kl 0830-1000", "1 000 000 000 kr", "Nätverk 05 03 2026", "SIP 0900-1100"):
        assert redact(kept) == kept
    assert redact("ring 070-123 45 67") == f"ring {REDACTED}"


async def test_a_pulse_is_sent_to_a_plans_team_once_and_the_first_picker_page_opens(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """A double tap (or a forged re-press on another message) on "send to plan X" sends the
    link once; the add-participant picker's page 0 is a page, not a stale button."""
    import datetime as dt

    from storage.plans import store as plans_store
    from tests.plans.helpers import CALENDAR, POLICY

    db = app.bot_data.db
    organiser = add_staff(db, 360, "Olle")
    member = add_staff(db, 361, "Mia Ek").id
    assert organiser.id is not None
    plan = db.call(
        lambda s: plans_store.create_plan(
            s, reference="SP-1", plan_type="sip", municipality="Mellerud",
            responsible_id=organiser.id, participant_ids=[member],
            next_follow_up=clock.now.date() + dt.timedelta(days=9), created_by=organiser.id,
            policy=POLICY, calendar=CALENDAR, now=clock.now,
        )
    )  # fmt: skip
    pulse = pulse_helpers.open_pulse(db, organiser, now=clock.now)
    mia = standin.user(361, "Mia")  # her chat exists before the link is sent to her
    olle = standin.user(360, "Olle")
    carrier = await olle.ask("/help")
    data = f"ppl:{pulse.id}:{plan.id}"
    await olle.press(carrier, 0, data=data)
    await olle.press(carrier, 0, data=data)
    other = await olle.ask("/help")
    await olle.press(other, 0, data=data)
    await asyncio.sleep(0.3)
    assert len([e for e in mia.events() if pulse.token in e.text]) == 1
    olle.skip_pending()
    await olle.press(other, 0, data=f"pln:addpg:{plan.id}:0")
    shown = await olle.reply()
    assert shown.alert != t("core.stale_button", "sv")


async def test_every_table_is_free_of_the_number_on_both_engines(
    db: Database, settings: Settings, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """The attack run on SQLite and PostgreSQL: disguised personnummer in a question, a pulse
    comment, a coordinator-facing name and a plan place; then every text column of every
    table is read back and searched for the digits."""
    import sqlalchemy as sa

    from bot.shell.app import build_application, running

    application = build_application(settings, db=db, api_root=standin.url, clock=clock)
    async with running(application, poll_timeout=2):
        add_staff(db, 370, "Ulla Ek")
        person = standin.user(370, "Ulla\u200b 121212\u200b-1212")
        for form in FORMS:
            await person.ask(f"gäller {form} en SIP?")
        organiser = add_staff(db, 371, "Olle")
        pulse = pulse_helpers.open_pulse(db, organiser, now=clock.now)
        await pulse_helpers.answer(standin, 372, pulse, [3, 3, 3, 3, 3], comment=FORMS[3])
        newcomer, intro = await open_invitation(standin, 373, "Nils", last_name=FORMS[0])
        # A Telegram name with a personnummer is not offered: the person types one.
        assert intro.buttons == []
        orgs = await newcomer.ask(f"Nils {FORMS[1]}")
        orgs = await newcomer.ask("Nils Ek") if not orgs.buttons else orgs
        confirm = await newcomer.tap(orgs, "Socialtjänst")
        await newcomer.tap(confirm, "Ja, registrera mig")
    found: list[str] = []
    with db.engine.connect() as connection:
        inspector = sa.inspect(connection)
        for name in inspector.get_table_names():
            for row in connection.execute(sa.text(f'SELECT * FROM "{name}"')):
                text = " ".join(str(value) for value in row)
                if has_the_number(text.encode()):
                    found.append(name)
    assert found == []


async def test_telegram_business_messages_are_never_handled(
    app: DalsbotApp, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """A staff member's business chat with a customer would match the private-chat filters:
    /mina_data there must not send their data into that chat."""
    person = staff_chat(app, standin, 380, "Ann Ek")
    message = {
        "message_id": 1,
        "from": person.user,
        "chat": {"id": 381, "type": "private", "first_name": "Kund"},
        "date": 0,
        "text": "/mina_data",
        "entities": [{"type": "bot_command", "offset": 0, "length": 10}],
        "business_connection_id": "bc1",
    }
    await standin.push_update({"business_message": message})
    await asyncio.sleep(0.3)
    assert standin.sent_messages(381) == [] and person.events() == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
