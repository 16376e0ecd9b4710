"""The knowledge base's articles in the database: versions, example questions, editors.

The Markdown files in ``knowledge/articles`` are the seed and the reviewed source in the
repository; the database holds what the bot answers from. Every change is a new row in
``kb_article_version`` (who, when, proposed/approved/rejected); ``kb_article`` points at the
approved version and carries the article's owner (a person), review interval and review date.
Example questions accepted from real questions live in ``kb_example_question`` and are merged
into the article's questions. ``kb_revision`` is one counter, bumped on every approved change,
that every bot process compares cheaply to know when to rebuild its search index.

Everything that enters here from a chat passes the personal-data guard again
(:func:`personal_data_in`): a personnummer is refused, and so is a common first name that is
not a word of the knowledge base itself (or is written as a name, capitalised, in mid-sentence).

Functions take the session first and never commit (the caller's unit of work does).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Final

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from bot.guard import contains_identity_number, normalise
from knowledge.articles import ARTICLES_DIR, Article, first_paragraph
from knowledge.check import MAX_SHORT_ANSWER
from storage.db import Database
from storage.knowledge import models as _questions  # noqa: F401  (kbquestion, referenced below)
from storage.people.models import Role, Staff
from storage.plans.references import first_names, fold
from storage.types import UTCDateTime, utcnow

# The fields a version holds besides its bookkeeping, in front-matter order.
CONTENT_FIELDS: Final = ("title", "questions", "tags", "related", "sources", "owner", "body")
LIST_FIELDS: Final = ("questions", "tags", "related", "sources")
# What a proposal may change: the content fields, the short answer (the body's first
# paragraph) and one question added or removed.
CHANGE_KEYS: Final = frozenset({*CONTENT_FIELDS, "short_answer", "add_question", "remove_question"})
MAX_TITLE: Final = 200
MAX_NOTE: Final = 200
MAX_QUESTION: Final = 300
MAX_NUMBER_ATTEMPTS: Final = 5


class VersionState(StrEnum):
    """Where a version stands."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


# KbArticle: one article in one language as the bot answers it: the approved version's number,
# its owner (a person) and review interval (None: settings.kb_review_days), its review date.
# ``imported_at``: when the seed last matched (imported or confirmed); ``changed_at``: the last
# approved change made in chat (a version or an example question).
class KbArticle(SQLModel, table=True):
    __tablename__ = "kb_article"

    id: str = Field(primary_key=True, max_length=64)
    lang: str = Field(primary_key=True, max_length=2)
    version_no: int
    owner_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    review_days: int | None = None
    reviewed: dt.date
    reviewed_by: int | None = Field(default=None, foreign_key="staff.id")
    imported_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    changed_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )


# KbArticleVersion: every state an article had or was proposed to have, in full. ``no`` counts
# per article and language; ``base_no`` is the approved version a proposal started from and
# ``changed`` the fields it changes (applied again on top of a newer approved version).
# ``created_by`` is None for `dalsbot kb import`.
class KbArticleVersion(SQLModel, table=True):
    __tablename__ = "kb_article_version"
    __table_args__ = (
        sa.UniqueConstraint("article_id", "lang", "no", name="uq_kb_article_version_no"),
        sa.Index("ix_kb_article_version_article", "article_id", "lang"),
    )

    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(max_length=64)
    lang: str = Field(max_length=2)
    no: int
    base_no: int | None = None
    title: str = Field(max_length=MAX_TITLE)
    questions: list[str] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    tags: list[str] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    related: list[str] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    sources: list[str] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    owner: str = Field(max_length=200)
    body: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    changed: list[str] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    state: str = Field(max_length=10, index=True)
    created_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    decided_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    note: str | None = Field(default=None, max_length=MAX_NOTE)


# KbExampleQuestion: a question an editor accepted for an article (often an unanswered real
# question, then ``source_question_id``). Removing keeps the row with ``removed_at``.
class KbExampleQuestion(SQLModel, table=True):
    __tablename__ = "kb_example_question"
    __table_args__ = (sa.Index("ix_kb_example_question_article", "article_id", "lang"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(max_length=64)
    lang: str = Field(max_length=2)
    text: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    added_by: int | None = Field(default=None, foreign_key="staff.id")
    added_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    source_question_id: int | None = Field(
        default=None, foreign_key="kbquestion.id", ondelete="SET NULL"
    )
    removed_by: int | None = Field(default=None, foreign_key="staff.id")
    removed_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )


# KbRevision: one row (id 1); ``revision`` goes up by one on every approved change.
class KbRevision(SQLModel, table=True):
    __tablename__ = "kb_revision"

    id: int = Field(primary_key=True)
    revision: int
    changed_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )


# KbEditor: a staff member an admin made an editor of the knowledge base (admins always are).
class KbEditor(SQLModel, table=True):
    __tablename__ = "kb_editor"

    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
    granted_by: int | None = Field(default=None, foreign_key="staff.id")
    granted_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )


# --- The personal-data guard, again -------------------------------------------------------


