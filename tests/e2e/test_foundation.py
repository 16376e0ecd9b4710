"""End to end over HTTP: the real Application against the Bot API stand-in."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from bot.context import DalsbotApp
from bot.i18n import t
from bot.shell.standin import BotApiStandIn
from storage import chatstate
from storage.people import store as staff_store
from storage.people.models import Role
from tests.conftest import ADMIN_ID, FakeClock
from tests.helpers import create_invite, eventually, open_invitation, register


async def test_start_without_invitation_explains_access_and_nothing_else(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """/start from a stranger says how to get access; a forged deep link says the same."""
    stranger = standin.user(11, "Sven")
    reply = await stranger.ask("/start")
    assert reply.text == t("core.start_unregistered", "sv")
    reply = await stranger.ask("/start nonsense_payload")
    assert reply.text == t("core.start_unregistered", "sv")


async def test_admin_invites_and_second_person_joins(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """An invitation made in chat registers a second person with name and organisation."""
    code = await create_invite(standin, role="coordinator", municipality="Åmål")
    done = await register(standin, 21, code)
    assert done.startswith("Klart, Bertil Ek! Du är nu registrerad som samordnare i Åmål.")
    staff = app.bot_data.db.call(lambda s: staff_store.get_staff(s, telegram_id=21))
    assert staff is not None
    assert (staff.role, staff.municipality, staff.organisation) == (
        "coordinator",
        "Åmål",
        "socialtjanst",
    )
    helped = await standin.user(21, "Bertil").ask("/help")
    assert "/planer" in helped.text and "/bjud_in" not in helped.text
    assert "🛠 Admin" not in [button["text"] for button in helped.buttons]


async def test_used_expired_and_unknown_invitations_register_nobody(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """A single-use code works once; an expired or made-up code gives a clear message."""
    code = await create_invite(standin)
    await register(standin, 31, code)
    again = await standin.user(32, "Cecilia").ask(f"/start {code}")
    assert again.text == t("core.invite_used", "sv")
    forged = await standin.user(33, "David").ask("/start inv_thisisnotarealcode")
    assert forged.text == t("core.invite_unknown", "sv")
    late_code = await create_invite(standin)
    clock.advance(days=8)
    late = await standin.user(34, "Eva").ask(f"/start {late_code}")
    assert late.text == t("core.invite_expired", "sv")
    for user_id in (32, 33, 34):
        assert (
            app.bot_data.db.call(lambda s, u=user_id: staff_store.get_staff(s, telegram_id=u))
            is None
        )


async def test_invitation_used_up_while_confirming_registers_nobody(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Two people open the same single-use link; only the first to confirm gets in."""
    code = await create_invite(standin)
    first, second = standin.user(41, "Fia"), standin.user(42, "Gun")
    first_intro, second_intro = (
        await first.ask(f"/start {code}"),
        await second.ask(f"/start {code}"),
    )
    first_confirm = await first.tap(await first.tap(first_intro, "Använd"), "Polis")
    second_confirm = await second.tap(await second.tap(second_intro, "Använd"), "Polis")
    assert "Klart" in (await first.tap(first_confirm, "Ja")).text
    assert (await second.tap(second_confirm, "Ja")).text == t("core.invite_used", "sv")


