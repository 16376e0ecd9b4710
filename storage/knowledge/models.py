"""The knowledge base's memory: questions asked, 👍/👎 on answers, questions to coordinators.

Question texts are stored only after the personal-data guard and are cleared after 90 days
(``storage.knowledge.store.purge_old_questions``); what remains is enough for statistics.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class QuestionKind(StrEnum):
    """How an answer card came about."""

    QUESTION = "question"  # someone asked in words
    BROWSE = "browse"  # someone opened an article from a button (no text is kept)


# KbQuestion: one answer card shown. ``question`` and ``staff_id`` (the asker) are kept for
# at most 90 days so that votes, forwarding to a coordinator and /kb_gaps work.
class KbQuestion(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    question: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    kind: str = Field(default=QuestionKind.QUESTION.value, max_length=8)
    answered: bool
    emergency: bool = Field(default=False)
    article_id: str | None = Field(default=None, max_length=64)
    lang: str = Field(max_length=2)
    confidence: float | None = None
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False, index=True)
    )
    # The chat the card was sent in: in a group, its members may rate it too.
    chat_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))


# KbFeedback: one person's 👍 (+1) or 👎 (-1) on one answer card; changing it updates the row.
class KbFeedback(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("question_id", "staff_id", name="uq_kbfeedback_once"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="kbquestion.id", index=True, ondelete="CASCADE")
    staff_id: int = Field(foreign_key="staff.id")
    vote: int
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )


# KbCoordinatorQuestion: a question forwarded to the asker's municipality's coordinators, and
# the one reply that reaches the asker. Both texts are cleared after 90 days.
class KbCoordinatorQuestion(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    question_id: int | None = Field(
        default=None, foreign_key="kbquestion.id", unique=True, ondelete="SET NULL"
    )
    asker_id: int = Field(foreign_key="staff.id", index=True)
    municipality: str = Field(max_length=16)
    question: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    answered_by: int | None = Field(default=None, foreign_key="staff.id")
    answer: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False, index=True)
    )
    answered_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )


# KbCoordinatorRecipient: who received a forwarded question (only they may reply to it).
class KbCoordinatorRecipient(SQLModel, table=True):
    coordinator_question_id: int = Field(
        foreign_key="kbcoordinatorquestion.id", primary_key=True, ondelete="CASCADE"
    )
    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
