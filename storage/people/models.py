"""People and access: staff members and the invitations that let them in."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class Role(StrEnum):
    """What a staff member may do; admins may do everything."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    STAFF = "staff"


class Municipality(StrEnum):
    """The five Dalsland municipalities, and the region for people who work across them."""

    BENGTSFORS = "Bengtsfors"
    DALS_ED = "Dals-Ed"
    FARGELANDA = "Färgelanda"
    MELLERUD = "Mellerud"
    AMAL = "Åmål"
    REGION = "region"


class Organisation(StrEnum):
    """Where a staff member works."""

    SCHOOL = "skola"
    SOCIAL = "socialtjanst"
    HEALTH = "halso_sjukvard"
    POLICE = "polis"
    OTHER = "annan"


# Staff: a registered person (never a child). Removal is a soft delete so plans keep their
# history; a removed person can no longer use the bot.
class Staff(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_column=sa.Column(sa.BigInteger, unique=True, nullable=False))
    display_name: str = Field(max_length=64)
    username: str | None = Field(default=None, max_length=32, index=True)
    role: str = Field(max_length=16)
    municipality: str = Field(max_length=16)
    organisation: str = Field(max_length=16)
    language: str = Field(default="sv", max_length=2)
    active: bool = Field(default=True)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    # When an admin took the person's access away: invitations made before it no longer work
    # for them.
    removed_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )


# Invitation: an unguessable, expiring code an admin hands out; single-use by default.
class Invitation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    municipality: str = Field(max_length=16)
    uses_left: int
    max_uses: int
    expires_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    created_by: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
