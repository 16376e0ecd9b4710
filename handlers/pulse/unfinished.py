"""Unfinished pulse answers, kept in the database by keyed hashes only
(storage/pulse/drafts.py), so a restart or another process loses no tap; dropped when sent,
15 minutes after the last tap, or when the pulse closes (the person is told at once by the
process that showed it)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from pydantic import TypeAdapter
from sqlmodel import Session
from telegram.error import BadRequest, Forbidden, NetworkError

from bot.context import BotContext
from bot.i18n import Lang, as_lang, t
from handlers.pulse.common import pulse_secret
from storage.pulse import drafts as drafts_store
from storage.pulse import store as pulse_store
from storage.pulse.drafts import PulseDraftRow
from storage.pulse.logic import PulseAnswerDraft
from storage.pulse.models import Pulse
from storage.pulse.templates import Template

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class DraftEntry:
    """One person's unfinished answer and the message that shows it."""

    draft: PulseAnswerDraft
    template: Template
    label: str
    lang: Lang
    message_id: int = 0
    awaiting_comment: bool = False
    # The personal link it was opened with (an invited-only pulse), used up when sent.
    invite: str | None = None


@dataclass(frozen=True)
class _Stored:
    """What is written of an entry: all but the template, which is read from its pulse."""

    draft: PulseAnswerDraft
    label: str
    lang: str
    message_id: int
    awaiting_comment: bool
    invite: str | None


_STORED: Final = TypeAdapter(_Stored)


class DraftChats(dict[str, int]):
    """Draft key → chat id of the unfinished answers this process showed, in memory only (the
    database holds no chat id): to tell people at once when their answer is dropped."""


def _keys(context: BotContext, pulse_id: int, user_id: int) -> tuple[str, str]:
    secret = pulse_secret(context)
    return drafts_store.draft_key(secret, pulse_id, user_id), _owner(context, user_id)


def _owner(context: BotContext, user_id: int) -> str:
    return drafts_store.owner_key(pulse_secret(context), user_id)


def _template(pulse_id: int, snapshot: str) -> Template:
    # A pulse's template snapshot never changes: read once (cached by the store), not at
    # every tap.
    return pulse_store.template_of_snapshot(snapshot)


def _entry(row: PulseDraftRow, pulse: Pulse) -> DraftEntry:
    assert pulse.id is not None
    return _entry_of(row.data, pulse.id, pulse.template_snapshot)


def _entry_of(data: str, pulse_id: int, snapshot: str) -> DraftEntry:
    stored = _STORED.validate_json(data)
    template = _template(pulse_id, snapshot)
    return DraftEntry(
        stored.draft,
        template,
        stored.label,
        as_lang(stored.lang),
        stored.message_id,
        stored.awaiting_comment,
        stored.invite,
    )


def _columns(entry: DraftEntry) -> dict[str, Any]:
    """What a row holds of ``entry`` (all but the template, which is read from its pulse)."""
    stored = _Stored(
        entry.draft, entry.label, entry.lang, entry.message_id, entry.awaiting_comment, entry.invite
    )
    return {
        "data": _STORED.dump_json(stored).decode(),
        # Only the explicit comment step takes text (a late comment is caught after a drop).
        "at_comment": entry.awaiting_comment,
        "expires_at": entry.draft.expires_at,
    }


def _row(key: str, owner: str, pulse_id: int, entry: DraftEntry) -> PulseDraftRow:
    return PulseDraftRow(key=key, owner=owner, pulse_id=pulse_id, **_columns(entry))


async def save_draft(
    context: BotContext, pulse_id: int, user_id: int, entry: DraftEntry, chat_id: int
) -> None:
    """Keep the person's unfinished answer."""
    key, owner = _keys(context, pulse_id, user_id)
    await context.db.run(drafts_store.save, _row(key, owner, pulse_id, entry))
    context.data.services.get_or_add(DraftChats, DraftChats)[key] = chat_id


def draft_keeper(
    context: BotContext, user_id: int, chat_id: int
) -> Callable[[Session, DraftEntry], None]:
    """What keeps a new draft inside another transaction: ``keep(session, entry)``."""
    secret = pulse_secret(context)
    owner = drafts_store.owner_key(secret, user_id)
    chats = context.data.services.get_or_add(DraftChats, DraftChats)

    def keep(session: Session, entry: DraftEntry) -> None:
        pulse_id = entry.draft.pulse_id
        key = drafts_store.draft_key(secret, pulse_id, user_id)
        drafts_store.save(session, _row(key, owner, pulse_id, entry))
        chats[key] = chat_id

    return keep


