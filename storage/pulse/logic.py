"""The pulse's pure logic: answering, anonymity, aggregation, trends and the CSV export.

Nothing here touches Telegram or the database. The handler keeps a :class:`PulseAnswerDraft`
while a person taps, storage keeps answers (scores, a redacted comment, at most a date) and a
separate :func:`answer_key` per person and pulse, and the results are built by
:func:`aggregate_counts` from the per-question histograms a SQL ``GROUP BY`` returns.

Anonymity rules enforced here rather than left to the renderers:

- below ``k`` answers (:func:`effective_k`, never below :data:`MIN_K`) a
  :class:`PulseResults` holds no per-question figures at all, and a question answered by
  fewer than ``k`` people has no mean or distribution either;
- comments are redacted (:func:`clean_comment`) before they are stored and shown in random
  order (:func:`shuffled_comments`);
- the charts refuse hidden results (handlers/pulse/render.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from bot.guard import normalise, redact
from storage.csvtext import csv_text
from storage.pulse.templates import Template

MIN_K: Final = 3
MAX_K: Final = 50
SCORES: Final = (1, 2, 3, 4, 5)
MAX_COMMENT_CHARS: Final = 1000
MIN_SECRET_BYTES: Final = 16
DRAFT_TTL: Final = dt.timedelta(minutes=15)
TREND_LAST: Final = 10


def effective_k(k: int) -> int:
    """The anonymity threshold actually applied: ``k`` clamped to ``MIN_K..MAX_K``."""
    return max(MIN_K, min(int(k), MAX_K))


def answer_key(secret: bytes, pulse_id: int, user_id: int) -> str:
    """The keyed hash (HMAC-SHA256, hex) that marks "this person has answered this pulse".

    Stored apart from the answers; without the server secret it cannot be linked back to a
    Telegram user id, even by trying every id.
    """
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the pulse secret must be at least {MIN_SECRET_BYTES} bytes")
    message = f"pulse:{int(pulse_id)}:user:{int(user_id)}".encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class CommentError(ValueError):
    """A comment that cannot be accepted; ``key`` and ``params`` give the text to show."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def clean_comment(text: str | None) -> str:
    """The comment as it may be stored: stripped, control characters removed, redacted.

    Raises :class:`CommentError` (``pulse.comment_too_long``) over 1,000 characters, so the
    person is asked to shorten it rather than having it cut.
    """
    if not text:
        return ""
    kept = "".join(char for char in normalise(text) if char == "\n" or char.isprintable())
    kept = "\n".join(line.rstrip() for line in kept.strip().splitlines())
    if len(kept) > MAX_COMMENT_CHARS:
        raise CommentError("pulse.comment_too_long", length=len(kept), max=MAX_COMMENT_CHARS)
    return redact(kept)


def shuffled_comments(comments: Iterable[str], rng: random.Random | None = None) -> list[str]:
    """The non-empty comments in random order, so their order says nothing about who wrote them."""
    shuffled = [comment for comment in comments if comment and comment.strip()]
    (rng or secrets.SystemRandom()).shuffle(shuffled)
    return shuffled


class DraftError(ValueError):
    """A tap that does not fit the draft (unknown question, score outside 1–5, not finished)."""


def _check_score(score: object) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
        raise DraftError(f"a score must be an integer from 1 to 5, not {score!r}")
    return score


