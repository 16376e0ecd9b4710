"""The terminal chat of local mode, over the real Application and the stand-in."""

from __future__ import annotations

import io
from pathlib import Path

from bot.context import DalsbotApp
from bot.i18n import t
from bot.shell.local import TerminalChat
from bot.shell.standin import BotApiStandIn


async def test_switching_person_shows_what_they_got_in_the_meantime(
    app: DalsbotApp, standin: BotApiStandIn, tmp_path: Path
) -> None:
    """A message the bot sent to the other person (a forwarded question, a reply) is shown
    when you switch to them, and nothing already shown is printed twice."""
    out = io.StringIO()
    chat = TerminalChat(standin, tmp_path / "files", out)
    await chat.handle_line("/privacy")
    await standin.wait_for(lambda: len(standin.events[chat.user.id]) == 1, timeout=10)
    chat.show_new()
    await chat.handle_line(":user 2000 Bertil")
    await app.bot.send_message(1000, "Fråga från Bertil")  # while you write as Bertil
    await chat.handle_line(":user 1000 Admin")
    printed = out.getvalue()
    assert "🤖 Fråga från Bertil" in printed
    assert printed.count(t("core.privacy_title", "sv")) == 1


async def test_a_button_number_after_switching_is_not_pressed_as_someone_else(
    app: DalsbotApp, standin: BotApiStandIn, tmp_path: Path
) -> None:
    """The numbered buttons belong to the person who saw them."""
    out = io.StringIO()
    chat = TerminalChat(standin, tmp_path / "files", out)
    await chat.handle_line("/language")
    await standin.wait_for(lambda: len(standin.events[chat.user.id]) == 1, timeout=10)
    chat.show_new()
    assert chat.buttons
    await chat.handle_line(":user 2000 Bertil")
    assert chat.buttons == []
