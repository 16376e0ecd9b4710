"""Command names in both languages: the one table of them, and the rewriting that makes every
name reach the same handlers.

A feature registers its handlers under one name (``/hjalp`` is registered as ``help``); the
Swedish and English menus show the names of :data:`COMMAND_NAMES`, and
:func:`canonical_update` turns any other name of a command in an incoming message into the
registered one before dispatch, so the flows' own ``/cancel`` fallbacks also answer
``/avbryt``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Final

from telegram import Bot, MessageEntity, Update

from bot.context import CommandSpec

# The registered name → (Swedish name, English name). Telegram allows a-z, 0-9 and _ (≤ 32).
COMMAND_NAMES: Final[Mapping[str, tuple[str, str]]] = {
    "start": ("start", "start"),
    "help": ("hjalp", "help"),
    "language": ("sprak", "language"),
    "privacy": ("integritet", "privacy"),
    "cancel": ("avbryt", "cancel"),
    "settings": ("installningar", "settings"),
    "fraga": ("fraga", "ask"),
    "artiklar": ("artiklar", "articles"),
    "ny_plan": ("ny_plan", "new_plan"),
    "planer": ("planer", "plans"),
    "plan": ("plan", "plan"),
    "puls": ("puls", "pulse"),
    "puls_resultat": ("puls_resultat", "pulse_results"),
    "puls_trend": ("puls_trend", "pulse_trend"),
    "mina_data": ("mina_data", "my_data"),
    "invite": ("bjud_in", "invite"),
    "staff": ("medarbetare", "staff"),
    "kb_reload": ("kb_reload", "kb_reload"),
    "kb_gaps": ("kb_gaps", "kb_gaps"),
    "kb_artikel": ("kb_artikel", "kb_article"),
}


def named(specs: Sequence[CommandSpec]) -> list[CommandSpec]:
    """The commands with their names in both languages; a command that is only another
    name of one listed before it (``/ask`` beside ``/fraga``) is left out."""
    result: list[CommandSpec] = []
    taken: set[str] = set()
    for spec in specs:
        sv, en = COMMAND_NAMES.get(spec.command, (spec.sv, spec.en))
        spec = dataclasses.replace(spec, sv=sv or spec.command, en=en or spec.command)
        if spec.command in taken:
            continue
        taken |= spec.names()
        result.append(spec)
    return result


def alias_map(specs: Sequence[CommandSpec]) -> dict[str, str]:
    """Every other name of a command → its registered name."""
    return {name: spec.command for spec in specs for name in spec.names() if name != spec.command}


def canonical_update(update: object, aliases: Mapping[str, str], bot: Bot) -> object:
    """``update`` with another name of a command at the start of its message replaced by the
    registered name (``/avbryt@bot x`` → ``/cancel@bot x``); any other update unchanged."""
    if not isinstance(update, Update) or update.message is None or not aliases:
        return update
    message = update.message
    text = message.text or ""
    first = next(iter(message.entities), None)
    if first is None or first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return update
    command, at, mention = text[1 : first.length].partition("@")
    canonical = aliases.get(command.lower())
    if canonical is None:
        return update
    new_command = f"/{canonical}{at}{mention}"
    shift = len(new_command) - first.length
    data = update.to_dict()
    data["message"]["text"] = new_command + text[first.length :]
    for index, entity in enumerate(data["message"].get("entities", [])):
        if index == 0:
            entity["length"] = len(new_command)
        else:
            entity["offset"] += shift
    return Update.de_json(data, bot)
