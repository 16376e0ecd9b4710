"""One-shot buttons: the first press of a creating or confirming button wins, on both engines.

A double tap, or two phones of the same person, or the same update handled by two bot
processes, must create one invitation, one pulse, one plan and use one use of an invitation.
The claim is a row whose primary key is (chat, message, button data): the second insert
fails on the constraint, whatever process or thread tries it.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from storage.models import ButtonPress

# Presses are kept this long; a message older than that is not tapped twice by accident.
KEEP = dt.timedelta(days=2)


def claim_press(
    session: Session, *, chat_id: int, message_id: int, data: str, now: dt.datetime
) -> bool:
    """True for the first press of ``data`` on this message, False for any later one."""
    session.execute(sa.delete(ButtonPress).where(col(ButtonPress.pressed_at) < now - KEEP))
    try:
        with session.begin_nested():
            session.add(
                ButtonPress(chat_id=chat_id, message_id=message_id, data=data, pressed_at=now)
            )
    except IntegrityError:
        return False
    return True