class PersonalDataError(ValueError):
    """Text that may not enter the knowledge base; ``key`` names the reason for the catalogue
    (``kb.refused_personnummer``, ``kb.refused_name``), ``word`` the name found."""

    def __init__(self, key: str, word: str = "") -> None:
        super().__init__(key if not word else f"{key}: {word}")
        self.key = key
        self.word = word


_WORD: Final = re.compile(r"[^\W\d_]+")
_SENTENCE_START: Final = re.compile(r"(?:^|[.!?:]\s+|\n\s*)$")


def personal_data_in(text: str, vocabulary: Iterable[str] = ()) -> PersonalDataError | None:
    """Why ``text`` may not be kept (a personnummer; a first name that may be a child's), or None.

    A common first name counts unless it is also a word of ``vocabulary`` (the knowledge base's
    own words: "inga", "age", "mina" are names in some list but ordinary words here) and is
    not written as a name: capitalised after the first word of a sentence.
    """
    text = normalise(text)
    if contains_identity_number(text):
        return PersonalDataError("kb.refused_personnummer")
    names = first_names()
    known = vocabulary if isinstance(vocabulary, set | frozenset) else set(vocabulary)
    for match in _WORD.finditer(text):
        word = match.group()
        folded = fold(word)
        candidates = [folded]
        if folded.endswith("s") and len(folded) > 3:
            candidates.append(folded[:-1])
        if not any(c in names for c in candidates):
            continue
        as_name = word[:1].isupper() and not _SENTENCE_START.search(text[: match.start()])
        if folded in known and not as_name:
            continue
        return PersonalDataError("kb.refused_name", word)
    return None


def vocabulary(session: Session) -> frozenset[str]:
    """Every word (folded) of the approved articles: titles, questions, bodies."""
    words: set[str] = set()
    for article in current_articles(session):
        for text in (article.title, article.body, *article.questions, *article.tags):
            words.update(fold(w) for w in _WORD.findall(text))
    return frozenset(words)


def check_text(session: Session, text: str) -> str:
    """``text`` normalised, or :class:`PersonalDataError` when it may not be kept."""
    clean = normalise(text).strip()
    problem = personal_data_in(clean, vocabulary(session))
    if problem is not None:
        raise problem
    return clean


# --- Values handed out ---------------------------------------------------------------------


@dataclass(frozen=True)
class Content:
    """An article's content fields (what a version holds and the Markdown file carries)."""

    title: str
    questions: tuple[str, ...]
    tags: tuple[str, ...]
    related: tuple[str, ...]
    sources: tuple[str, ...]
    owner: str
    body: str

    @classmethod
    def of(cls, article: Article) -> Content:
        return cls(
            article.title,
            tuple(article.questions),
            tuple(article.tags),
            tuple(article.related),
            tuple(article.sources),
            article.owner,
            article.body.strip(),
        )

    @classmethod
    def of_version(cls, row: KbArticleVersion) -> Content:
        return cls(
            row.title,
            tuple(row.questions),
            tuple(row.tags),
            tuple(row.related),
            tuple(row.sources),
            row.owner,
            row.body,
        )

    @property
    def short_answer(self) -> str:
        return first_paragraph(self.body)

    def article(self, article_id: str, lang: str, reviewed: dt.date) -> Article:
        return Article(
            id=article_id,
            lang=lang,
            title=self.title,
            questions=self.questions,
            tags=self.tags,
            related=self.related,
            sources=self.sources,
            owner=self.owner,
            reviewed=reviewed,
            body=self.body,
            short_answer=self.short_answer,
            path=ARTICLES_DIR / lang / f"{article_id}.md",
        )


@dataclass(frozen=True)
class Version:
    """One version of an article (a plain value, safe to hand to another thread)."""

    id: int
    article_id: str
    lang: str
    no: int
    base_no: int | None
    state: VersionState
    content: Content
    changed: tuple[str, ...]
    created_by: int | None
    created_at: dt.datetime
    decided_by: int | None
    decided_at: dt.datetime | None
    note: str | None

    @classmethod
    def of(cls, row: KbArticleVersion) -> Version:
        assert row.id is not None
        return cls(
            row.id,
            row.article_id,
            row.lang,
            row.no,
            row.base_no,
            VersionState(row.state),
            Content.of_version(row),
            tuple(row.changed),
            row.created_by,
            row.created_at,
            row.decided_by,
            row.decided_at,
            row.note,
        )


@dataclass(frozen=True)
class ArticleMeta:
    """An article's bookkeeping: owner, review interval and date, approved version."""

    id: str
    lang: str
    title: str
    short_answer: str
    version_no: int
    owner_staff_id: int | None
    review_days: int | None
    reviewed: dt.date
    reviewed_by: int | None

    @classmethod
    def of(cls, article: KbArticle, version: KbArticleVersion) -> ArticleMeta:
        """The bookkeeping of ``article`` with its approved ``version``."""
        return cls(
            article.id,
            article.lang,
            version.title,
            first_paragraph(version.body),
            article.version_no,
            article.owner_staff_id,
            article.review_days,
            article.reviewed,
            article.reviewed_by,
        )


class ImportStatus(StrEnum):
    """What importing one seed article did."""

    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    # An approved chat change is newer than the seed and differs from it: not overwritten.
    DRIFT = "drift"
    # Drift overwritten by the seed (``force``).
    FORCED = "forced"


