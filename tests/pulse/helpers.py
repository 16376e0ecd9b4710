"""Helpers for the pulse tests: pulses made directly in the database, answering through the
chat as a simulated person (staff are made by tests/helpers.py)."""

from __future__ import annotations

import datetime as dt

from bot.shell.standin import BotApiStandIn, ChatEvent, SimUser
from storage.db import Database
from storage.people.models import Staff
from storage.pulse import store as pulse_store
from storage.pulse.models import Pulse
from storage.pulse.templates import Template, load_templates

TEMPLATES = load_templates()


def open_pulse(
    db: Database,
    organiser: Staff,
    *,
    template: Template | None = None,
    label: str = "Barnteam Norr",
    k: int = 3,
    now: dt.datetime,
    hours: int = 48,
) -> Pulse:
    """A pulse opened straight in the database."""
    return db.call(
        lambda s: pulse_store.create_pulse(
            s, template=template or TEMPLATES["barnteam"], label=label, organiser=organiser,
            k=k, closes_at=now + dt.timedelta(hours=hours), now=now,
        )
    )  # fmt: skip


def link_command(pulse: Pulse) -> str:
    """What a person sends when they open the pulse's deep link."""
    return f"/start pulse_{pulse.token}"


async def answer(
    standin: BotApiStandIn,
    user_id: int,
    pulse: Pulse,
    scores: list[int | None],
    *,
    comment: str | None = None,
) -> ChatEvent:
    """Open the link, tap a score (None: skip) per question, optionally comment, send."""
    person = standin.user(user_id, f"Person {user_id}")
    message = await person.ask(link_command(pulse))
    return await answer_from(person, message, scores, comment=comment)


async def answer_from(
    person: SimUser, message: ChatEvent, scores: list[int | None], *, comment: str | None = None
) -> ChatEvent:
    """Tap through an answering message that is already open."""
    for score in scores:
        message = await person.tap(message, "Hoppa över" if score is None else str(score))
    if comment is not None:
        message = await person.tap(message, "Lägg till kommentar")
        # The summary is sent anew below the comment, and the old message deleted.
        await person.send(comment)
        message = (await person.next(2))[0]
    return await person.tap(message, "Skicka")
