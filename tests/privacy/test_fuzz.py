"""Random update sequences against the real Application: no update may end in an error.

Hypothesis builds sequences of what people (and attackers) send: texts and every command,
edits of earlier messages, presses of real buttons and of forged callback data, photos,
stickers, voice messages, documents and locations, from an admin, a staff member and a
stranger, in private chats and a group. The stand-in answers 400 where Telegram would (text
too long, bad HTML, callback data over 64 bytes...), so a reply Telegram would refuse is an
error here too. After each sequence, no ERROR may have been logged: the one error handler
logs every unhandled exception.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.context import DalsbotApp
from bot.shell.standin import BotApiStandIn, SimUser
from storage.people import store as staff_store
from tests.conftest import ADMIN_ID
from tests.helpers import add_staff

GROUP = -900
STAFF, STRANGER = 401, 402
COMMANDS = (
    "/start", "/start inv_nope", "/start pulse_nope", "/start pulse_", "/help", "/language",
    "/privacy", "/cancel", "/fraga", "/fraga vad är SIP?", "/ask", "/artiklar", "/kb_reload",
    "/kb_gaps", "/ny_plan", "/planer", "/plan", "/plan BP-1", "/installningar", "/puls",
    "/puls_resultat", "/puls_trend", "/invite", "/staff", "/nope", "/start@dalsbot_local_bot",
    "/mina_data", "/start pinv_AAAAAAAAAAAAAAAAAAAAAA",
)  # fmt: skip
TEXTS = (
    "vem kallar till SIP?", "hej", "tack!", "121212-1212", "121212\u200b-1212", "BP-1",
    "imorgon", "14:30", "31/12", "Skolan", "@dalsbot_local_bot vad är samtycke?", "ja", "",
    "x" * 4000, "<b>fet</b> & <i>", "🙂", "\u202e\u2066", "Anna Ek",
)  # fmt: skip
PREFIXES = (
    "kb", "pa", "pnew", "pres", "ptr", "ppl", "pinv", "pown", "pln", "np", "stf", "inv", "reg",
    "rem",
)  # fmt: skip

texts = st.one_of(st.sampled_from(COMMANDS), st.sampled_from(TEXTS), st.text(max_size=120))
forged = st.one_of(
    st.text(max_size=70),
    st.builds(
        lambda prefix, parts: ":".join((prefix, *parts)),
        st.sampled_from(PREFIXES),
        st.lists(
            st.one_of(st.text(alphabet="0123456789", max_size=22), st.text(max_size=8)),
            max_size=4,
        ),
    ),
)
people = st.sampled_from((ADMIN_ID, STAFF, STRANGER))
actions = st.one_of(
    st.tuples(st.just("text"), people, st.booleans(), texts),
    st.tuples(st.just("edit"), people, st.booleans(), texts),
    st.tuples(st.just("tap"), people, st.booleans(), st.integers(min_value=0, max_value=8)),
    st.tuples(st.just("forge"), people, st.booleans(), forged),
    st.tuples(
        st.just("media"),
        people,
        st.booleans(),
        st.sampled_from(("photo", "sticker", "voice", "document", "location")),
    ),
)
_ids = itertools.count(10_000_000)
_STICKER = {"type": "regular", "width": 10, "height": 10, "is_animated": False, "is_video": False}


def _media(kind: str) -> dict[str, Any]:
    file = {"file_id": f"f{next(_ids)}", "file_unique_id": f"u{next(_ids)}"}
    return {
        "photo": {"photo": [{**file, "width": 10, "height": 10}]},
        "sticker": {"sticker": {**file, **_STICKER}},
        "voice": {"voice": {**file, "duration": 3}},
        "document": {"document": file},
        "location": {"location": {"latitude": 58.7, "longitude": 12.4}},
    }[kind]


class Driver:
    """Sends one action as the person it names, in their private chat or the group."""

    def __init__(self, standin: BotApiStandIn) -> None:
        self.standin = standin
        self.users: dict[int, SimUser] = {
            ADMIN_ID: standin.user(ADMIN_ID, "Astrid", username="astrid"),
            STAFF: standin.user(STAFF, "Stina"),
            STRANGER: standin.user(STRANGER, "Sven"),
        }
        self.sent: dict[tuple[int, int], dict[str, Any]] = {}

    async def run(self, action: tuple[str, int, bool, Any]) -> None:
        kind, who, in_group, value = action
        person = self.users[who]
        chat_id = GROUP if in_group else who
        if kind == "text":
            self.sent[(who, chat_id)] = await person.send(str(value), chat_id=chat_id)
        elif kind == "edit":
            earlier = self.sent.get((who, chat_id))
            if earlier is not None:
                await person.edit(earlier, str(value))
        elif kind in ("tap", "forge"):
            shown = self._bot_message(chat_id)
            if shown is not None:
                buttons = [
                    b
                    for row in (shown.get("reply_markup") or {}).get("inline_keyboard", [])
                    for b in row
                ]
                if kind == "forge":
                    await person.press(shown, 0, data=str(value)[:64])
                elif buttons:
                    await person.press(shown, int(value) % len(buttons))
        else:
            message = {
                "message_id": next(self.standin._message_ids),
                "from": person.user,
                "chat": self.standin.chats[chat_id],
                "date": int(time.time()),
                **_media(str(value)),
            }
            await self.standin.push_update({"message": message})

    def _bot_message(self, chat_id: int) -> dict[str, Any] | None:
        sent = [e for e in self.standin.sent_messages(chat_id) if e.message.get("message_id")]
        if not sent:
            return None
        latest = sent[-1].message
        return self.standin.messages.get((chat_id, latest["message_id"]), latest)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(actions, min_size=1, max_size=25))
async def test_no_update_sequence_ends_in_an_error(
    app: DalsbotApp,
    standin: BotApiStandIn,
    caplog: pytest.LogCaptureFixture,
    sequence: list[tuple[str, int, bool, Any]],
) -> None:
    # The app lives across hypothesis's examples: register the staff member once.
    if app.bot_data.db.call(lambda s: staff_store.get_staff(s, telegram_id=STAFF)) is None:
        add_staff(app.bot_data.db, STAFF, "Stina Ek")
    standin.group(GROUP)
    caplog.clear()
    caplog.set_level(logging.ERROR)
    driver = Driver(standin)
    for action in sequence:
        await driver.run(action)
        await asyncio.sleep(0.005)
    # Let the bot finish what it was sent.
    await asyncio.sleep(0.3)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], (sequence, errors)


async def test_every_command_and_its_buttons_from_everyone_everywhere(
    app: DalsbotApp, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """A sweep the random sequences may miss: every command, from the admin, a staff member
    and a stranger, in a private chat and a group; then every button of each reply, an edit
    of the command, a forged press per button prefix and a photo."""
    add_staff(app.bot_data.db, STAFF, "Stina Ek")
    standin.group(GROUP)
    caplog.set_level(logging.ERROR)
    driver = Driver(standin)
    for who in (ADMIN_ID, STAFF, STRANGER):
        for in_group in (False, True):
            for command in COMMANDS:
                await driver.run(("text", who, in_group, command))
                await asyncio.sleep(0.02)
                for index in range(4):
                    await driver.run(("tap", who, in_group, index))
                    await asyncio.sleep(0.01)
                await driver.run(("edit", who, in_group, command + " x"))
                await driver.run(("text", who, in_group, "/cancel"))
            for prefix in PREFIXES:
                await driver.run(("forge", who, in_group, f"{prefix}:1:x"))
            await driver.run(("media", who, in_group, "photo"))
    await asyncio.sleep(0.5)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