@dataclass(frozen=True)
class ImportLine:
    article_id: str
    lang: str
    status: ImportStatus
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportReport:
    """Per article what an import did, and the articles only the database has."""

    lines: tuple[ImportLine, ...]
    only_in_database: tuple[tuple[str, str], ...] = ()
    revision: int = 0

    def count(self, status: ImportStatus) -> int:
        return sum(1 for line in self.lines if line.status is status)

    @property
    def drift(self) -> tuple[ImportLine, ...]:
        return tuple(line for line in self.lines if line.status is ImportStatus.DRIFT)


class DecideStatus(StrEnum):
    """What a press on Approve/Reject did."""

    APPROVED = "approved"
    REJECTED = "rejected"
    OWN = "own"  # the proposer cannot decide their own proposal
    NOT_EDITOR = "not_editor"
    ALREADY = "already"  # decided before (another editor was quicker)
    STALE = "stale"  # the article's same field changed since the proposal: not applied
    GONE = "gone"


@dataclass(frozen=True)
class Decision:
    status: DecideStatus
    version: Version | None = None
    revision: int | None = None


class ExampleStatus(StrEnum):
    ADDED = "added"
    ALREADY = "already"  # the article already has this question
    NO_ARTICLE = "no_article"


@dataclass(frozen=True)
class ExampleAdded:
    status: ExampleStatus
    example_id: int | None = None
    text: str = ""
    revision: int | None = None


class ProposalError(ValueError):
    """A proposal that cannot be made; ``key`` names the reason for the catalogue."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


# --- Revision ------------------------------------------------------------------------------


def kb_revision(session: Session) -> int:
    """The knowledge base's revision: goes up on every approved change (a cheap read)."""
    value = session.exec(select(KbRevision.revision).where(KbRevision.id == 1)).first()
    return int(value or 0)


def _bump(session: Session, now: dt.datetime) -> int:
    table = KbRevision.__table__  # type: ignore[attr-defined]
    result = session.execute(
        sa.update(table)
        .where(table.c.id == 1)
        .values(revision=table.c.revision + 1, changed_at=now)
        .returning(table.c.revision)
    ).first()
    if result is None:
        session.add(KbRevision(id=1, revision=1, changed_at=now))
        session.flush()
        return 1
    return int(result[0])


# --- Editors -------------------------------------------------------------------------------


def _active_staff(session: Session, staff_id: int | None) -> Staff | None:
    if staff_id is None:
        return None
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active or staff.removed_at is not None:
        return None
    return staff


def is_editor(session: Session, staff_id: int | None) -> bool:
    """Whether the (active) staff member may propose and approve changes: admins always."""
    staff = _active_staff(session, staff_id)
    if staff is None:
        return False
    return staff.role == Role.ADMIN.value or session.get(KbEditor, staff_id) is not None


def set_editor(
    session: Session, *, staff_id: int, editor: bool, by_staff_id: int | None, now: dt.datetime
) -> bool:
    """Grant (``editor``) or remove the editor permission; returns whether anything changed."""
    row = session.get(KbEditor, staff_id)
    if editor and row is None:
        session.add(KbEditor(staff_id=staff_id, granted_by=by_staff_id, granted_at=now))
        session.flush()
        return True
    if not editor and row is not None:
        session.delete(row)
        session.flush()
        return True
    return False


def editor_ids(session: Session) -> list[int]:
    """Every active editor and admin (staff ids), sorted."""
    admins = select(Staff.id).where(
        Staff.role == Role.ADMIN.value, col(Staff.active), col(Staff.removed_at).is_(None)
    )
    granted = (
        select(KbEditor.staff_id)
        .join(Staff, col(Staff.id) == col(KbEditor.staff_id))
        .where(col(Staff.active), col(Staff.removed_at).is_(None))
    )
    ids = {int(i) for i in session.exec(admins) if i is not None}
    ids.update(int(i) for i in session.exec(granted))
    return sorted(ids)


def granted_editor_ids(session: Session) -> set[int]:
    """Staff ids with the editor permission granted (admins not included)."""
    return {int(i) for i in session.exec(select(KbEditor.staff_id))}


# --- Reading -------------------------------------------------------------------------------


def _approved_rows(session: Session) -> list[tuple[KbArticle, KbArticleVersion]]:
    query = (
        select(KbArticle, KbArticleVersion)
        .join(
            KbArticleVersion,
            sa.and_(
                col(KbArticleVersion.article_id) == col(KbArticle.id),
                col(KbArticleVersion.lang) == col(KbArticle.lang),
                col(KbArticleVersion.no) == col(KbArticle.version_no),
            ),
        )
        .order_by(col(KbArticle.lang), col(KbArticle.id))
    )
    return [(a, v) for a, v in session.exec(query)]


def _examples(session: Session) -> dict[tuple[str, str], list[str]]:
    query = (
        select(KbExampleQuestion)
        .where(col(KbExampleQuestion.removed_at).is_(None))
        .order_by(col(KbExampleQuestion.id))
    )
    found: dict[tuple[str, str], list[str]] = {}
    for row in session.exec(query):
        found.setdefault((row.article_id, row.lang), []).append(row.text)
    return found