async def test_registration_refuses_personnummer_as_name_and_asks_again(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """A typed name that is a personnummer is refused; text instead of a button is explained."""
    person, _intro = await open_invitation(standin, 51, "Hugo")
    refused = await person.ask("19900101-0017")
    assert refused.text == t("core.register_name_personnummer", "sv")
    orgs = await person.ask("Hugo Holm")
    assert "Tack, Hugo Holm" in orgs.text
    hint = await person.ask("skola")
    assert hint.text == t("core.register_expected_button", "sv")
    cancelled = await person.ask("/cancel")
    assert cancelled.text == t("core.cancelled", "sv")
    assert app.bot_data.db.call(lambda s: staff_store.get_staff(s, telegram_id=51)) is None


async def test_staff_only_commands_refuse_others(app: DalsbotApp, standin: BotApiStandIn) -> None:
    """/invite and /staff refuse strangers and non-admins; unknown commands point to /help."""
    stranger = standin.user(61, "Ida")
    assert (await stranger.ask("/invite")).text == t("core.not_registered", "sv")
    code = await create_invite(standin)
    await register(standin, 62, code)
    member = standin.user(62, "Bertil")
    for command, refusal in [
        ("/invite", "core.not_allowed"),
        ("/staff", "core.not_allowed"),
    ]:
        assert (await member.ask(command)).text == t(refusal, "sv"), command
    unknown = await member.ask("/nosuchthing")
    assert unknown.text == t("core.unknown_command", "sv", help="hjalp")


async def test_admin_changes_role_and_removes_and_forged_buttons_are_refused(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """/staff changes a role and removes a person (each after a confirming tap, and the
    person is told); forged or foreign button data is refused."""
    code = await create_invite(standin)
    await register(standin, 71, code, name="Jan")
    member = standin.user(71, "Jan")
    admin = standin.user(ADMIN_ID, "Astrid")
    listing = await admin.ask("/staff")
    card = await admin.tap(listing, "Jan Ek")
    confirm = await admin.tap(card, "Gör till samordnare")
    assert confirm.text.startswith("Göra Jan Ek till samordnare?")
    changed = await admin.tap(confirm, "Ja, gör till samordnare")
    assert changed.text == "Jan Ek är nu samordnare."
    assert (await member.reply()).text.startswith("En administratör har ändrat din roll")
    jan = app.bot_data.db.call(lambda s: staff_store.get_staff(s, telegram_id=71))
    assert jan is not None
    await admin.press(changed, 0, data=f"stf:role:{jan.id}:superuser")
    alert = await admin.reply()
    assert alert.kind == "answer" and alert.alert == t("core.stale_button", "sv")
    await member.press(card, 0)
    refused = await member.reply()
    assert refused.alert == t("core.not_allowed", "sv")
    card = await admin.tap(await admin.tap(changed, "Tillbaka"), "Jan Ek")
    confirm = await admin.tap(card, "Ta bort")
    removed = await admin.tap(confirm, "Ja, ta bort")
    assert removed.text == "Jan Ek har tagits bort."
    assert (await member.reply()).text == t("core.removed_notice", "sv")
    assert (await member.ask("/invite")).text == t("core.not_registered", "sv")


async def test_last_admin_cannot_remove_themselves(app: DalsbotApp, standin: BotApiStandIn) -> None:
    """The only admin may not demote or remove themselves."""
    admin = standin.user(ADMIN_ID, "Astrid")
    listing = await admin.ask("/staff")
    card = await admin.tap(listing, "Admin")
    await admin.press(card, "Gör till medarbetare")
    alert = await admin.reply()
    assert alert.alert == t("core.admin_last_admin", "sv")
    staff = app.bot_data.db.call(lambda s: staff_store.get_staff(s, telegram_id=ADMIN_ID))
    assert staff is not None and staff.role == Role.ADMIN.value


async def test_language_switch_is_stored_and_used(app: DalsbotApp, standin: BotApiStandIn) -> None:
    """/language → English: the confirmation and later replies are in English."""
    admin = standin.user(ADMIN_ID, "Astrid")
    menu = await admin.ask("/language")
    done = await admin.tap(menu, "English")
    assert done.text == t("core.language_set", "en")
    help_text = (await admin.ask("/help")).text
    assert help_text.startswith(t("core.help_title", "en")) and "/invite" in help_text
    staff = app.bot_data.db.call(lambda s: staff_store.get_staff(s, telegram_id=ADMIN_ID))
    assert staff is not None and staff.language == "en"


async def test_privacy_and_cancel_outside_a_flow(app: DalsbotApp, standin: BotApiStandIn) -> None:
    """/privacy says what is never stored; /cancel with nothing running says so."""
    person = standin.user(81, "Karin")
    privacy = await person.ask("/privacy")
    assert "personnummer" in privacy.text and "aldrig" in privacy.text
    assert (await person.ask("/cancel")).text == t("core.nothing_to_cancel", "sv")


async def test_command_menu_is_set_per_language(app: DalsbotApp, standin: BotApiStandIn) -> None:
    """Telegram's command menu exists in Swedish (also the default) and English, each with
    its own names (/hjalp, /help)."""
    sv = {c["command"]: c["description"] for c in standin.menu("sv")}
    en = {c["command"]: c["description"] for c in standin.menu("en")}
    assert sv["hjalp"] == t("core.commands.help", "sv")
    assert en["help"] == t("core.commands.help", "en")
    assert standin.menu("") == standin.menu("sv")


async def test_unexpected_error_is_logged_without_text_and_user_told(
    app: DalsbotApp,
    standin: BotApiStandIn,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crash in a handler: the person gets an apology; the log names the exception type and
    where it happened, but neither the message text nor the exception's own message (which
    may quote stored values, such as a plan reference in a unique-key violation)."""

    stored_value = "-".join(("BP", "SECRET", "17"))  # a value only the exception message holds

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"duplicate key value (reference_key)=({stored_value})")

    monkeypatch.setattr(staff_store, "get_staff", broken)
    caplog.set_level(logging.ERROR)
    person = standin.user(91, "Lena")
    reply = await person.ask("/privacy hemlig text 19900101-0017")
    assert reply.text == t("core.error", "sv")
    logged = "\n".join(
        record.getMessage() + str(record.exc_text or "") for record in caplog.records
    )
    assert "Error while handling update" in logged
    assert "builtins.RuntimeError" in logged and "in broken" in logged
    assert "hemlig" not in logged and "19900101" not in logged
    assert stored_value not in logged


async def test_registration_deadline_is_respected_by_clock(
    app: DalsbotApp, clock: FakeClock, standin: BotApiStandIn
) -> None:
    """The invitation's expiry shown to the admin is a Swedish date a week ahead."""
    admin = standin.user(ADMIN_ID, "Astrid")
    menu = await admin.ask("/invite")
    for label in ("medarbetare", "Bengtsfors", "1 person"):
        menu = await admin.tap(menu, label)
    done = await admin.tap(menu, "7 dagar")
    expected = (clock.now + dt.timedelta(days=7)).astimezone(app.bot_data.settings.tz)
    assert f"giltig till {expected.day} december 2026" in done.text


async def test_a_button_nobody_handles_is_answered_as_stale(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """A button whose flow is over (or forged data) gets an alert, not a spinning button: a
    one-shot button pressed again on its message says it was already done."""
    code = await create_invite(standin)
    await register(standin, 95, code, name="Maja")
    maja = standin.user(95, "Maja")
    done = maja.last()
    await maja.press(done, 0, data="reg:ok")  # registration ended: nobody handles it now
    alert = await maja.reply()
    assert alert.kind == "answer" and alert.alert == t("core.already_done", "sv")
    await maja.press(done, 0, data="reg:again")  # never pressed on this message
    assert (await maja.reply()).alert == t("core.stale_button", "sv")
    await maja.press(done, 0, data="zzz:1")
    assert (await maja.reply()).alert == t("core.stale_button", "sv")


async def test_a_telegram_name_with_a_personnummer_is_never_offered_or_kept(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """The suggested display name passes the same guard as a typed one: a Telegram name with
    a personnummer is not offered, and not kept in the registration's stored draft either."""
    person, intro = await open_invitation(standin, 96, "Olle", last_name="121212-1212")
    assert intro.text.startswith("Välkommen till Dalsbot!")
    assert not intro.buttons and "121212" not in intro.text

    def stored() -> str | None:
        return app.bot_data.db.call(lambda s: chatstate.load_user(s, 96))

    await eventually(lambda: stored() is not None)  # written right after the reply
    assert "registration" in (stored() or "") and "121212" not in (stored() or "")
    await person.press(intro, 0, data="reg:name")  # forged: the button was never offered
    assert (await person.reply()).text == t("core.register_name_invalid", "sv")
    orgs = await person.ask("Olle Berg")
    confirm = await person.tap(orgs, "Skola")
    done = await person.tap(confirm, "Ja, registrera mig")
    assert done.text.startswith("Klart, Olle Berg!")
    staff = app.bot_data.db.call(lambda s: staff_store.get_staff(s, telegram_id=96))
    assert staff is not None and staff.display_name == "Olle Berg"


async def test_help_lists_the_administration_commands_last(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """An admin's /help: the everyday groups first, administration last; its button lists
    every admin-only command."""
    admin = standin.user(ADMIN_ID, "Astrid")
    summary = await admin.ask("/help")
    groups = [button["text"] for button in summary.buttons]
    assert groups == ["❓ Fråga", "📋 Planer", "📊 Puls", "👤 Jag", "🛠 Admin"]
    detail = await admin.tap(summary, "Admin")
    commands = [line.split(" – ")[0] for line in detail.text.splitlines()[1:]]
    assert commands == ["/medarbetare", "/bjud_in", "/kb_gaps", "/kb_reload", "/kb_granska"]


async def test_admin_commands_in_a_group_point_to_the_private_chat(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """/staff and /invite in a group show no names or links there, only where they work."""
    group = standin.group(-100, "Barnteam Åmål")
    admin = standin.user(ADMIN_ID, "Astrid")
    for command in ("/staff", "/invite"):
        await admin.send(command, chat_id=group["id"])
        await standin.wait_for(lambda: len(standin.sent_messages(-100)) >= 1)
        (said,) = standin.sent_messages(-100)
        assert said.text == t("core.private_only", "sv")
        standin.events[-100].clear()
