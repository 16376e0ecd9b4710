"""Helpers of the chat tests: staff registered straight in the database (with their chat with
the bot), invitations made and used through the chat, and the answer cards the bot logged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlmodel import Session, select

from bot.context import DalsbotApp
from bot.i18n import t
from bot.shell.standin import BotApiStandIn, ChatEvent, SimUser
from storage.db import Database
from storage.knowledge.models import KbQuestion
from storage.people.models import Role, Staff
from tests.conftest import ADMIN_ID


def new_staff(
    session: Session,
    telegram_id: int,
    name: str = "Anna",
    *,
    role: str = Role.STAFF,
    municipality: str = "Mellerud",
    language: str = "sv",
) -> Staff:
    """A registered, active staff member, added in ``session`` (flushed, so it has an id)."""
    staff = Staff(
        telegram_id=telegram_id, display_name=name, role=role, municipality=municipality,
        organisation="skola", language=language,
    )  # fmt: skip
    session.add(staff)
    session.flush()
    assert staff.id is not None
    return staff


def add_staff(db: Database, telegram_id: int, name: str, **options: str) -> Staff:
    """A registered staff member, straight into the database (options as :func:`new_staff`)."""
    return db.call(lambda session: new_staff(session, telegram_id, name, **options))


def staff_chat(
    app: DalsbotApp, standin: BotApiStandIn, telegram_id: int, name: str, **options: str
) -> SimUser:
    """A registered staff member (see :func:`add_staff`) and their chat with the bot, where
    Telegram knows them by the first word of ``name``."""
    add_staff(app.bot_data.db, telegram_id, name, **options)
    return standin.user(telegram_id, name.split()[0])


def questions(app: DalsbotApp) -> list[KbQuestion]:
    """Every logged answer card."""
    return app.bot_data.db.call(lambda s: list(s.exec(select(KbQuestion))))


async def create_invite(
    standin: BotApiStandIn,
    role: str = "staff",
    municipality: str = "Mellerud",
    uses: str = "1 person",
    days: str = "7 dagar",
) -> str:
    """Make an invitation as the admin through the chat; returns the code."""
    admin = standin.user(ADMIN_ID, "Astrid", username="astrid")
    menu = await admin.ask("/invite")
    menu = await admin.tap(menu, t(f"core.roles.{role}", "sv"))
    menu = await admin.tap(menu, municipality)
    menu = await admin.tap(menu, uses)
    done = await admin.tap(menu, days)
    assert "https://t.me/dalsbot_local_bot?start=inv_" in done.text
    return done.text.split("start=")[1].split()[0]


async def open_invitation(
    standin: BotApiStandIn, user_id: int, first_name: str, last_name: str | None = None
) -> tuple[SimUser, ChatEvent]:
    """A new person opens a fresh invitation (see :func:`create_invite`): their chat with the
    bot, and its welcome."""
    code = await create_invite(standin)
    person = standin.user(user_id, first_name, last_name=last_name)
    return person, await person.ask(f"/start {code}")


async def register(
    standin: BotApiStandIn,
    user_id: int,
    code: str,
    name: str = "Bertil",
    organisation: str = "Socialtjänst",
) -> str:
    """A person joins with the code (made by the admin, see :func:`create_invite`), keeping
    their Telegram name; returns the last text once the admin has been told who joined."""

    def joined_notices() -> int:
        return sum(event.text.startswith("👋") for event in standin.sent_messages(ADMIN_ID))

    before = joined_notices()
    person = standin.user(user_id, name, last_name="Ek")
    intro = await person.ask(f"/start {code}")
    assert "Vilket namn" in intro.text
    orgs = await person.tap(intro, "Använd")
    confirm = await person.tap(orgs, organisation)
    assert f"Namn: {name} Ek" in confirm.text
    done = await person.tap(confirm, "Ja, registrera mig")
    if done.text.startswith("Klart"):
        await standin.wait_for(lambda: joined_notices() > before)
    return done.text


async def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait until ``condition()`` holds, checking every 50 ms (for what the bot writes after
    its last message, which the stand-in cannot wait for)."""
    for _ in range(int(seconds * 20)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition did not hold in time")