def _merged(questions: Sequence[str], examples: Sequence[str]) -> tuple[str, ...]:
    seen = {q.casefold() for q in questions}
    extra: list[str] = []
    for text in examples:
        if text.casefold() not in seen:
            seen.add(text.casefold())
            extra.append(text)
    return (*questions, *extra)


def current_articles(session: Session) -> list[Article]:
    """Every approved article, with its accepted example questions merged into ``questions``.

    Read with plain rows (no ORM objects): the whole knowledge base is read on every rebuild.
    """
    examples = _examples(session)
    article, version = _table(KbArticle), _table(KbArticleVersion)
    query = (
        sa.select(
            article.c.id,
            article.c.lang,
            article.c.reviewed,
            version.c.title,
            version.c.questions,
            version.c.tags,
            version.c.related,
            version.c.sources,
            version.c.owner,
            version.c.body,
        )
        .join(
            version,
            sa.and_(
                version.c.article_id == article.c.id,
                version.c.lang == article.c.lang,
                version.c.no == article.c.version_no,
            ),
        )
        .order_by(article.c.lang, article.c.id)
    )
    articles: list[Article] = []
    for row in session.execute(query):
        questions = tuple(row.questions)
        content = Content(
            row.title,
            _merged(questions, examples.get((row.id, row.lang), [])),
            tuple(row.tags),
            tuple(row.related),
            tuple(row.sources),
            row.owner,
            row.body,
        )
        articles.append(content.article(row.id, row.lang, row.reviewed))
    return articles


def _table(model: type[SQLModel]) -> sa.Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return table


def current_article(session: Session, article_id: str, lang: str) -> Article | None:
    """One approved article (example questions merged), or None."""
    found = _approved_row(session, article_id, lang)
    if found is None:
        return None
    article, version = found
    content = Content.of_version(version)
    examples = [text for _id, text in example_questions(session, article_id, lang)]
    merged = _merged(content.questions, examples)
    return replace(content, questions=merged).article(article_id, lang, article.reviewed)


def article_meta(session: Session) -> list[ArticleMeta]:
    """Every article's owner, review interval and date, sorted by language and id."""
    return [ArticleMeta.of(article, version) for article, version in _approved_rows(session)]


def get_version(session: Session, version_id: int) -> Version | None:
    """One version by its id, or None."""
    row = session.get(KbArticleVersion, version_id)
    return Version.of(row) if row is not None else None


def versions(session: Session, article_id: str, lang: str) -> list[Version]:
    """Every version of an article, oldest first."""
    query = (
        select(KbArticleVersion)
        .where(KbArticleVersion.article_id == article_id, KbArticleVersion.lang == lang)
        .order_by(col(KbArticleVersion.no))
    )
    return [Version.of(row) for row in session.exec(query)]


def pending_proposals(session: Session) -> list[Version]:
    """Every proposal not yet decided, oldest first."""
    query = (
        select(KbArticleVersion)
        .where(KbArticleVersion.state == VersionState.PROPOSED.value)
        .order_by(col(KbArticleVersion.id))
    )
    return [Version.of(row) for row in session.exec(query)]


def example_questions(session: Session, article_id: str, lang: str) -> list[tuple[int, str]]:
    """The article's accepted example questions (id, text), oldest first."""
    query = (
        select(KbExampleQuestion)
        .where(
            KbExampleQuestion.article_id == article_id,
            KbExampleQuestion.lang == lang,
            col(KbExampleQuestion.removed_at).is_(None),
        )
        .order_by(col(KbExampleQuestion.id))
    )
    return [(row.id, row.text) for row in session.exec(query) if row.id is not None]


def _approved_row(
    session: Session, article_id: str, lang: str
) -> tuple[KbArticle, KbArticleVersion] | None:
    """The article's row with its approved version, or None."""
    article = session.get(KbArticle, (article_id, lang))
    if article is None:
        return None
    version = _version_row(session, article_id, lang, article.version_no)
    return None if version is None else (article, version)


def _version_row(session: Session, article_id: str, lang: str, no: int) -> KbArticleVersion | None:
    query = select(KbArticleVersion).where(
        KbArticleVersion.article_id == article_id,
        KbArticleVersion.lang == lang,
        KbArticleVersion.no == no,
    )
    return session.exec(query).first()


def _next_no(session: Session, article_id: str, lang: str) -> int:
    query = select(sa.func.max(KbArticleVersion.no)).where(
        KbArticleVersion.article_id == article_id, KbArticleVersion.lang == lang
    )
    return int(session.exec(query).one() or 0) + 1