async def change_draft(
    context: BotContext,
    pulse_id: int,
    user_id: int,
    chat_id: int,
    change: Callable[[DraftEntry], bool],
) -> DraftEntry | None:
    """Read the person's unfinished answer, let ``change`` alter it, and store it again if
    ``change`` returns True: one transaction per tap. None when there is no such answer."""
    key, _owner = _keys(context, pulse_id, user_id)
    read: list[DraftEntry] = []

    def new_columns(found: drafts_store.DraftRead) -> dict[str, Any] | None:
        # Called again if another process changed the draft meanwhile: the last read counts.
        entry = _entry_of(found.data, found.pulse_id, found.template_snapshot)
        read[:] = [entry]
        return _columns(entry) if change(entry) else None

    found = await context.db.run(drafts_store.change, key, new_columns)
    entry = read[0] if found else None
    if entry is not None:
        context.data.services.get_or_add(DraftChats, DraftChats)[key] = chat_id
    return entry


async def take_draft(context: BotContext, pulse_id: int, user_id: int) -> bool:
    """Delete the person's unfinished answer; False when another tap already took it."""
    key, _owner = _keys(context, pulse_id, user_id)
    context.data.services.get_or_add(DraftChats, DraftChats).pop(key, None)
    return await context.db.run(drafts_store.delete, key)


async def take_draft_and(
    context: BotContext, pulse_id: int, user_id: int, then: Callable[[Session], T]
) -> T | None:
    """Delete the person's unfinished answer and run ``then`` in the same transaction; None,
    without running ``then``, when another tap (here or in another process) took it first."""
    key, _owner = _keys(context, pulse_id, user_id)
    context.data.services.get_or_add(DraftChats, DraftChats).pop(key, None)

    def take(session: Session) -> T | None:
        return then(session) if drafts_store.delete(session, key) else None

    return await context.db.run(take)


async def drafts_of(context: BotContext, user_id: int) -> list[tuple[int, DraftEntry]]:
    """The person's unfinished answers (pulse id, entry), the latest to expire first."""
    rows = await context.db.run(drafts_store.of_owner, _owner(context, user_id))
    return [(row.pulse_id, _entry(row, pulse)) for row, pulse in rows]


async def awaiting_comment(
    context: BotContext, user_id: int, now: dt.datetime
) -> tuple[int, DraftEntry] | bool:
    """The person's unfinished answer waiting for their comment (pulse id, entry); else True
    (once) if one was dropped while they were writing a comment (a late comment), else False.
    One database transaction, read-only unless a late comment is taken."""
    found = await context.db.run(drafts_store.awaiting_comment, _owner(context, user_id), now)
    if isinstance(found, bool):
        return found
    return found.pulse_id, _entry_of(found.data, found.pulse_id, found.template_snapshot)


async def end_dropped(context: BotContext, rows: list[PulseDraftRow], key: str) -> None:
    """Replace the answering messages of dropped unfinished answers with the text ``key``
    (where this process showed them; elsewhere the person learns it at their next tap)."""
    chats = context.data.services.get_or_add(DraftChats, DraftChats)
    for row in rows:
        chat_id = chats.pop(row.key, None)
        if chat_id is None:
            continue
        stored = _STORED.validate_json(row.data)
        try:
            await context.bot.edit_message_text(
                t(key, as_lang(stored.lang)), chat_id=chat_id, message_id=stored.message_id
            )
        except (BadRequest, Forbidden, NetworkError):
            logger.debug("A dropped pulse answer's message could not be updated")


async def drop_drafts_of_closed(context: BotContext, pulse_ids: list[int]) -> None:
    """The pulses closed: their unfinished answers can no longer be sent. Forget them, empty
    SQLite's write-ahead log (so neither they nor the deleted markers linger there), and tell
    the people now rather than after their next tap."""
    rows = await context.db.run(drafts_store.drop_of_pulses, pulse_ids, context.now())
    await context.db.truncate_log_async()
    await end_dropped(context, rows, "pulse.closed")
