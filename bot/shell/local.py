"""Local mode: the Bot API stand-in, the real bot against it, and a chat in the terminal.

Type a message and press Enter; press a button by typing its number. ``:user N NAME``
switches to another simulated person (to try an invitation), ``:quit`` (or Ctrl-D) ends.
Documents and pictures the bot sends are saved under ``data/local-files/`` and shown by
file name. The local person is an admin, so every feature can be tried.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bot.settings import Settings
from bot.shell.app import build_application, running
from bot.shell.standin import BotApiStandIn, ChatEvent
from storage.migrate import open_database
from storage.people.store import ensure_admin

LOCAL_USER_ID = 1000


class TerminalChat:
    """Prints what the bot does in the current person's chat; turns typed lines into updates."""

    def __init__(self, standin: BotApiStandIn, files_dir: Path, out: TextIO) -> None:
        self.standin, self.files_dir, self.out = standin, files_dir, out
        self.user = standin.user(LOCAL_USER_ID, "Admin", username="lokal_admin")
        self.buttons: list[tuple[ChatEvent, int, str]] = []
        # Per person: how many of their chat's events were printed. What the bot sent a person
        # while you wrote as someone else (a forwarded question, a reply) shows when you switch.
        self.printed: dict[int, int] = {}

    def switch(self, user_id: int, name: str) -> None:
        """Continue as another simulated person, showing what they got in the meantime."""
        self.user = self.standin.user(user_id, name)
        self.buttons = []
        self.say(f"— Du skriver nu som {name} (id {user_id}) —")
        self.show_new()

    def say(self, line: str) -> None:
        """Print one line of the chat."""
        self.out.write(line + "\n")
        self.out.flush()

    def show_new(self) -> None:
        """Print everything the bot did since the last call."""
        events = self.standin.events[self.user.id]
        for event in events[self.printed.get(self.user.id, 0) :]:
            self._show(event)
        self.printed[self.user.id] = len(events)

    def _show(self, event: ChatEvent) -> None:
        if event.kind == "answer":
            self.say(f"  ⚠ {event.text}")
            return
        if event.kind == "delete":
            return
        prefix = "✎ " if event.kind == "edit" else ""
        if event.file_name:
            path = self._save_file(event)
            self.say(f"🤖 {prefix}[fil: {path}]")
        if event.text:
            # As the phone shows it: an expandable quote collapsed to its first lines.
            self.say("🤖 " + prefix + event.visible_text.replace("\n", "\n   "))
        rows = (event.message.get("reply_markup") or {}).get("inline_keyboard", [])
        if rows:
            self._show_keyboard(event, rows)

    def _show_keyboard(self, event: ChatEvent, rows: list[list[dict[str, Any]]]) -> None:
        """One line per keyboard row (a calendar stays a calendar); only pressable buttons get
        a number, so padding and past days do not crowd the numbering."""
        self.buttons = []
        index = 0
        for row in rows:
            cells = []
            for button in row:
                label = str(button["text"]).strip()
                if str(button.get("callback_data", "")).endswith(":noop"):
                    cells.append(label or "  ")
                else:
                    self.buttons.append((event, index, button["text"]))
                    cells.append(f"[{len(self.buttons)}] {label}")
                index += 1
            self.say("   " + "  ".join(cells))

    def _save_file(self, event: ChatEvent) -> Path:
        info = event.message.get("document") or event.message["photo"][-1]
        stored = self.standin.files[info["file_id"]]
        self.files_dir.mkdir(parents=True, exist_ok=True)
        path = self.files_dir / Path(stored.name or "fil").name
        path.write_bytes(stored.content)
        return path

    async def handle_line(self, line: str) -> bool:
        """Act on one typed line; False when the person wants to stop."""
        line = line.strip()
        if line in (":quit", ":q"):
            return False
        if line.startswith(":user"):
            parts = line.split(maxsplit=2)
            if len(parts) >= 2 and parts[1].isdigit():
                self.switch(int(parts[1]), parts[2] if len(parts) > 2 else f"Person {parts[1]}")
            else:
                self.say("Skriv :user NUMMER NAMN, till exempel :user 2000 Bertil")
            return True
        if line.isdigit() and self.buttons and 1 <= int(line) <= len(self.buttons):
            event, index, label = self.buttons[int(line) - 1]
            current = self.standin.messages.get((self.user.id, event.message["message_id"]), {})
            buttons = ChatEvent("send", current).buttons
            if index >= len(buttons) or buttons[index]["text"] != label:
                self.say("   (den knappen finns inte längre)")
            elif "callback_data" in buttons[index]:
                await self.user.press(event, index)
            else:
                self.say(f"   (länk: {buttons[index].get('url')})")
            return True
        if line:
            await self.user.send(line)
        return True


async def run_local(
    settings: Settings, *, read_line: Callable[[], str] | None = None, out: TextIO = sys.stdout
) -> None:
    """Start the stand-in and the bot, then chat in the terminal until :quit or end of input."""
    standin = BotApiStandIn()
    await standin.start()
    settings = settings.model_copy(update={"admins": (*settings.admins, LOCAL_USER_ID)})
    db = open_database(settings.database_url)
    db.call(lambda session: ensure_admin(session, telegram_id=LOCAL_USER_ID, display_name="Admin"))
    app = build_application(settings, db=db, api_root=standin.url)
    chat = TerminalChat(standin, settings.data_dir / "local-files", out)
    reader = read_line or (lambda: input())
    # Lines piped in (a script, a transcript) are shown as typed, as a terminal would echo them.
    echo = read_line is None and not sys.stdin.isatty()
    chat.say(
        "Dalsbot körs lokalt (ingen Telegram-token). Skriv /start eller /hjalp. "
        "Tryck på en knapp genom att skriva dess nummer. Avsluta med :quit."
    )
    async with running(app):
        loop = asyncio.get_running_loop()
        try:
            while True:
                await asyncio.sleep(0.3)
                chat.show_new()
                try:
                    line = await loop.run_in_executor(None, reader)
                except EOFError:
                    break
                if echo and line.strip():
                    chat.say(f"👤 {line.strip()}")
                if not await chat.handle_line(line):
                    break
                await _settle(standin, chat)
        finally:
            chat.show_new()
    await standin.stop()
    db.dispose()


async def _settle(standin: BotApiStandIn, chat: TerminalChat) -> None:
    """Wait briefly for the bot's answer so it prints before the next prompt."""
    before = len(standin.events[chat.user.id])
    with contextlib.suppress(AssertionError):
        await standin.wait_for(lambda: len(standin.events[chat.user.id]) > before, timeout=3)
    await asyncio.sleep(0.2)
    chat.show_new()
