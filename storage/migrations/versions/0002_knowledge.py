"""Knowledge base: question log, feedback on answers, questions to coordinators.

Revision ID: 0002_knowledge
Revises: 0001_core
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0002_knowledge"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("knowledge",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kbquestion",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("article_id", sa.String(64), nullable=True),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_kbquestion_staff_id", "kbquestion", ["staff_id"])
    op.create_index("ix_kbquestion_created_at", "kbquestion", ["created_at"])
    op.create_table(
        "kbfeedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "question_id",
            sa.Integer(),
            sa.ForeignKey("kbquestion.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("vote", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("question_id", "staff_id", name="uq_kbfeedback_once"),
    )
    op.create_index("ix_kbfeedback_question_id", "kbfeedback", ["question_id"])
    op.create_table(
        "kbcoordinatorquestion",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "question_id",
            sa.Integer(),
            sa.ForeignKey("kbquestion.id", ondelete="SET NULL"),
            nullable=True,
            unique=True,
        ),
        sa.Column("asker_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("municipality", sa.String(16), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.Integer(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_kbcoordinatorquestion_asker_id", "kbcoordinatorquestion", ["asker_id"])
    op.create_index("ix_kbcoordinatorquestion_created_at", "kbcoordinatorquestion", ["created_at"])
    op.create_table(
        "kbcoordinatorrecipient",
        sa.Column(
            "coordinator_question_id",
            sa.Integer(),
            sa.ForeignKey("kbcoordinatorquestion.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("kbcoordinatorrecipient")
    op.drop_index("ix_kbcoordinatorquestion_created_at", table_name="kbcoordinatorquestion")
    op.drop_index("ix_kbcoordinatorquestion_asker_id", table_name="kbcoordinatorquestion")
    op.drop_table("kbcoordinatorquestion")
    op.drop_index("ix_kbfeedback_question_id", table_name="kbfeedback")
    op.drop_table("kbfeedback")
    op.drop_index("ix_kbquestion_created_at", table_name="kbquestion")
    op.drop_index("ix_kbquestion_staff_id", table_name="kbquestion")
    op.drop_table("kbquestion")
