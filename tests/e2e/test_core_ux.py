"""Issue 11, the basics on a phone: commands in both languages, "did you mean", menus per
scope and language, descriptions, the home menu, /settings, a short /help and /privacy,
confirmed role changes with notices, the inviter told, media answered (end to end, over
HTTP against the stand-in)."""

from __future__ import annotations

import asyncio
import textwrap
from typing import Any

import pytest
from sqlmodel import select

from bot.context import DalsbotApp
from bot.i18n import t
from bot.settings import Settings
from bot.shell.app import build_application, running
from bot.shell.standin import BotApiStandIn, ChatEvent, SimUser
from handlers.people import menus
from storage import chatstate
from storage.db import Database
from storage.knowledge.models import KbQuestion
from storage.people import store as staff_store
from storage.people.models import Invitation
from storage.plans import reminders as reminder_store
from tests.conftest import ADMIN_ID, FakeClock
from tests.helpers import add_staff, create_invite, eventually, register, staff_chat
from tests.pulse.helpers import answer_from, link_command, open_pulse

PHONE_WIDTH = 35


def phone_lines(text: str) -> int:
    """How many lines ``text`` takes on a phone about 35 characters wide."""
    return sum(max(1, len(textwrap.wrap(line, PHONE_WIDTH))) for line in text.split("\n"))


def chat_scope(chat_id: int) -> dict[str, Any]:
    """A chat's command-menu scope as the Bot API writes it."""
    return {"type": "chat", "chat_id": chat_id}


def names(menu: list[dict[str, Any]]) -> list[str]:
    """The commands of a menu, in order."""
    return [item["command"] for item in menu]


def labels(event: ChatEvent) -> list[str]:
    """The labels of a message's buttons."""
    return [button["text"] for button in event.buttons]


# -- commands in both languages ---------------------------------------------------------------