def _new_version(
    session: Session,
    article_id: str,
    lang: str,
    content: Content,
    *,
    state: VersionState,
    changed: Sequence[str],
    base_no: int | None,
    by_staff_id: int | None,
    now: dt.datetime,
    note: str | None = None,
    no: int | None = None,
    flush: bool = True,
) -> KbArticleVersion:
    row = KbArticleVersion(
        article_id=article_id,
        lang=lang,
        no=no if no is not None else _next_no(session, article_id, lang),
        base_no=base_no,
        title=content.title,
        questions=list(content.questions),
        tags=list(content.tags),
        related=list(content.related),
        sources=list(content.sources),
        owner=content.owner,
        body=content.body,
        changed=list(changed),
        state=state.value,
        created_by=by_staff_id,
        created_at=now,
        decided_by=by_staff_id if state is not VersionState.PROPOSED else None,
        decided_at=now if state is not VersionState.PROPOSED else None,
        note=note,
    )
    if no is not None:
        session.add(row)
        if flush:
            session.flush()
        return row
    # Two editors proposing for one article at once may pick the same number: the unique
    # constraint settles it and the later one takes the next number.
    for _attempt in range(MAX_NUMBER_ATTEMPTS):
        try:
            with session.begin_nested():
                session.add(row)
            return row
        except sa.exc.IntegrityError:
            row = KbArticleVersion.model_validate(row.model_dump(exclude={"id"}))
            row.no = _next_no(session, article_id, lang)
    raise RuntimeError("no free version number for the article")


def _differences(a: Content, b: Content) -> tuple[str, ...]:
    return tuple(name for name in CONTENT_FIELDS if getattr(a, name) != getattr(b, name))


# --- Import and drift ----------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    """A seed file and the database disagree."""

    article_id: str
    lang: str
    fields: tuple[str, ...]
    # True when the database's side is an approved chat change newer than the last import.
    chat_change: bool


def drift(session: Session, articles: Iterable[Article]) -> list[Drift]:
    """Where the seed ``articles`` and the database's approved articles differ (review date
    aside: confirming an article in chat moves only the database's)."""
    current = {(a.id, a.lang): a for a in current_articles(session)}
    found: list[Drift] = []
    for seed in articles:
        stored = current.get((seed.id, seed.lang))
        if stored is None:
            found.append(Drift(seed.id, seed.lang, ("missing",), False))
            continue
        fields = _differences(Content.of(stored), Content.of(seed))
        if fields:
            row = session.get(KbArticle, (seed.id, seed.lang))
            found.append(Drift(seed.id, seed.lang, fields, _chat_newer(row)))
    return found


def _chat_newer(row: KbArticle | None) -> bool:
    if row is None or row.changed_at is None:
        return False
    return row.imported_at is None or row.changed_at > row.imported_at


def import_articles(
    session: Session, articles: Iterable[Article], now: dt.datetime, *, force: bool = False
) -> ImportReport:
    """Bring the seed ``articles`` into the database; idempotent.

    New articles and seed changes become approved versions by nobody (``created_by`` None).
    An article whose approved chat change (a version or an example question) is newer than
    the last import and differs from the seed is left alone and reported as drift, unless
    ``force``: then the seed wins (example questions the seed lacks are removed). Reads what
    is stored in four queries and writes in one flush, so thousands of articles import in
    seconds.
    """
    rows = {(a.id, a.lang): a for a in session.exec(select(KbArticle))}
    approved = {(v.article_id, v.lang): Content.of_version(v) for _a, v in _approved_rows(session)}
    examples = _examples(session)
    highest_no = {
        (article_id, lang): int(no)
        for article_id, lang, no in session.exec(
            select(
                KbArticleVersion.article_id, KbArticleVersion.lang, sa.func.max(KbArticleVersion.no)
            ).group_by(col(KbArticleVersion.article_id), col(KbArticleVersion.lang))
        )
    }
    lines: list[ImportLine] = []
    changed_any = False
    seen: set[tuple[str, str]] = set()
    for seed in articles:
        key = (seed.id, seed.lang)
        if key in seen:
            continue
        seen.add(key)
        content = Content.of(seed)
        row = rows.get(key)
        no = highest_no.get(key, 0) + 1
        if row is None or key not in approved:
            _new_version(
                session, seed.id, seed.lang, content, state=VersionState.APPROVED,
                changed=CONTENT_FIELDS, base_no=None, by_staff_id=None, now=now,
                note="kb import", no=no, flush=False,
            )  # fmt: skip
            if row is None:
                row = KbArticle(id=seed.id, lang=seed.lang, version_no=no, reviewed=seed.reviewed)
            row.version_no, row.imported_at = no, now
            session.add(row)
            lines.append(ImportLine(seed.id, seed.lang, ImportStatus.NEW, CONTENT_FIELDS))
            changed_any = True
            continue
        stored = approved[key]
        stored = replace(stored, questions=_merged(stored.questions, examples.get(key, [])))
        fields = _differences(stored, content)
        if seed.reviewed > row.reviewed:
            row.reviewed = seed.reviewed
            session.add(row)
            changed_any = True
        if not fields:
            row.imported_at = now
            session.add(row)
            lines.append(ImportLine(seed.id, seed.lang, ImportStatus.UNCHANGED))
            continue
        if _chat_newer(row) and not force:
            lines.append(ImportLine(seed.id, seed.lang, ImportStatus.DRIFT, fields))
            continue
        status = ImportStatus.FORCED if _chat_newer(row) else ImportStatus.CHANGED
        _new_version(
            session, seed.id, seed.lang, content, state=VersionState.APPROVED, changed=fields,
            base_no=row.version_no, by_staff_id=None, now=now,
            note="kb import --force" if status is ImportStatus.FORCED else "kb import",
            no=no, flush=False,
        )  # fmt: skip
        if key in examples:
            _drop_examples_not_in(session, seed.id, seed.lang, content.questions, None, now)
        row.version_no, row.imported_at = no, now
        session.add(row)
        lines.append(ImportLine(seed.id, seed.lang, status, fields))
        changed_any = True
    session.flush()
    only = tuple(sorted((key for key in rows if key not in seen), key=lambda k: (k[1], k[0])))
    revision = _bump(session, now) if changed_any else kb_revision(session)
    return ImportReport(tuple(lines), only, revision)


