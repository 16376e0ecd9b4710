"""One-shot buttons: a press of a creating or confirming button counts once."""

import sqlalchemy as sa
from alembic import op

from storage.columns import moment


def upgrade() -> None:
    op.create_table(
        "button_press",
        sa.Column("chat_id", sa.BigInteger(), primary_key=True),
        sa.Column("message_id", sa.BigInteger(), primary_key=True),
        sa.Column("data", sa.String(64), primary_key=True),
        moment("pressed_at", nullable=False),
    )
    op.create_index("ix_button_press_pressed_at", "button_press", ["pressed_at"])


def downgrade() -> None:
    op.drop_index("ix_button_press_pressed_at", "button_press")
    op.drop_table("button_press")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0006_button_press", "0001_core"
branch_labels = ("button_press",)