@dataclass(frozen=True)
class PulseAnswerDraft:
    """One person's answer while they tap; every transition returns a new draft.

    ``scores`` maps each question reached to its score, or to ``None`` when skipped; a
    question not yet reached has no entry. ``index`` is the question shown, and
    ``len(questions)`` means the comment step.
    """

    pulse_id: int
    questions: tuple[str, ...]
    expires_at: dt.datetime
    scores: Mapping[str, int | None] = field(default_factory=dict)
    index: int = 0
    comment: str = ""

    @classmethod
    def start(
        cls,
        pulse_id: int,
        questions: Sequence[str],
        now: dt.datetime,
        ttl: dt.timedelta = DRAFT_TTL,
    ) -> PulseAnswerDraft:
        """A fresh draft at the first question, valid for ``ttl``."""
        if not questions:
            raise DraftError("a pulse needs at least one question")
        return cls(pulse_id=pulse_id, questions=tuple(questions), expires_at=now + ttl)

    @property
    def current_question(self) -> str | None:
        """The question shown now, or ``None`` at the comment step."""
        return self.questions[self.index] if self.index < len(self.questions) else None

    @property
    def at_comment(self) -> bool:
        return self.index >= len(self.questions)

    @property
    def is_complete(self) -> bool:
        """Every question answered or skipped: the answer can be sent."""
        return all(key in self.scores for key in self.questions)

    @property
    def answered_count(self) -> int:
        return sum(1 for value in self.scores.values() if value is not None)

    def is_expired(self, now: dt.datetime) -> bool:
        return now >= self.expires_at

    def _target(self, question_key: str | None) -> str:
        key = question_key if question_key is not None else self.current_question
        if key is None:
            raise DraftError("no question is shown at the comment step")
        if key not in self.questions:
            raise DraftError(f"unknown question {key!r}")
        return key

    def _record(self, key: str, value: int | None) -> PulseAnswerDraft:
        scores = {**self.scores, key: value}
        # Move on to the first question not yet reached: the next one in the normal flow, or
        # straight back to where the person was after they changed an earlier answer.
        following = [i for i, question in enumerate(self.questions) if question not in scores]
        index = following[0] if following else len(self.questions)
        return replace(self, scores=scores, index=index)

    def set_score(self, score: int, question_key: str | None = None) -> PulseAnswerDraft:
        """Record ``score`` (1–5) for ``question_key`` (default: the question shown)."""
        return self._record(self._target(question_key), _check_score(score))

    def skip(self, question_key: str | None = None) -> PulseAnswerDraft:
        """Leave ``question_key`` (default: the question shown) unanswered and move on."""
        return self._record(self._target(question_key), None)

    def back(self) -> PulseAnswerDraft:
        """Show the previous question again (its score is kept until changed)."""
        return replace(self, index=max(0, self.index - 1))

    def change(self, question_key: str) -> PulseAnswerDraft:
        """Show ``question_key`` again so its score can be changed."""
        return replace(self, index=self.questions.index(self._target(question_key)))

    def set_comment(self, text: str | None) -> PulseAnswerDraft:
        """Attach a comment, cleaned and redacted; raises :class:`CommentError` when too long."""
        return replace(self, comment=clean_comment(text))

    def to_answer(self) -> dict[str, int | None]:
        """The scores to store, in question order; raises :class:`DraftError` if unfinished."""
        if not self.is_complete:
            raise DraftError("not every question has been answered or skipped")
        return {key: self.scores[key] for key in self.questions}


@dataclass(frozen=True)
class QuestionResult:
    """One question's figures; ``mean`` and ``distribution`` are empty unless ``visible``."""

    key: str
    n: int
    mean: float | None
    distribution: tuple[int, ...]  # counts of the scores 1..5, or () when hidden

    @property
    def visible(self) -> bool:
        return self.mean is not None


@dataclass(frozen=True)
class PulseResults:
    """A pulse's results. When not ``visible``, ``questions`` is empty: nothing to leak."""

    count: int
    k: int
    visible: bool
    questions: tuple[QuestionResult, ...] = ()

    def question(self, key: str) -> QuestionResult | None:
        for result in self.questions:
            if result.key == key:
                return result
        return None


Histograms = Mapping[str, Mapping[int, int]]


def histograms_from_rows(rows: Iterable[tuple[str, int, int]]) -> dict[str, dict[int, int]]:
    """``(question_key, score, count)`` rows, as ``GROUP BY question_key, score`` gives them."""
    histograms: dict[str, dict[int, int]] = {}
    for key, score, number in rows:
        bucket = histograms.setdefault(key, {})
        bucket[score] = bucket.get(score, 0) + number
    return histograms


def aggregate_counts(
    questions: Sequence[str], histograms: Histograms, count: int, k: int
) -> PulseResults:
    """Results from per-question histograms (score → number of answers) and the answer count.

    Skipped questions simply have fewer answers in their histogram. Raises ``ValueError`` on
    impossible input (a score outside 1–5, a negative number, more answers to a question than
    answers in all).
    """
    threshold = effective_k(k)
    if count < 0:
        raise ValueError("the answer count cannot be negative")
    checked: list[tuple[str, tuple[int, ...]]] = []
    for key in questions:
        histogram = histograms.get(key, {})
        for score, number in histogram.items():
            if score not in SCORES or isinstance(score, bool):
                raise ValueError(f"score {score!r} for question {key!r} is outside 1–5")
            if number < 0:
                raise ValueError(f"negative count for question {key!r}")
        distribution = tuple(int(histogram.get(score, 0)) for score in SCORES)
        if sum(distribution) > count:
            raise ValueError(f"question {key!r} has more answers than the pulse")
        checked.append((key, distribution))
    if count < threshold:
        return PulseResults(count=count, k=threshold, visible=False)
    return PulseResults(
        count=count,
        k=threshold,
        visible=True,
        questions=tuple(_question_result(key, dist, threshold) for key, dist in checked),
    )


