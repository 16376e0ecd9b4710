"""The command menu each staff member's chat was last given (a digest of it), so the bot sets
a chat's menu again only when it changed: start-up with 1,000 staff costs no calls when
nothing changed."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from storage.people.models import Staff
from storage.types import UTCDateTime


# CommandMenu: a chat's menu as last set (a digest of its commands and descriptions).
class CommandMenu(SQLModel, table=True):
    __tablename__ = "command_menu"

    chat_id: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    digest: str = Field(max_length=32)
    updated_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class MenuHolder(NamedTuple):
    """What a staff member's menu depends on."""

    telegram_id: int
    role: str
    language: str


def menus_to_check(session: Session) -> tuple[list[MenuHolder], dict[int, str]]:
    """Every active staff member's chat, role and language, and the digest of the menu each
    chat was last given (columns, not objects: 116,000 staff load in a fraction of a second
    instead of 12)."""
    people = session.exec(
        select(Staff.telegram_id, Staff.role, Staff.language).where(col(Staff.active).is_(True))
    )
    known = session.exec(select(CommandMenu.chat_id, CommandMenu.digest))
    return [MenuHolder(*row) for row in people], dict(known.all())


def menu_digest(session: Session, *, chat_id: int) -> str | None:
    """The digest of the menu ``chat_id`` was last given, if any."""
    row = session.get(CommandMenu, chat_id)
    return row.digest if row is not None else None


def menu_set(session: Session, *, chat_id: int, digest: str | None, now: dt.datetime) -> None:
    """Record that ``chat_id`` was given the menu ``digest`` (None: its own menu removed)."""
    row = session.get(CommandMenu, chat_id)
    if digest is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        # Replicas starting together may record the same chat at once: insert or update.
        insert = _dialect_insert(session.get_bind().dialect.name)
        values = {"chat_id": chat_id, "digest": digest, "updated_at": now}
        session.execute(
            insert(CommandMenu.__table__)  # type: ignore[attr-defined]
            .values(**values)
            .on_conflict_do_update(index_elements=["chat_id"], set_=values)
        )
        return
    row.digest, row.updated_at = digest, now
    session.add(row)


def _dialect_insert(dialect: str) -> Any:
    """The database's own ``insert`` (with ON CONFLICT). Its dialect module is imported here,
    not with this module: the PostgreSQL one would cost a start on SQLite about 25 ms."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert
