"""The pulse's pure logic: answering, anonymity, aggregation and rendering.

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
- the charts refuse hidden results (:class:`ResultsHiddenError`).

The text renderers produce plain text (send it without a parse mode) that fits one Telegram
message. The PNG renderers use matplotlib's object API on the Agg canvas, never pyplot, so
they hold no global state and work without a display; run them in a worker thread.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import math
import random
import secrets
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Final

from bot.guard import normalise, redact
from bot.i18n import as_lang, format_date, format_date_short, t
from bot.pulse_templates import Question, Template

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

MIN_K: Final = 3
MAX_K: Final = 50
SCORES: Final = (1, 2, 3, 4, 5)
MAX_COMMENT_CHARS: Final = 1000
MIN_SECRET_BYTES: Final = 16
DRAFT_TTL: Final = dt.timedelta(minutes=15)
TELEGRAM_TEXT_LIMIT: Final = 4096
BAR_WIDTH: Final = 12
BAR_CHAR: Final = "▇"
TREND_LAST: Final = 10
_SPARK: Final = "▁▂▃▄▅▆▇█"
# Red to blue (ColorBrewer RdYlBu), readable for the common colour-vision deficiencies.
_SCORE_COLOURS: Final = ("#d7191c", "#fdae61", "#fee090", "#abd9e9", "#2c7bb6")
_DPI: Final = 100
_CHART_WIDTH_PX: Final = 800
_MARGIN_PX: Final = 32
_TITLE_LINE_PX: Final = 30
_TITLE_WRAP: Final = 44  # characters of the 20 pt bold title per line at 800 px
QR_TARGET_PX: Final = 1000


# --- anonymity ------------------------------------------------------------------------------


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


# --- answering ------------------------------------------------------------------------------


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


# --- aggregation ----------------------------------------------------------------------------


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


# --- text -----------------------------------------------------------------------------------


def _round_half_up(value: float, places: int) -> str:
    # Through the shortest repr, so 4.25 and 4.35 (= 87/20) round up as people expect
    # instead of following their binary approximations.
    step = Decimal(1).scaleb(-places)
    return str(Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP))


def format_count(value: int, lang: str | None) -> str:
    """A whole number with thousands grouped: ``1 000`` (no-break space) in Swedish, ``1,000``."""
    text = f"{value:,}"
    return text.replace(",", "\u00a0") if as_lang(lang) == "sv" else text


def error_params(error: CommentError, lang: str | None) -> dict[str, object]:
    """``error.params`` ready for the catalogue: numbers written as people read them."""
    return {
        name: format_count(value, lang)
        if isinstance(value, int) and not isinstance(value, bool)
        else value
        for name, value in error.params.items()
    }


def format_mean(value: float, lang: str | None) -> str:
    """A mean with one decimal, with a decimal comma in Swedish (``4,2``)."""
    text = _round_half_up(value, 1)
    return text.replace(".", ",") if as_lang(lang) == "sv" else text


def _tg_len(text: str) -> int:
    # Telegram counts UTF-16 code units: an emoji in a comment counts twice.
    return len(text.encode("utf-16-le")) // 2


def _short(template: Template, key: str, lang: str | None) -> str:
    try:
        question: Question = template.question(key)
    except KeyError:
        return key
    return question.short.get(lang)


def distribution_bars(distribution: Sequence[int]) -> list[str]:
    """Lines ``5 ▇▇▇▇ 4`` from 5 down to 1, the longest bar ``BAR_WIDTH`` blocks wide."""
    top = max(distribution, default=0)
    lines = []
    for score in reversed(SCORES):
        number = distribution[score - 1]
        width = max(1, round(BAR_WIDTH * number / top)) if number and top else 0
        bar = BAR_CHAR * width if width else "·"
        lines.append(f"{score} {bar} {number}")
    return lines


def _heading(template: Template, lang: str | None, date: dt.date | None) -> list[str]:
    lines = [t("pulse.results_title", lang, title=template.title.get(lang))]
    if date is not None:
        lines.append(format_date(date, lang))
    return lines


def _question_block(
    number: int, result: QuestionResult, template: Template, lang: str | None
) -> list[str]:
    lines = ["", f"{number}. {_short(template, result.key, lang)}"]
    if result.mean is None:
        return [*lines, t("pulse.question_hidden", lang)]
    lines.append(t("pulse.mean", lang, mean=format_mean(result.mean, lang), n=result.n))
    return lines + distribution_bars(result.distribution)


def _truncation_note(left: int, lang: str | None) -> str:
    if left == 1:
        return t("pulse.comments_truncated_one", lang)
    return t("pulse.comments_truncated", lang, count=left)


def _comment_lines(comments: Sequence[str], budget: int, lang: str | None) -> list[str]:
    """As many comments as fit in ``budget`` characters, with a note about the rest."""
    lines = ["", t("pulse.comments_title", lang)]
    note_room = _tg_len(_truncation_note(len(comments), lang)) + 1
    used = sum(_tg_len(line) + 1 for line in lines)
    for shown, comment in enumerate(comments):
        entry = "• " + "\n  ".join(comment.strip().splitlines())
        rest_after = len(comments) - shown - 1
        room = budget - (note_room if rest_after else 0)
        if used + _tg_len(entry) + 1 > room:
            return [*lines, _truncation_note(len(comments) - shown, lang)]
        lines.append(entry)
        used += _tg_len(entry) + 1
    return lines


def render_results_text(
    results: PulseResults,
    template: Template,
    lang: str | None,
    comments: Sequence[str] = (),
    *,
    date: dt.date | None = None,
    closed: bool = False,
) -> str:
    """The results as one plain-text Telegram message (at most 4,096 characters).

    Per question: the short text, the mean and the distribution as bars; then the comments
    in the order given (pass them through :func:`shuffled_comments`). When the results are
    hidden, only that there are too few answers (``closed``: the pulse has ended).
    """
    lines = _heading(template, lang, date)
    if not results.visible:
        key = "pulse.too_few_closed" if closed else "pulse.too_few"
        return "\n".join([*lines, "", t(key, lang, k=results.k)])
    lines.append(t("pulse.answers_count", lang, count=results.count))
    for number, result in enumerate(results.questions, start=1):
        lines += _question_block(number, result, template, lang)
    body = "\n".join(lines)
    kept = [comment for comment in comments if comment and comment.strip()]
    if kept:
        budget = TELEGRAM_TEXT_LIMIT - _tg_len(body) - 1
        body += "\n" + "\n".join(_comment_lines(kept, budget, lang))
    return body


# --- charts ---------------------------------------------------------------------------------


class ResultsHiddenError(ValueError):
    """There is nothing that may be shown: too few answers (or no visible pulse for a trend)."""


def _new_figure(height_px: int) -> Figure:
    # The object API on the Agg canvas: no pyplot, no global figure registry, no display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(_CHART_WIDTH_PX / _DPI, height_px / _DPI), dpi=_DPI)
    FigureCanvasAgg(figure)
    return figure


def _png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width=width)) or text


def _title_block(figure: Figure, title: str, height: int) -> int:
    """Draw the bold title at the top; return the pixels it takes (with its margins)."""
    wrapped = _wrap(title, _TITLE_WRAP)
    figure.text(
        _MARGIN_PX / _CHART_WIDTH_PX, 1 - 18 / height, wrapped,
        fontsize=20, fontweight="bold", ha="left", va="top",
    )  # fmt: skip
    return 18 + _TITLE_LINE_PX * (wrapped.count("\n") + 1) + 12


def _title_lines(title: str) -> int:
    return _wrap(title, _TITLE_WRAP).count("\n") + 1


def render_results_png(results: PulseResults, template: Template, lang: str | None) -> bytes:
    """A phone-readable PNG (800 px wide): one 100 % bar per question split by score.

    Shows no comments and nothing about anyone; raises :class:`ResultsHiddenError` when the
    results are hidden.
    """
    if not results.visible or not results.questions:
        raise ResultsHiddenError("too few answers to draw the results")
    title = t("pulse.chart_title", lang, title=template.title.get(lang), count=results.count)
    block, bar, legend = 130, 48, 100  # pixels: per question, its bar, the legend below
    height = 18 + _TITLE_LINE_PX * _title_lines(title) + 12 + block * len(results.questions)
    height += legend
    figure = _new_figure(height)
    y = _title_block(figure, title, height)
    left = _MARGIN_PX / _CHART_WIDTH_PX
    width = 1 - 2 * left
    for number, result in enumerate(results.questions, start=1):
        y += block - bar - 24  # room for the question line above the bar
        ax = figure.add_axes((left, 1 - (y + bar) / height, width, bar / height))
        _draw_question(ax, number, result, template, lang)
        y += bar + 24
    figure.legend(
        [_patch(colour) for colour in _SCORE_COLOURS],
        [str(score) for score in SCORES],
        loc="lower center",
        bbox_to_anchor=(0.5, 12 / height),
        ncol=5,
        fontsize=14,
        frameon=False,
        title=t("pulse.scale_legend", lang),
        title_fontsize=14,
    )
    return _png_bytes(figure)


def _patch(colour: str) -> Patch:
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, edgecolor="none")


def _draw_question(
    ax: Axes, number: int, result: QuestionResult, template: Template, lang: str | None
) -> None:
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.5, 0.5)
    ax.set_axis_off()
    ax.set_title(f"{number}. {_short(template, result.key, lang)}", loc="left", fontsize=16)
    if result.mean is None:
        ax.barh(0, 100, height=0.8, color="#dddddd")
        ax.text(50, 0, t("pulse.chart_hidden", lang), ha="center", va="center", fontsize=14)
        return
    ax.set_title(
        t("pulse.chart_mean", lang, mean=format_mean(result.mean, lang)),
        loc="right",
        fontsize=16,
        fontweight="bold",
    )
    left = 0.0
    for score, number_of in zip(SCORES, result.distribution, strict=True):
        share = 100 * number_of / result.n
        if share <= 0:
            continue
        ax.barh(
            0,
            share,
            left=left,
            height=0.8,
            color=_SCORE_COLOURS[score - 1],
            edgecolor="white",
            linewidth=1.5,
        )
        if share >= 7:
            colour = "white" if score in (1, 5) else "black"
            ax.text(
                left + share / 2,
                0,
                str(number_of),
                ha="center",
                va="center",
                fontsize=14,
                color=colour,
            )
        left += share


# --- trend ----------------------------------------------------------------------------------


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


def _spark(value: float | None) -> str:
    if value is None:
        return "·"
    return _SPARK[round((min(max(value, 1.0), 5.0) - 1) / 4 * (len(_SPARK) - 1))]


def _trend_span(dates: Sequence[dt.date], lang: str | None) -> str:
    first = format_date(dates[0], lang)
    if len(dates) == 1:
        return t("pulse.trend_meetings_one", lang, first=first)
    last = format_date(dates[-1], lang)
    return t("pulse.trend_meetings", lang, count=len(dates), first=first, last=last)


def render_trend_text(
    points: Iterable[TrendPoint], template: Template, lang: str | None, *, last: int = TREND_LAST
) -> str:
    """Per question a sparkline of its mean over the last pulses and first → latest mean."""
    dates, series = trend_series(points, template, last)
    lines = [t("pulse.trend_title", lang, title=template.title.get(lang))]
    if not dates:
        return "\n".join([*lines, "", t("pulse.trend_none", lang)])
    lines.append(_trend_span(dates, lang))
    for number, (key, values) in enumerate(series.items(), start=1):
        known = [value for value in values if value is not None]
        if not known:
            summary = t("pulse.trend_no_value", lang)
        elif len(known) == 1:
            summary = format_mean(known[0], lang)
        else:
            summary = f"{format_mean(known[0], lang)} → {format_mean(known[-1], lang)}"
        sparkline = "".join(_spark(value) for value in values)
        lines += ["", f"{number}. {_short(template, key, lang)}", f"{sparkline}  {summary}"]
    return "\n".join(lines)


_LINE_STYLES: Final = ("-", "--", "-.", ":", "-")
_MARKERS: Final = ("o", "s", "^", "D", "v")
_LINE_COLOURS: Final = ("#2c7bb6", "#d7191c", "#1a9641", "#7b3294", "#e66101")


def _tick_label(date: dt.date, lang: str | None) -> str:
    # "ons 25 nov" without the weekday: pulses are compared by date, not by day of the week.
    return format_date_short(date, lang).split(" ", 1)[1]


def render_trend_png(
    points: Iterable[TrendPoint], template: Template, lang: str | None, *, last: int = TREND_LAST
) -> bytes:
    """A line chart of each question's mean over the last visible pulses (x: pulse date).

    Raises :class:`ResultsHiddenError` when no pulse of the template has visible results.
    """
    dates, series = trend_series(points, template, last)
    if not dates:
        raise ResultsHiddenError("no pulse with visible results to draw a trend from")
    title = t("pulse.trend_title", lang, title=template.title.get(lang))
    rotate = len(dates) > 5
    plot, ticks, legend = 360, (80 if rotate else 40), 34 * len(series) + 30
    height = 18 + _TITLE_LINE_PX * _title_lines(title) + 12 + 40 + plot + ticks + legend
    figure = _new_figure(height)
    y = _title_block(figure, title, height)
    figure.text(
        _MARGIN_PX / _CHART_WIDTH_PX, 1 - y / height, _trend_span(dates, lang),
        fontsize=14, ha="left", va="top",
    )  # fmt: skip
    y += 40
    ax = figure.add_axes((0.1, 1 - (y + plot) / height, 0.86, plot / height))
    positions = list(range(len(dates)))
    for index, (key, values) in enumerate(series.items()):
        ax.plot(
            positions,
            [math.nan if value is None else value for value in values],
            label=_short(template, key, lang),
            linewidth=2.5,
            markersize=9,
            color=_LINE_COLOURS[index % len(_LINE_COLOURS)],
            linestyle=_LINE_STYLES[index % len(_LINE_STYLES)],
            marker=_MARKERS[index % len(_MARKERS)],
        )
    ax.set_ylim(0.8, 5.2)
    ax.set_yticks(list(SCORES))
    ax.set_xlim(-0.4, max(len(dates) - 0.6, 0.4))
    ax.set_xticks(positions)
    ax.set_xticklabels(
        [_tick_label(date, lang) for date in dates],
        rotation=45 if rotate else 0,
        ha="right" if rotate else "center",
        fontsize=13,
    )
    ax.tick_params(axis="y", labelsize=13)
    ax.set_ylabel(t("pulse.trend_y_label", lang), fontsize=14)
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    figure.legend(
        loc="lower left",
        bbox_to_anchor=(_MARGIN_PX / _CHART_WIDTH_PX, 8 / height),
        fontsize=14,
        frameon=False,
        ncol=1,
    )
    return _png_bytes(figure)


# --- QR code --------------------------------------------------------------------------------


def qr_png(url: str) -> bytes:
    """The pulse link as a QR code PNG, about 1,000 px wide so it scans off a projector.

    Error correction level M (15 %) survives a glare spot or a low-contrast screen.
    """
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    if not url or not url.strip():
        raise ValueError("the QR code needs a link")
    border = 4  # the quiet zone the QR specification asks for
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=border)
    code.add_data(url.strip())
    code.make(fit=True)
    code.box_size = max(8, QR_TARGET_PX // (code.modules_count + 2 * border))
    image = code.make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# --- export ---------------------------------------------------------------------------------


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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for pulse in rows:
        head = [
            str(pulse.pulse_id),
            _csv_safe(pulse.template_key),
            _csv_safe(pulse.template_version),
            _csv_safe(pulse.municipality),
            pulse.closed_on.isoformat() if pulse.closed_on else "",
        ]
        if not pulse.results.visible:
            writer.writerow([*head, *[""] * 8])
            continue
        for result in pulse.results.questions:
            figures: list[str] = [""] * 6
            if result.mean is not None:
                figures = [
                    _round_half_up(result.mean, 2),
                    *(str(number) for number in result.distribution),
                ]
            writer.writerow([*head, _csv_safe(result.key), str(result.n), *figures])
    return buffer.getvalue()
