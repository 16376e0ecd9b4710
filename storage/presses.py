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
from sqlmodel import Field, Session, SQLModel, col

from storage.types import UTCDateTime


# ButtonPress: a one-shot button (create the invitation, open the pulse, register, create the
# plan) pressed on one message. The primary key makes a double tap, or the same tap handled
# by two processes, count once; rows older than two days are deleted as new ones come.
class ButtonPress(SQLModel, table=True):
    __tablename__ = "button_press"

    chat_id: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True))
    message_id: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True))
    data: str = Field(primary_key=True, max_length=64)
    pressed_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))


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


def was_pressed(session: Session, *, chat_id: int, message_id: int, data: str) -> bool:
    """Whether ``data`` was claimed on this message (within :data:`KEEP`)."""
    return session.get(ButtonPress, (chat_id, message_id, data)) is not None