def _drop_examples_not_in(
    session: Session,
    article_id: str,
    lang: str,
    questions: Sequence[str],
    by_staff_id: int | None,
    now: dt.datetime,
    added_before: dt.datetime | None = None,
) -> None:
    keep = {q.casefold() for q in questions}
    query = select(KbExampleQuestion).where(
        KbExampleQuestion.article_id == article_id,
        KbExampleQuestion.lang == lang,
        col(KbExampleQuestion.removed_at).is_(None),
    )
    if added_before is not None:
        query = query.where(col(KbExampleQuestion.added_at) <= added_before)
    for example in session.exec(query):
        if example.text.casefold() not in keep:
            example.removed_at, example.removed_by = now, by_staff_id
            session.add(example)


# --- Proposals and decisions ---------------------------------------------------------------


def replace_short_answer(body: str, short_answer: str) -> str:
    """``body`` with its first paragraph (the short answer) replaced; headings before it stay."""
    lines = body.strip().splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.strip() and not line.strip().startswith("#")),
        None,
    )
    if start is None:
        return "\n\n".join(p for p in (body.strip(), short_answer.strip()) if p)
    end = start
    while end < len(lines) and lines[end].strip() and not lines[end].strip().startswith("#"):
        end += 1
    return "\n".join([*lines[:start], short_answer.strip(), *lines[end:]]).strip()


def _clean_list(values: Any) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [values]
    return tuple(normalise(str(v)).strip() for v in values if str(v).strip())


def _apply(base: Content, changes: Mapping[str, Any], words: frozenset[str]) -> Content:
    """``base`` with ``changes`` applied; every new text passes the guard."""
    unknown = set(changes) - CHANGE_KEYS
    if unknown:
        raise ProposalError("kb.proposal_unknown_field")

    def guarded(text: str) -> str:
        clean = normalise(text).strip()
        problem = personal_data_in(clean, words)
        if problem is not None:
            raise problem
        return clean

    values: dict[str, Any] = {}
    for name in CONTENT_FIELDS:
        if name not in changes:
            continue
        if name in LIST_FIELDS:
            items = _clean_list(changes[name])
            if name == "questions":
                known = {b.casefold() for b in base.questions}
                for question in items:
                    if question.casefold() not in known:
                        guarded(question)
            values[name] = items
        elif name in ("title", "body"):
            values[name] = guarded(str(changes[name]))
        else:
            values[name] = normalise(str(changes[name])).strip()
    content = replace(base, **values)
    if "short_answer" in changes:
        short = guarded(str(changes["short_answer"]))
        if not short:
            raise ProposalError("kb.proposal_empty")
        content = replace(content, body=replace_short_answer(content.body, short))
    if "add_question" in changes:
        question = guarded(str(changes["add_question"]))
        if not question or len(question) > MAX_QUESTION:
            raise ProposalError("kb.proposal_bad_question")
        if question.casefold() not in {q.casefold() for q in content.questions}:
            content = replace(content, questions=(*content.questions, question))
    if "remove_question" in changes:
        gone = normalise(str(changes["remove_question"])).strip().casefold()
        content = replace(
            content, questions=tuple(q for q in content.questions if q.casefold() != gone)
        )
    if not content.title or len(content.title) > MAX_TITLE or not content.short_answer:
        raise ProposalError("kb.proposal_empty")
    if len(content.short_answer) > MAX_SHORT_ANSWER:
        # What `kb check` would refuse once exported cannot go live from a chat either.
        raise ProposalError("kb.proposal_too_long")
    return content


def propose(
    session: Session,
    *,
    article_id: str,
    lang: str,
    changes: Mapping[str, Any],
    by_staff_id: int,
    now: dt.datetime,
    note: str | None = None,
) -> Version:
    """Store a proposed change (a new version, state proposed) and return it.

    ``changes`` maps fields to new values: ``title``, ``short_answer``, ``body``,
    ``questions``, ``tags``, ``related``, ``sources``, ``owner``, or ``add_question`` /
    ``remove_question`` (one question). For an article that does not exist yet (a new one,
    e.g. from a coordinator's reply) ``title`` and ``short_answer`` or ``body`` are needed.
    Raises :class:`PersonalDataError` when a new text fails the guard, :class:`ProposalError`
    when the proposal is empty, changes nothing or the proposer is no editor.
    """
    if not is_editor(session, by_staff_id):
        raise ProposalError("kb.not_editor")
    article = session.get(KbArticle, (article_id, lang))
    if article is not None:
        stored = current_article(session, article_id, lang)
        assert stored is not None
        # The proposal holds every question it keeps, example questions included.
        base = Content.of(stored)
        base_no: int | None = article.version_no
    else:
        base = Content("", (), (), (), (), "", "")
        base_no = None
    words = vocabulary(session)
    proposed = _apply(base, changes, words)
    changed = _differences(base, proposed)
    if not changed:
        raise ProposalError("kb.proposal_no_change")
    row = _new_version(
        session,
        article_id,
        lang,
        proposed,
        state=VersionState.PROPOSED,
        changed=changed,
        base_no=base_no,
        by_staff_id=by_staff_id,
        now=now,
        note=normalise(note)[:MAX_NOTE] if note else None,
    )
    return Version.of(row)