async def test_swedish_and_english_names_reach_the_same_handlers(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """/hjalp and /help, /sprak and /language, /integritet and /privacy answer alike; a
    group's /hjalp@bot too."""
    anna = staff_chat(app, standin, 1001, "Anna Berg")
    for swedish, english in [
        ("/hjalp", "/help"),
        ("/sprak", "/language"),
        ("/integritet", "/privacy"),
    ]:
        said = await anna.ask(swedish)
        assert said.text == (await anna.ask(english)).text, swedish
    group = standin.group(-300, "Barnteam")
    await anna.send("/hjalp@dalsbot_local_bot", chat_id=group["id"])
    await standin.wait_for(lambda: len(standin.sent_messages(-300)) == 1)
    assert standin.sent_messages(-300)[0].text.startswith(t("core.help_title", "sv"))


async def test_avbryt_ends_a_running_flow_and_new_plan_starts_one(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """/avbryt inside /bjud_in ends it (the flow's own /cancel, reached through the alias);
    /new_plan opens the same first step as /ny_plan; with nothing running /avbryt says so."""
    admin = standin.user(ADMIN_ID, "Astrid")
    step = await admin.ask("/bjud_in")
    assert step.text == t("core.admin_invite_pick_role", "sv")
    assert (await admin.ask("/avbryt")).text == t("core.cancelled", "sv")
    await admin.press(step, "medarbetare")  # the flow is over: the button is stale
    assert (await admin.reply()).alert == t("core.stale_button", "sv")
    typed = await admin.ask("/ny_plan")
    assert (await admin.ask("/avbryt")).text == t("core.cancelled", "sv")
    aliased = await admin.ask("/new_plan")
    assert aliased.text.splitlines()[0] == typed.text.splitlines()[0]
    assert (await admin.ask("/cancel")).text == t("core.cancelled", "sv")
    assert (await admin.ask("/avbryt")).text == t("core.nothing_to_cancel", "sv")


async def test_near_misses_get_did_you_mean(app: DalsbotApp, standin: BotApiStandIn) -> None:
    """/hjälp, /hjalpp, "/ny plan" and /avbrytt suggest the command meant, in the person's
    language; a stranger is only offered what they may use; nonsense points to /help."""
    anna = staff_chat(app, standin, 1002, "Anna Berg")
    for typed, meant in [
        ("/hjälp", "hjalp"),
        ("/hjalpp", "hjalp"),
        ("/ny plan", "ny_plan"),
        ("/avbrytt", "avbryt"),
        ("/settings_", "installningar"),
    ]:
        said = await anna.ask(typed)
        assert said.text == t("core.did_you_mean", "sv", command=meant, help="hjalp"), typed
    bo = staff_chat(app, standin, 1003, "Bo Ek", language="en")
    said = await bo.ask("/new plan")
    assert said.text == t("core.did_you_mean", "en", command="new_plan", help="help")
    stranger = standin.user(1004, "Sven")
    said = await stranger.ask("/ny plan")
    assert said.text == t("core.unknown_command", "sv", help="hjalp")
    assert (await anna.ask("/xyzzy")).text == t("core.unknown_command", "sv", help="hjalp")
    capitals = await anna.ask("/Integritet")  # Telegram's commands ignore case: no guess
    assert capitals.text.startswith(t("core.privacy_title", "sv"))


# -- menus and descriptions -------------------------------------------------------------------


async def test_strangers_menu_and_descriptions_are_set_at_start(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """The default scope shows only /start, help, language and privacy, with Swedish names
    (also for every language without its own menu) and English names; the description and
    short description are set in both languages and within Telegram's limits."""
    assert names(standin.menu("sv")) == ["start", "hjalp", "sprak", "integritet"]
    assert standin.menu("") == standin.menu("sv")
    assert names(standin.menu("en")) == ["start", "help", "language", "privacy"]
    for lang in ("sv", "en"):
        description = standin.descriptions["description", lang]
        short = standin.descriptions["short_description", lang]
        assert description == t("core.description", lang) and len(description) <= 512
        assert short == t("core.short_description", lang) and len(short) <= 120
    assert standin.descriptions["description", ""] == t("core.description", "sv")


async def test_each_staff_chat_gets_its_roles_menu_in_its_language(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """At start-up the admin's chat gets the admin menu (administration last); a new member
    gets the staff menu when they register, English names after choosing English, the admin
    menu when made admin, and the strangers' menu back (their own removed) when removed."""
    await eventually(lambda: bool(standin.menu("", chat_scope(ADMIN_ID))))
    admin_menu = names(standin.menu("", chat_scope(ADMIN_ID)))
    assert {"avbryt", "bjud_in", "medarbetare", "installningar", "fraga"} <= set(admin_menu)
    assert set(admin_menu[-5:]) == {"bjud_in", "medarbetare", "kb_reload", "kb_gaps", "kb_granska"}
    code = await create_invite(standin)
    await register(standin, 1011, code, name="Jan")
    jan_menu = names(standin.menu("", chat_scope(1011)))
    assert "ny_plan" in jan_menu and "avbryt" in jan_menu and "bjud_in" not in jan_menu
    jan = standin.user(1011, "Jan")
    choice = await jan.ask("/sprak")
    await jan.tap(choice, "English")
    await eventually(lambda: "help" in names(standin.menu("", chat_scope(1011))))
    english = names(standin.menu("", chat_scope(1011)))
    assert "new_plan" in english and "cancel" in english and "ny_plan" not in english
    admin = standin.user(ADMIN_ID, "Astrid")
    card = await admin.tap(await admin.ask("/medarbetare"), "Jan Ek")
    await admin.tap(await admin.tap(card, "Gör till administratör"), "Ja")
    await eventually(lambda: "invite" in names(standin.menu("", chat_scope(1011))))
    card = await admin.tap(await admin.ask("/medarbetare"), "Jan Ek")
    await admin.tap(await admin.tap(card, "Ta bort"), "Ja, ta bort")
    await eventually(lambda: standin.menu("", chat_scope(1011)) == [])


async def test_a_restart_sets_no_menu_that_has_not_changed(
    settings: Settings,
    sqlite_db: Database,
    standin: BotApiStandIn,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Start-up sets a staff member's menu once (in the background when there are many);
    the next start-up, with nothing changed, sets only the strangers' menus (not one call
    per staff member)."""
    monkeypatch.setattr(menus, "SET_BEFORE_START", 5)
    for user_id in range(2001, 2011):
        add_staff(sqlite_db, user_id, f"Person {user_id}")

    async def one_run() -> int:
        before = standin.calls["setMyCommands"]
        app = build_application(settings, db=sqlite_db, api_root=standin.url, clock=clock)
        async with running(app, poll_timeout=1):
            await eventually(lambda: bool(standin.menu("", chat_scope(2010))))
            await asyncio.sleep(0.3)
        return standin.calls["setMyCommands"] - before

    assert await one_run() == 3 + 11  # sv, default, en; ten staff and the configured admin
    assert await one_run() == 3


# -- home menu and /settings ---------------------------------------------------------------


async def test_home_menu_buttons_run_the_commands(app: DalsbotApp, standin: BotApiStandIn) -> None:
    """/start for a registered person: a greeting and five buttons; each runs what its
    command runs. A stranger gets how to get an invitation, and no buttons."""
    anna = staff_chat(app, standin, 1021, "Anna Berg")
    home = await anna.ask("/start")
    assert home.text == t("core.start_welcome_back", "sv", name="Anna Berg")
    assert labels(home) == [
        t(f"core.home_{action}", "sv")
        for action in ("ask", "plans", "new_plan", "pulse", "settings")
    ]
    assert (await anna.tap(home, "Ställ en fråga")).text == t("core.home_ask_hint", "sv")
    for button, command in [
        ("Mina planer", "/planer"),
        ("Ny plan", "/ny_plan"),
        ("Ny puls", "/puls"),
        ("Inställningar", "/installningar"),
    ]:
        pressed = await anna.tap(home, button)
        await anna.ask("/avbryt")
        typed = await anna.ask(command)
        await anna.ask("/avbryt")
        assert pressed.text.splitlines()[0] == typed.text.splitlines()[0], button
    stranger = standin.user(1022, "Sven")
    told = await stranger.ask("/start")
    assert told.text == t("core.start_unregistered", "sv") and told.buttons == []
    await stranger.press(home, 1, data="home:plans")  # forged by a stranger
    assert (await stranger.reply()).alert == t("core.not_registered", "sv")


async def test_settings_show_the_person_and_toggle_language_and_digest_in_place(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """/installningar shows name, role and municipality; one tap turns the digest on, one
    switches to English: the same message, edited, every time."""
    anna = staff_chat(app, standin, 1031, "Anna Berg", municipality="Åmål")
    view = await anna.ask("/installningar")
    assert "Anna Berg" in view.text and "Roll: medarbetare" in view.text
    assert "Kommun: Åmål" in view.text and "Daglig sammanfattning: av" in view.text
    await anna.press(view, "Slå på")
    toast, edited = await anna.next(2)
    assert toast.alert == t("core.settings_digest_saved_on", "sv")
    assert edited.kind == "edit" and edited.message["message_id"] == view.message["message_id"]
    assert "Daglig sammanfattning: på, arbetsdagar kl. 08:00" in edited.text
    staff = app.bot_data.db.call(lambda s: staff_store.get_staff(s, telegram_id=1031))
    assert staff is not None and staff.id is not None
    staff_id = staff.id
    preference = app.bot_data.db.call(lambda s: reminder_store.get_preference(s, staff_id=staff_id))
    assert preference.daily_digest is True
    await anna.press(view, "English")
    toast, edited = await anna.next(2)
    assert toast.alert == t("core.language_set", "en")
    assert edited.text.startswith("⚙️ Settings") and "Role: staff member" in edited.text
    assert "Daily digest: on" in edited.text and "Turn off the daily digest" in labels(edited)
    assert (await anna.ask("/help")).text.startswith(t("core.help_title", "en"))
    assert "settings" in names(standin.menu("", chat_scope(1031)))
    assert (await standin.user(1032, "Sven").ask("/settings")).text == t(
        "core.not_registered", "sv"
    )


# -- /help and /privacy --------------------------------------------------------------------------


async def test_help_is_short_and_grouped_and_details_edit_in_place(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """/help fits a phone (≤ 15 lines of 35 characters) for every role and language, shows
    only the groups the role may use, and each group's button edits the same message; a
    forged admin group is refused to staff."""
    admin = standin.user(ADMIN_ID, "Astrid")
    anna = staff_chat(app, standin, 1041, "Anna Berg")
    bo = staff_chat(app, standin, 1042, "Bo Ek", language="en")
    stranger = standin.user(1043, "Sven")
    for person in (admin, anna, bo, stranger):
        summary = await person.ask("/help")
        assert phone_lines(summary.text) <= 15, summary.text
        assert summary.message["entities"][0]["type"] == "bold"
    assert labels(summary) == ["👤 Jag"]  # the stranger
    assert "/sprak" in summary.text and "/fraga" not in summary.text
    summary = await anna.ask("/hjalp")
    assert "🛠 Admin" not in labels(summary)
    plans = await anna.tap(summary, "Planer")
    assert plans.kind == "edit" and plans.message["message_id"] == summary.message["message_id"]
    assert f"/ny_plan – {t('plans.commands.ny_plan', 'sv')}" in plans.text
    assert phone_lines(plans.text) <= 15
    back = await anna.tap(plans, "Tillbaka")
    assert back.text == summary.text
    await anna.press(summary, 0, data="help:admin")
    assert (await anna.reply()).alert == t("core.stale_button", "sv")
    english = await bo.ask("/help")
    me = await bo.tap(english, "Me")
    assert "/settings – " in me.text and "/language – " in me.text


async def test_privacy_is_a_short_summary_with_more_behind_a_button(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """/privacy is at most 12 phone lines with a bold title; "read more" edits the message to
    hold the details in an expandable quote (collapsed on the phone), "less" goes back."""
    for lang, person in (
        ("sv", standin.user(1051, "Pia")),
        ("en", standin.user(1052, "Ed", language_code="en")),
    ):
        summary = await person.ask("/privacy")
        assert summary.text.startswith(t("core.privacy_title", lang))
        assert phone_lines(summary.text) <= 12, summary.text
        more = await person.tap(summary, t("core.privacy_more", lang))
        assert more.kind == "edit" and t("core.privacy", lang, k=3) in more.text
        kinds = [entity["type"] for entity in more.message["entities"]]
        assert "expandable_blockquote" in kinds
        shown = ChatEvent("send", more.message).visible_text
        assert len(shown) <= 1200
        less = await person.tap(more, t("core.privacy_less", lang))
        assert less.text == summary.text


# -- people: role changes, removal, invitations --------------------------------------------------


async def test_role_change_asks_first_and_tells_the_person_in_their_language(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Nothing changes before "yes"; "yes" is checked again (an admin no longer an admin is
    refused); the person is told in English what their new role means."""
    bo = staff_chat(app, standin, 1061, "Bo Ek", language="en")
    admin = standin.user(ADMIN_ID, "Astrid")
    listing = await admin.ask("/medarbetare")
    card = await admin.tap(listing, "Bo Ek")
    confirm = await admin.tap(card, "Gör till samordnare")
    assert confirm.text == t(
        "core.admin_role_confirm",
        "sv",
        name="Bo Ek",
        role="samordnare",
        consequence=t("core.role_consequence.coordinator", "sv"),
    )
    assert labels(confirm) == ["✅ Ja, gör till samordnare", "◀ Tillbaka"]
    person = app.bot_data.db.call(lambda s: staff_store.get_staff(s, telegram_id=1061))
    assert person is not None and person.role == "staff"
    assert standin.sent_messages(1061) == []
    done = await admin.tap(confirm, "Ja")
    assert done.text == "Bo Ek är nu samordnare."
    notice = await bo.reply()
    assert notice.text == t(
        "core.role_notice",
        "en",
        role="coordinator",
        consequence=t("core.role_consequence.coordinator", "en"),
    )
    # The same confirmation pressed by someone who is no longer an admin does nothing.
    await admin.tap(await admin.tap(done, "Tillbaka"), "Bo Ek")
    other = staff_chat(app, standin, 1062, "Cia Ek")
    await other.press(confirm, 0, data=f"stf:roleok:{person.id}:admin")
    assert (await other.reply()).alert == t("core.not_allowed", "sv")
    after = app.bot_data.db.call(lambda s: staff_store.get_staff(s, telegram_id=1061))
    assert after is not None and after.role == "coordinator"


async def test_removal_asks_first_spells_it_out_and_tells_the_person(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """ "Remove" shows what removal means; only "yes" removes; the person is told; the last
    admin is stopped at the first tap."""
    cia = staff_chat(app, standin, 1071, "Cia Ek")
    admin = standin.user(ADMIN_ID, "Astrid")
    card = await admin.tap(await admin.ask("/medarbetare"), "Cia Ek")
    confirm = await admin.tap(card, "Ta bort")
    assert "planteam" in confirm.text and "får ett meddelande" in confirm.text
    assert app.bot_data.db.call(lambda s: staff_store.get_staff(s, telegram_id=1071))
    removed = await admin.tap(confirm, "Ja, ta bort")
    assert removed.text == "Cia Ek har tagits bort."
    assert (await cia.reply()).text == t("core.removed_notice", "sv")
    assert app.bot_data.db.call(lambda s: staff_store.get_staff(s, telegram_id=1071)) is None
    own = await admin.tap(await admin.ask("/medarbetare"), "Admin")
    await admin.press(own, "Ta bort")
    assert (await admin.reply()).alert == t("core.admin_last_admin", "sv")


async def test_invitation_has_share_and_copy_and_the_inviter_hears_who_joined(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """The new invitation carries a t.me/share button and a copy button with the link; when
    someone joins with it, the admin who made it is told who and as what (4 taps to invite,
    1 more to share)."""
    admin = standin.user(ADMIN_ID, "Astrid")
    menu = await admin.ask("/bjud_in")
    for label in ("samordnare", "Åmål", "1 person"):
        menu = await admin.tap(menu, label)
    done = await admin.tap(menu, "7 dagar")
    link = "https://t.me/dalsbot_local_bot?start=" + done.text.split("start=")[1].split()[0]
    share, copy = done.buttons
    assert share["url"].startswith("https://t.me/share/url?url=https%3A%2F%2Ft.me%2F")
    assert copy["copy_text"] == {"text": link}
    code = link.split("start=")[1]
    await register(standin, 1081, code, name="Dan")
    notices = [e for e in standin.sent_messages(ADMIN_ID) if e.text.startswith("👋")]
    assert [n.text for n in notices] == [
        t("core.invite_joined", "sv", name="Dan Ek", role="samordnare", municipality="Åmål")
    ]


async def test_invitation_steps_go_back_with_the_choice_kept_and_cancel(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Every /bjud_in step has "✖ Avbryt", every step after the first "◀ Tillbaka": back
    edits the same message to the step before with its choice marked ✅; cancel drops the
    draft (no invitation, the old buttons stale). A detour back costs two taps: 6 in all."""
    admin = standin.user(ADMIN_ID, "Astrid")
    menu = await admin.ask("/bjud_in")
    assert [b["text"] for b in menu.buttons][-1] == "✖ Avbryt"
    assert "◀ Tillbaka" not in [b["text"] for b in menu.buttons]
    mun = await admin.tap(menu, "samordnare")
    assert [b["text"] for b in mun.buttons][-2:] == ["◀ Tillbaka", "✖ Avbryt"]
    uses = await admin.tap(mun, "Åmål")
    back = await admin.tap(uses, "◀ Tillbaka")
    assert back.kind == "edit" and back.message["message_id"] == menu.message["message_id"]
    assert back.text == t("core.admin_invite_pick_municipality", "sv")
    assert "✅ Åmål" in [b["text"] for b in back.buttons]
    role = await admin.tap(back, "◀ Tillbaka")
    assert role.text == t("core.admin_invite_pick_role", "sv")
    assert "✅ samordnare" in [b["text"] for b in role.buttons]
    step = await admin.tap(role, "✅ samordnare")
    for label in ("Mellerud", "5 personer"):
        step = await admin.tap(step, label)
    assert [b["text"] for b in step.buttons][-2:] == ["◀ Tillbaka", "✖ Avbryt"]
    uses = await admin.tap(step, "◀ Tillbaka")
    assert "✅ 5 personer" in [b["text"] for b in uses.buttons]
    done = await admin.tap(await admin.tap(uses, "✅ 5 personer"), "7 dagar")
    assert "samordnare" in done.text and "Mellerud" in done.text and "5 personer" in done.text
    assert invitations(app) == [("coordinator", "Mellerud", 5)]
    # Cancel on the third step, and on the first in English.
    step = await admin.ask("/bjud_in")
    for label in ("medarbetare", "Åmål"):
        step = await admin.tap(step, label)
    cancelled = await admin.tap(step, "✖ Avbryt")
    assert cancelled.kind == "edit" and cancelled.text == t("core.cancelled", "sv")
    assert not cancelled.buttons
    await admin.press(step, 0, data=step.buttons[0]["callback_data"])  # "1 person", now gone
    assert (await admin.reply()).alert == t("core.stale_button", "sv")
    assert invitations(app) == [("coordinator", "Mellerud", 5)]
    add_staff(app.bot_data.db, 1090, "Eva", role="admin", language="en")
    eva = standin.user(1090, "Eva")
    menu = await eva.ask("/invite")
    assert [b["text"] for b in menu.buttons][-1] == "✖ Cancel"
    step = await eva.tap(menu, "coordinator")
    assert [b["text"] for b in step.buttons][-2:] == ["◀ Back", "✖ Cancel"]
    assert "✅ coordinator" in [b["text"] for b in (await eva.tap(step, "◀ Back")).buttons]
    assert (await eva.tap(menu, "✖ Cancel")).text == t("core.cancelled", "en")
    assert invitations(app) == [("coordinator", "Mellerud", 5)]
    for event in [*admin.events(), *eva.events()]:
        assert len(event.visible_text) <= 1200


def invitations(app: DalsbotApp) -> list[tuple[str, str, int]]:
    """Every stored invitation: role, municipality, how many may use it."""
    rows = app.bot_data.db.call(lambda session: session.exec(select(Invitation)).all())
    return [(row.role, row.municipality, row.max_uses) for row in rows]


# -- media ---------------------------------------------------------------------------------------

_FILE = {"file_id": "f1", "file_unique_id": "u1"}
MEDIA: dict[str, Any] = {
    "voice": {**_FILE, "duration": 3},
    "audio": {**_FILE, "duration": 30},
    "photo": [{**_FILE, "width": 90, "height": 90}],
    "sticker": {
        **_FILE, "width": 512, "height": 512, "is_animated": False, "is_video": False,
        "type": "regular",
    },
    "video": {**_FILE, "width": 640, "height": 360, "duration": 4},
    "video_note": {**_FILE, "length": 240, "duration": 4},
    "document": {**_FILE, "file_name": "protokoll.pdf"},
}  # fmt: skip


async def send_media(standin: BotApiStandIn, person: SimUser, kind: str) -> ChatEvent:
    """``person`` sends a voice note, picture, sticker...; the bot's answer."""
    message = {
        "message_id": 100_000 + len(standin.events[person.id]),
        "from": person.user,
        "chat": standin.chats[person.id],
        "date": 1_795_000_000,
        kind: MEDIA[kind],
    }
    await standin.push_update({"message": message})
    return await person.reply()


async def test_media_gets_a_short_answer_and_nothing_is_kept(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Voice, audio, photo, sticker, video, video note and document: one short answer each in
    the person's language; nothing is logged as a question and no state is written."""
    bo = staff_chat(app, standin, 1091, "Bo Ek", language="en")
    stranger = standin.user(1092, "Sven")
    for kind in MEDIA:
        assert (await send_media(standin, bo, kind)).text == t("core.media_reply", "en"), kind
    said = await send_media(standin, stranger, "voice")
    assert said.text == t("core.media_reply_stranger", "sv")
    assert app.bot_data.db.call(lambda s: list(s.exec(select(KbQuestion)))) == []
    assert app.bot_data.db.call(lambda s: chatstate.load_user(s, 1091)) is None


async def test_a_picture_sent_while_answering_a_pulse_leaves_the_answer_as_it_was(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """A photo in the middle of a pulse answer gets the short answer; the answer goes on
    with the next tap and is sent."""
    db = app.bot_data.db
    pulse = open_pulse(db, add_staff(db, 1101, "Olle"), now=clock.now)
    person = standin.user(1102, "Pia")
    message = await person.ask(link_command(pulse))
    message = await person.tap(message, "4")
    assert (await send_media(standin, person, "photo")).text == t("core.media_reply_stranger", "sv")
    done = await answer_from(person, message, [4, 4, 4, 4])
    assert done.text == t("pulse.thanks", "sv")


async def test_taps_and_messages_of_the_everyday_tasks(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """README's table: changing the language, turning the digest on, changing a role and
    inviting someone each take one command and a few taps, and the bot answers on one
    message edited in place (one message sent per task)."""
    anna = staff_chat(app, standin, 1111, "Anna Berg")
    admin = standin.user(ADMIN_ID, "Astrid")
    staff_chat(app, standin, 1112, "Bo Ek")

    async def task(person: SimUser, command: str, taps: list[str]) -> tuple[int, int]:
        sent_before = len(standin.sent_messages(person.id))
        shown = await person.ask(command)
        for label in taps:
            await person.press(shown, label)
            shown = await person.reply()
            while shown.kind not in ("send", "edit"):  # a toast comes before the edit
                shown = await person.reply()
        return len(taps), len(standin.sent_messages(person.id)) - sent_before

    assert await task(anna, "/sprak", ["English"]) == (1, 1)
    assert await task(anna, "/settings", ["Turn on"]) == (1, 1)
    role = ["Bo Ek", "Gör till samordnare", "Ja, gör till samordnare"]
    assert await task(admin, "/medarbetare", role) == (3, 1)
    invite = ["medarbetare", "Mellerud", "1 person", "7 dagar"]
    assert await task(admin, "/bjud_in", invite) == (4, 1)
