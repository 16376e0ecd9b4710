"""Knowledge base: question log, feedback on answers, questions to coordinators."""

import sqlalchemy as sa
from alembic import op

from storage.columns import id_key, moment, owned_by, staff_ref


def upgrade() -> None:
    op.create_table(
        "kbquestion",
        id_key(),
        staff_ref("staff_id", nullable=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("article_id", sa.String(64), nullable=True),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        moment("created_at", nullable=False),
    )
    op.create_index("ix_kbquestion_staff_id", "kbquestion", ["staff_id"])
    op.create_index("ix_kbquestion_created_at", "kbquestion", ["created_at"])
    op.create_table(
        "kbfeedback",
        id_key(),
        owned_by("question_id", "kbquestion", nullable=False),
        staff_ref("staff_id", nullable=False),
        sa.Column("vote", sa.Integer(), nullable=False),
        moment("created_at", nullable=False),
        moment("updated_at", nullable=False),
        sa.UniqueConstraint("question_id", "staff_id", name="uq_kbfeedback_once"),
    )
    op.create_index("ix_kbfeedback_question_id", "kbfeedback", ["question_id"])
    op.create_table(
        "kbcoordinatorquestion",
        id_key(),
        sa.Column(
            "question_id",
            sa.Integer(),
            sa.ForeignKey("kbquestion.id", ondelete="SET NULL"),
            nullable=True,
            unique=True,
        ),
        staff_ref("asker_id", nullable=False),
        sa.Column("municipality", sa.String(16), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        staff_ref("answered_by", nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        moment("created_at", nullable=False),
        moment("answered_at", nullable=True),
    )
    op.create_index("ix_kbcoordinatorquestion_asker_id", "kbcoordinatorquestion", ["asker_id"])
    op.create_index("ix_kbcoordinatorquestion_created_at", "kbcoordinatorquestion", ["created_at"])
    op.create_table(
        "kbcoordinatorrecipient",
        owned_by("coordinator_question_id", "kbcoordinatorquestion", primary_key=True),
        staff_ref("staff_id", primary_key=True),
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


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0002_knowledge", "0001_core"
branch_labels = ("knowledge",)
