"""Where people are in a conversation (their drafts and steps), so flows survive a restart."""

import sqlalchemy as sa
from alembic import op

from storage.columns import moment


def upgrade() -> None:
    op.create_table(
        "user_state",
        sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("data", sa.Text(), nullable=False),
        moment("updated_at", nullable=False, index=True),
    )
    op.create_table(
        "conversation_state",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("chat_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("state", sa.Integer(), nullable=False),
        moment("updated_at", nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("conversation_state")
    op.drop_table("user_state")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0010_chat_state", "0001_core"
