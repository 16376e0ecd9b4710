"""Core: staff members and invitations.

Revision ID: 0001_core
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from storage.columns import id_key, moment


def upgrade() -> None:
    op.create_table(
        "staff",
        id_key(),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("username", sa.String(32), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("municipality", sa.String(16), nullable=False),
        sa.Column("organisation", sa.String(16), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        moment("created_at", nullable=False),
    )
    op.create_index("ix_staff_username", "staff", ["username"])
    op.create_table(
        "invitation",
        id_key(),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("municipality", sa.String(16), nullable=False),
        sa.Column("uses_left", sa.Integer(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        moment("expires_at", nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        moment("created_at", nullable=False),
    )


def downgrade() -> None:
    op.drop_table("invitation")
    op.drop_index("ix_staff_username", table_name="staff")
    op.drop_table("staff")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0001_core", None
