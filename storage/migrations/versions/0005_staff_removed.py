"""Staff removal: when a person's access was taken away.

An invitation made before that moment no longer registers them again (removal means
removal: they come back only through a new invitation).

Revision ID: 0005_staff_removed
Revises: 0001_core
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0005_staff_removed"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("staff_removed",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("removed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("removed_at")
