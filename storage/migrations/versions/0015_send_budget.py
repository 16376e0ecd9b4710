"""The send budget shared by every bot process on one token (storage/sendbudget.py): one row
per token (when its next message may start) and one per chat (when the next message to that
chat may start)."""

import sqlalchemy as sa
from alembic import op

from storage.columns import moment


def upgrade() -> None:
    op.create_table(
        "send_budget",
        sa.Column("bot_key", sa.String(32), primary_key=True),
        moment("next_at", nullable=False),
    )
    op.create_table(
        "send_chat",
        sa.Column("bot_key", sa.String(32), primary_key=True),
        sa.Column("chat_id", sa.BigInteger(), primary_key=True),
        moment("next_at", nullable=False),
    )


def downgrade() -> None:
    op.drop_table("send_chat")
    op.drop_table("send_budget")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0015_send_budget", "0001_core"
branch_labels = ("send_budget",)
