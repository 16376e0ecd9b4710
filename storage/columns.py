"""Column builders the migrations share (storage/migrations/versions/).

Migrations that have run must keep meaning what they meant: never change what these build;
add a new builder instead.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from storage.types import UTCDateTime


def id_key() -> sa.Column[Any]:
    """``id``: the integer primary key."""
    return sa.Column("id", sa.Integer(), primary_key=True)


def staff_ref(name: str, **options: Any) -> sa.Column[Any]:
    """A reference to a staff member (``staff.id``)."""
    return sa.Column(name, sa.Integer(), sa.ForeignKey("staff.id"), **options)


def owned_by(name: str, table: str, **options: Any) -> sa.Column[Any]:
    """A reference to ``table.id`` whose rows go when that row goes (``ON DELETE CASCADE``)."""
    return sa.Column(
        name, sa.Integer(), sa.ForeignKey(f"{table}.id", ondelete="CASCADE"), **options
    )


def moment(name: str, **options: Any) -> sa.Column[Any]:
    """An aware point in time, stored as UTC."""
    return sa.Column(name, UTCDateTime(), **options)
