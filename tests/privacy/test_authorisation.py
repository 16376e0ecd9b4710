"""The authorisation matrix: every command and the sensitive buttons × every kind of person.

The commands come from the handler registry (``bot_data.commands``), and a test checks that
every command a handler answers is in that registry, so a new command cannot skip the
matrix. People: a stranger, staff, a coordinator, a coordinator of another municipality, an
admin and removed staff; in a private chat and in a group. Someone without the right gets a
refusal (or, in a group, "private only"), never content; someone with it gets content.

The buttons: a plan card's buttons, an admin's staff card and a pulse's results, pressed
(forged onto the presser's own chat) by each person; whoever may not see the plan, the
person or the pulse never gets a message that names them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from dataclasses import dataclass

from telegram.ext import BaseHandler, CommandHandler, ConversationHandler

from bot.context import CommandSpec, DalsbotApp
from bot.i18n import t
from bot.shell.standin import BotApiStandIn
from storage.people import store as staff_store
from storage.people.models import Role
from storage.plans import store as plans_store
from tests.conftest import ADMIN_ID, FakeClock
from tests.helpers import add_staff
from tests.pulse import helpers as pulse_helpers

GROUP = -777
REFUSALS = {
    t(key, "sv")
    for key in (
        "core.not_registered",
        "core.not_allowed",
        "core.not_allowed_coordinator",
        "kb.gaps.editors_only",
        "kb.not_editor",
    )
}
# Commands for the knowledge base's editors: a permission on top of the role (admins always
# have it; none of the personas below was given it).
EDITOR_COMMANDS = frozenset({"kb_artikel", "kb_gaps"})


@dataclass(frozen=True)
class Persona:
    name: str
    telegram_id: int
    role: str | None  # None: not registered (a stranger, or removed)


PERSONAS = (
    Persona("stranger", 601, None),
    Persona("staff", 602, Role.STAFF.value),
    Persona("coordinator", 603, Role.COORDINATOR.value),
    Persona("other coordinator", 604, Role.COORDINATOR.value),
    Persona("admin", ADMIN_ID, Role.ADMIN.value),
    Persona("removed", 605, None),
)


def _people(app: DalsbotApp) -> dict[str, int]:
    """The registered people (the removed one removed); their staff ids by persona name."""
    db = app.bot_data.db
    people = {
        "staff": add_staff(db, 602, "Stina Ek"),
        "coordinator": add_staff(db, 603, "Cora Ek", role=Role.COORDINATOR),
        "other coordinator": add_staff(
            db, 604, "Åsa Ås", role=Role.COORDINATOR, municipality="Åmål"
        ),
        "removed": add_staff(db, 605, "Rut Ek"),
    }
    return {name: person.id for name, person in people.items() if person.id is not None}


def allowed(persona: Persona, spec: CommandSpec) -> bool:
    if spec.command in EDITOR_COMMANDS:
        return persona.role == "admin"
    return spec.roles is None or (persona.role is not None and persona.role in spec.roles)


def registered_commands(app: DalsbotApp) -> set[str]:
    """Every command some handler answers, conversations included."""
    found: set[str] = set()

    def walk(handler: BaseHandler[object, object, object]) -> None:
        if isinstance(handler, CommandHandler):
            found.update(handler.commands)
        elif isinstance(handler, ConversationHandler):
            inner = [*handler.entry_points, *handler.fallbacks]
            inner += [h for state in handler.states.values() for h in state]
            for nested in inner:
                walk(nested)

    for handlers in app.handlers.values():
        for handler in handlers:
            walk(handler)
    return found


def test_every_answered_command_is_in_the_registry(app: DalsbotApp) -> None:
    """A command answered by a handler but missing from the registry would skip the matrix
    (a name that is another name of a listed command, /ask of /fraga, is listed with it)."""
    listed = {name for spec in app.bot_data.commands for name in spec.names()}
    assert registered_commands(app) <= listed


def _arrived(standin: BotApiStandIn, chat_id: int, since: int, text: str | None) -> bool:
    """Whether the bot has sent ``text`` to ``chat_id`` after its first ``since`` actions."""
    return any(event.text == text for event in standin.events[chat_id][since:])


async def test_every_command_for_every_person_in_private(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    ids = _people(app)
    app.bot_data.db.call(lambda s: staff_store.remove_staff(s, staff_id=ids["removed"]))
    for persona in PERSONAS:
        person = standin.user(persona.telegram_id, persona.name.title())
        # The answer to /sprak (the same for everyone, changes nothing): once it has arrived,
        # everything the bot did before it has arrived too (one update per person at a time).
        marker = (await person.ask("/sprak")).text
        for spec in app.bot_data.commands:
            person.skip_pending()
            reply = await person.ask(f"/{spec.command}")
            refused = reply.text in REFUSALS
            assert refused is not allowed(persona, spec), (persona.name, spec.command, reply.text)
            # End any flow it started, and wait until everything it sent has arrived.
            await person.send("/cancel")
            seen = len(standin.events[persona.telegram_id])
            await person.send("/sprak")
            await standin.wait_for(
                functools.partial(_arrived, standin, persona.telegram_id, seen, marker)
            )


async def test_no_command_shows_content_in_a_group_to_someone_without_the_right(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    ids = _people(app)
    app.bot_data.db.call(lambda s: staff_store.remove_staff(s, staff_id=ids["removed"]))
    standin.group(GROUP)
    quiet = REFUSALS | {t("core.private_only", "sv")}
    for persona in PERSONAS:
        person = standin.user(persona.telegram_id, persona.name.title())
        for spec in app.bot_data.commands:
            if allowed(persona, spec):
                continue
            before = len(standin.sent_messages(GROUP))
            await person.send(f"/{spec.command}", chat_id=GROUP)
            await asyncio.sleep(0.05)
            said = [e.text for e in standin.sent_messages(GROUP)[before:]]
            assert all(text in quiet for text in said), (persona.name, spec.command, said)


async def test_sensitive_buttons_reveal_nothing_to_people_without_the_right(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """A plan of Mellerud (responsible: staff; the removed person was in its team), the
    admin's card of a person, a pulse organised by the coordinator."""
    from tests.plans.helpers import CALENDAR, POLICY

    ids = _people(app)
    db = app.bot_data.db
    policy, calendar = POLICY, CALENDAR
    db.call(
        lambda s: plans_store.create_plan(
            s, reference="HEMLIG-1", plan_type="sip", municipality="Mellerud",
            responsible_id=ids["staff"], participant_ids=[ids["removed"]],
            next_follow_up=clock.now.date() + dt.timedelta(days=20), follow_up_time=None,
            place=None, created_by=ids["staff"], policy=policy, calendar=calendar,
            now=clock.now,
        )
    )  # fmt: skip
    organiser = db.call(lambda s: staff_store.get_staff_by_id(s, staff_id=ids["coordinator"]))
    assert organiser is not None
    pulse = pulse_helpers.open_pulse(db, organiser, now=clock.now, label="Hemligt möte")
    db.call(lambda s: staff_store.remove_staff(s, staff_id=ids["removed"]))

    admin = standin.user(ADMIN_ID, "Admin")
    card = await admin.ask("/plan HEMLIG-1")
    assert "HEMLIG-1" in card.text
    staff_list = await admin.ask("/staff")
    person_card = await admin.tap(staff_list, "Stina Ek")
    assert "Stina Ek" in person_card.text
    secrets_by_data = {b["callback_data"]: "HEMLIG-1" for b in card.buttons}
    secrets_by_data |= {b["callback_data"]: "Stina Ek" for b in person_card.buttons}
    secrets_by_data[f"pres:{pulse.id}"] = "Hemligt möte"
    may_see = {
        "HEMLIG-1": {"staff", "coordinator", "admin"},
        "Stina Ek": {"admin"},
        "Hemligt möte": {"coordinator", "admin"},
    }
    for persona in PERSONAS:
        if persona.name == "admin":
            continue
        person = standin.user(persona.telegram_id, persona.name.title())
        carrier = await person.ask("/help")
        for data, secret in secrets_by_data.items():
            if persona.name in may_see[secret]:
                continue
            person.skip_pending()
            await person.press(carrier, 0, data=data)
            await asyncio.sleep(0.05)
            shown = [e.text for e in person.events() if e.kind in ("send", "edit")]
            assert not any(secret in text for text in shown), (persona.name, data)