def _rebased(session: Session, row: KbArticleVersion, newest_no: int) -> Content | None:
    """The proposal ``row`` applied to the newest approved version, when another change was
    approved since it was made; None when that change touched the same text.

    A list (questions, tags...) takes the proposal's additions and removals, so a question
    another editor added or removed meanwhile stays added or removed. The title, the body
    (the short answer) and the owner role are the proposal's only where the newer versions
    left them as the proposal found them: otherwise the approver would silently undo an
    approved change, and the proposal is stale (the proposer is told, and may propose again).
    """
    base = _version_row(session, row.article_id, row.lang, row.base_no or 0)
    newest = _version_row(session, row.article_id, row.lang, newest_no)
    assert newest is not None
    if base is None:
        return None
    before, after, current = (
        Content.of_version(base),
        Content.of_version(row),
        Content.of_version(newest),
    )
    values: dict[str, Any] = {}
    for name in row.changed:
        if name in LIST_FIELDS:
            old, new = getattr(before, name), getattr(after, name)
            gone = {item.casefold() for item in old} - {item.casefold() for item in new}
            kept = [item for item in getattr(current, name) if item.casefold() not in gone]
            known = {item.casefold() for item in kept}
            added = [item for item in new if item.casefold() not in {o.casefold() for o in old}]
            values[name] = (*kept, *(item for item in added if item.casefold() not in known))
        elif getattr(current, name) != getattr(before, name):
            return None
        else:
            values[name] = getattr(after, name)
    return replace(current, **values)


def decide(
    session: Session, *, version_id: int, approve: bool, by_staff_id: int, now: dt.datetime
) -> Decision:
    """Approve or reject a proposal: only another editor or an admin may, never the proposer.

    Approving makes the proposal the article's approved version at once (rebased on the
    newest approved version when another change was approved in between: see
    :func:`_rebased`; a proposal whose text was changed meanwhile is ``STALE``, not applied)
    and bumps the revision.
    """
    row = session.get(KbArticleVersion, version_id)
    if row is None:
        return Decision(DecideStatus.GONE)
    if row.state != VersionState.PROPOSED.value:
        return Decision(DecideStatus.ALREADY, Version.of(row))
    if row.created_by == by_staff_id:
        return Decision(DecideStatus.OWN, Version.of(row))
    if not is_editor(session, by_staff_id):
        return Decision(DecideStatus.NOT_EDITOR, Version.of(row))
    # Claimed with one conditional UPDATE: of two presses at the same moment (two admins, two
    # replicas), the second finds the proposal decided, on SQLite and PostgreSQL alike.
    claimed = session.execute(
        sa.update(_table(KbArticleVersion))
        .where(
            _table(KbArticleVersion).c.id == version_id,
            _table(KbArticleVersion).c.state == VersionState.PROPOSED.value,
            _table(KbArticleVersion).c.decided_by.is_(None),
        )
        .values(decided_by=by_staff_id, decided_at=now)
    )
    session.refresh(row)
    if getattr(claimed, "rowcount", 0) != 1:
        return Decision(DecideStatus.ALREADY, Version.of(row))
    if not approve:
        row.state = VersionState.REJECTED.value
        session.add(row)
        session.flush()
        return Decision(DecideStatus.REJECTED, Version.of(row))
    article = session.get(KbArticle, (row.article_id, row.lang))
    if article is not None and row.base_no is not None and article.version_no != row.base_no:
        merged = _rebased(session, row, article.version_no)
        if merged is None:
            row.state = VersionState.REJECTED.value
            session.add(row)
            session.flush()
            return Decision(DecideStatus.STALE, Version.of(row))
        for name in CONTENT_FIELDS:
            value = getattr(merged, name)
            setattr(row, name, list(value) if name in LIST_FIELDS else value)
        row.base_no = article.version_no
    row.state = VersionState.APPROVED.value
    session.add(row)
    if article is None:
        session.add(
            KbArticle(
                id=row.article_id,
                lang=row.lang,
                version_no=row.no,
                reviewed=now.date(),
                reviewed_by=by_staff_id,
                changed_at=now,
            )
        )
    else:
        article.version_no = row.no
        article.changed_at = now
        session.add(article)
        if "questions" in row.changed:
            # A question the proposal removed goes from the example questions too (those
            # accepted after the proposal was made stay).
            _drop_examples_not_in(
                session, row.article_id, row.lang, row.questions, by_staff_id, now, row.created_at
            )
    session.flush()
    revision = _bump(session, now)
    return Decision(DecideStatus.APPROVED, Version.of(row), revision)


