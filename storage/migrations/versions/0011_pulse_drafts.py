"""Unfinished pulse answers in the database, keyed by HMAC (no user id, no chat id)."""

import sqlalchemy as sa
from alembic import op

from storage.columns import moment, owned_by


def upgrade() -> None:
    op.create_table(
        "pulse_draft",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False, index=True),
        owned_by("pulse_id", "pulse", nullable=False, index=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("at_comment", sa.Boolean(), nullable=False),
        moment("expires_at", nullable=False, index=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "pulse_late_comment",
        sa.Column("owner", sa.String(64), primary_key=True),
        moment("until", nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("pulse_late_comment")
    op.drop_table("pulse_draft")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0011_pulse_drafts", "0009_pulse_invites"
