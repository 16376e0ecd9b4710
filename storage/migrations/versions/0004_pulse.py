"""Pulse: anonymous pulse feedback (pulses, answers, scores, who-has-answered markers).

The answer, score and marker tables are WITHOUT ROWID on SQLite so that no hidden,
insertion-ordered row number can link a marker to an answer (see storage/pulse/models.py).
"""

import sqlalchemy as sa
from alembic import op

from storage.columns import id_key, moment, owned_by, staff_ref


def upgrade() -> None:
    op.create_table(
        "pulse",
        id_key(),
        sa.Column("token", sa.String(32), nullable=False, unique=True),
        sa.Column("template_key", sa.String(24), nullable=False),
        sa.Column("template_version", sa.String(12), nullable=False),
        sa.Column("template_snapshot", sa.Text(), nullable=False),
        sa.Column("label", sa.String(60), nullable=False),
        sa.Column("municipality", sa.String(16), nullable=False),
        staff_ref("organiser_id", nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        moment("created_at", nullable=False),
        moment("closes_at", nullable=False),
        moment("closed_at", nullable=True),
        moment("notified_at", nullable=True),
    )
    op.create_index("ix_pulse_template_key", "pulse", ["template_key"])
    op.create_index("ix_pulse_municipality", "pulse", ["municipality"])
    op.create_index("ix_pulse_organiser_id", "pulse", ["organiser_id"])
    op.create_index("ix_pulse_closes_at", "pulse", ["closes_at"])
    op.create_table(
        "pulse_answer",
        sa.Column("id", sa.String(32), primary_key=True),
        owned_by("pulse_id", "pulse", nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_pulse_answer_pulse_id", "pulse_answer", ["pulse_id"])
    op.create_table(
        "pulse_score",
        sa.Column(
            "answer_id",
            sa.String(32),
            sa.ForeignKey("pulse_answer.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("question_key", sa.String(16), primary_key=True),
        owned_by("pulse_id", "pulse", nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_pulse_score_group", "pulse_score", ["pulse_id", "question_key", "score"])
    op.create_table(
        "pulse_respondent",
        owned_by("pulse_id", "pulse", primary_key=True),
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("pulse_respondent")
    op.drop_index("ix_pulse_score_group", table_name="pulse_score")
    op.drop_table("pulse_score")
    op.drop_index("ix_pulse_answer_pulse_id", table_name="pulse_answer")
    op.drop_table("pulse_answer")
    for name in ("closes_at", "organiser_id", "municipality", "template_key"):
        op.drop_index(f"ix_pulse_{name}", table_name="pulse")
    op.drop_table("pulse")


# Alembic: this revision, the one it follows, and its feature branch.
revision, down_revision = "0004_pulse", "0001_core"
branch_labels = ("pulse",)
