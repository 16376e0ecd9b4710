"""One-shot buttons: a press of a creating or confirming button counts once.

Revision ID: 0006_button_press
Revises: 0001_core
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0006_button_press"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("button_press",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "button_press",
        sa.Column("chat_id", sa.BigInteger(), primary_key=True),
        sa.Column("message_id", sa.BigInteger(), primary_key=True),
        sa.Column("data", sa.String(64), primary_key=True),
        sa.Column("pressed_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_button_press_pressed_at", "button_press", ["pressed_at"])


def downgrade() -> None:
    op.drop_index("ix_button_press_pressed_at", "button_press")
    op.drop_table("button_press")