def _question_result(key: str, distribution: tuple[int, ...], k: int) -> QuestionResult:
    n = sum(distribution)
    if n < k:
        return QuestionResult(key=key, n=n, mean=None, distribution=())
    total = sum(score * number for score, number in zip(SCORES, distribution, strict=True))
    return QuestionResult(key=key, n=n, mean=total / n, distribution=distribution)


def aggregate(
    questions: Sequence[str], answers: Iterable[Mapping[str, int | None]], k: int
) -> PulseResults:
    """Results from the answers themselves (each maps question key → score or ``None``).

    Keys that are not among ``questions`` are ignored. Gives exactly what
    :func:`aggregate_counts` gives for the same data.
    """
    counts = {key: [0, 0, 0, 0, 0, 0] for key in questions}
    number = 0
    for answer in answers:
        number += 1
        for key, tally in counts.items():
            score = answer.get(key)
            if score is None:
                continue
            if isinstance(score, bool) or score not in SCORES:
                raise ValueError(f"score {score!r} for question {key!r} is outside 1–5")
            tally[score] += 1
    histograms = {key: dict(zip(SCORES, tally[1:], strict=True)) for key, tally in counts.items()}
    return aggregate_counts(questions, histograms, number, k)


def round_half_up(value: float, places: int) -> str:
    # Through the shortest repr, so 4.25 and 4.35 (= 87/20) round up as people expect
    # instead of following their binary approximations.
    step = Decimal(1).scaleb(-places)
    return str(Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class TrendPoint:
    """One closed pulse of a template: its date and its results."""

    closed_on: dt.date
    results: PulseResults


def trend_series(
    points: Iterable[TrendPoint], template: Template, last: int = TREND_LAST
) -> tuple[list[dt.date], dict[str, list[float | None]]]:
    """The dates of the last ``last`` visible pulses and each question's means over them.

    Pulses whose results are hidden are left out; a question hidden in one pulse (or absent
    from an older template version) has ``None`` there.
    """
    visible = sorted(
        (point for point in points if point.results.visible), key=lambda point: point.closed_on
    )
    visible = visible[-last:] if last > 0 else []
    series: dict[str, list[float | None]] = {key: [] for key in template.question_keys}
    for point in visible:
        for key, values in series.items():
            result = point.results.question(key)
            values.append(result.mean if result is not None else None)
    return [point.closed_on for point in visible], series


@dataclass(frozen=True)
class PulseSummary:
    """One pulse's aggregated results with what identifies the pulse (never a person)."""

    pulse_id: int
    template_key: str
    template_version: str
    municipality: str
    closed_on: dt.date | None
    results: PulseResults


EXPORT_COLUMNS: Final = (
    "pulse_id", "template_key", "template_version", "municipality", "closed_on",
    "question_key", "n", "mean", "count_1", "count_2", "count_3", "count_4", "count_5",
)  # fmt: skip


def _csv_safe(value: str) -> str:
    # A spreadsheet must not read a cell as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def pulse_export_csv(rows: Iterable[PulseSummary]) -> str:
    """Aggregated results as CSV, one row per pulse and question (``EXPORT_COLUMNS``).

    A pulse below ``k`` gets a single row without question, n, mean or counts; a question
    answered by fewer than ``k`` gets its n but no mean or counts. Means use a decimal point
    and two decimals.
    """
    return csv_text(EXPORT_COLUMNS, (line for pulse in rows for line in _export_lines(pulse)))


def _export_lines(pulse: PulseSummary) -> Iterator[list[str]]:
    head = [
        str(pulse.pulse_id),
        _csv_safe(pulse.template_key),
        _csv_safe(pulse.template_version),
        _csv_safe(pulse.municipality),
        pulse.closed_on.isoformat() if pulse.closed_on else "",
    ]
    if not pulse.results.visible:
        yield [*head, *[""] * 8]
        return
    for result in pulse.results.questions:
        figures: list[str] = [""] * 6
        if result.mean is not None:
            figures = [
                round_half_up(result.mean, 2),
                *(str(number) for number in result.distribution),
            ]
        yield [*head, _csv_safe(result.key), str(result.n), *figures]
