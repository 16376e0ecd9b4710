"""The chat an answer card was sent in, so that only its asker or, in a group, the group's
members may rate it (a forged vote from elsewhere is refused).

Revision ID: 0008_card_chat
Revises: 0002_knowledge
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_card_chat"
down_revision: str | None = "0002_knowledge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kbquestion") as batch:
        batch.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kbquestion") as batch:
        batch.drop_column("chat_id")