# --- Example questions, review -------------------------------------------------------------


def add_example_question(
    session: Session,
    *,
    article_id: str,
    lang: str,
    text: str,
    by_staff_id: int | None,
    now: dt.datetime,
    source_question_id: int | None = None,
) -> ExampleAdded:
    """Add an accepted example question to an approved article; live at once (revision bump).

    The text passes the personal-data guard again: :class:`PersonalDataError` for a
    personnummer or a text that looks like it names a child.
    """
    clean = check_text(session, text)
    if not clean or len(clean) > MAX_QUESTION:
        raise ProposalError("kb.proposal_bad_question")
    article = current_article(session, article_id, lang)
    if article is None:
        return ExampleAdded(ExampleStatus.NO_ARTICLE, text=clean)
    if clean.casefold() in {q.casefold() for q in article.questions}:
        return ExampleAdded(ExampleStatus.ALREADY, text=clean)
    row = KbExampleQuestion(
        article_id=article_id,
        lang=lang,
        text=clean,
        added_by=by_staff_id,
        added_at=now,
        source_question_id=source_question_id,
    )
    session.add(row)
    stored = session.get(KbArticle, (article_id, lang))
    assert stored is not None
    stored.changed_at = now
    session.add(stored)
    session.flush()
    return ExampleAdded(ExampleStatus.ADDED, row.id, clean, _bump(session, now))


def remove_example_question(
    session: Session, *, example_id: int, by_staff_id: int | None, now: dt.datetime
) -> bool:
    """Remove an accepted example question; returns whether it was there."""
    row = session.get(KbExampleQuestion, example_id)
    if row is None or row.removed_at is not None:
        return False
    row.removed_at, row.removed_by = now, by_staff_id
    session.add(row)
    stored = session.get(KbArticle, (row.article_id, row.lang))
    if stored is not None:
        stored.changed_at = now
        session.add(stored)
    session.flush()
    _bump(session, now)
    return True


def mark_reviewed(
    session: Session,
    *,
    article_id: str,
    lang: str,
    by_staff_id: int | None,
    today: dt.date,
    now: dt.datetime | None = None,
) -> bool:
    """The article is still correct: its review date becomes ``today``. False: no article."""
    article = session.get(KbArticle, (article_id, lang))
    if article is None:
        return False
    article.reviewed, article.reviewed_by = today, by_staff_id
    session.add(article)
    session.flush()
    _bump(session, now or utcnow())
    return True


def set_owner(
    session: Session, *, article_id: str, lang: str | None, owner_staff_id: int | None
) -> int:
    """Make a person the owner of the article (both languages when ``lang`` is None)."""
    return _set_on_articles(session, article_id, lang, owner_staff_id=owner_staff_id)


def set_review_days(
    session: Session, *, article_id: str, lang: str | None, review_days: int | None
) -> int:
    """The article's review interval in days (None: the settings' default)."""
    if review_days is not None and review_days < 1:
        raise ValueError("the review interval is at least one day")
    return _set_on_articles(session, article_id, lang, review_days=review_days)


def _set_on_articles(session: Session, article_id: str, lang: str | None, **values: Any) -> int:
    """Set ``values`` on the article's rows (both languages when ``lang`` is None); how many."""
    query = select(KbArticle).where(KbArticle.id == article_id)
    if lang is not None:
        query = query.where(KbArticle.lang == lang)
    count = 0
    for article in session.exec(query):
        for name, value in values.items():
            setattr(article, name, value)
        session.add(article)
        count += 1
    session.flush()
    return count


def is_empty(session: Session) -> bool:
    """Whether no article has been imported yet."""
    return session.exec(select(KbArticle.id).limit(1)).first() is None


def seed_if_empty(session: Session, articles: Iterable[Article], now: dt.datetime) -> int | None:
    """Import the seed into a database that has no article yet (a fresh install): the
    revision it made, or None when the database had articles."""
    if not is_empty(session):
        return None
    return import_articles(session, articles, now).revision


class DatabaseSource:
    """The approved articles of the database, as ``knowledge.service.ArticleSource``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def revision(self) -> int:
        # One plain read, no session: every process asks this every few seconds.
        table = _table(KbRevision)
        with self.db.engine.connect() as connection:
            query = sa.select(table.c.revision).where(table.c.id == 1)
            return int(connection.execute(query).scalar() or 0)

    def articles(self) -> tuple[int, list[Article]]:
        return self.db.call(lambda session: (kb_revision(session), current_articles(session)))


def editors(session: Session, *, except_staff_id: int | None = None) -> list[Staff]:
    """The active editors and admins (to tell them of a proposal), without one person."""
    ids = [i for i in editor_ids(session) if i != except_staff_id]
    if not ids:
        return []
    return list(session.exec(select(Staff).where(col(Staff.id).in_(ids)).order_by(col(Staff.id))))


def meta_of(session: Session, article_id: str, lang: str) -> ArticleMeta | None:
    """One article's bookkeeping (owner, review, approved version), or None."""
    found = _approved_row(session, article_id, lang)
    return ArticleMeta.of(*found) if found is not None else None
