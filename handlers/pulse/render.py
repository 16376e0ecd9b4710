"""Pulse results, trends and links as people see them: text, charts, the QR code.

A closed pulse's results are a card: the chart with a short HTML caption
(:func:`results_caption`), and on request the details in its place
(:func:`results_details`), each within a caption's 1,024 characters. The trend text is plain
text (send it without a parse mode). The PNG renderers use matplotlib's object API on the
Agg canvas, never pyplot, so they hold no global state and work without a display; run them
in a worker thread. A chart of results below ``k`` is refused (:class:`ResultsHiddenError`).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from bot.i18n import as_lang, format_date, format_date_short, t, tn
from storage.pulse.logic import (
    SCORES,
    TREND_LAST,
    CommentError,
    PulseResults,
    QuestionResult,
    TrendPoint,
    round_half_up,
    trend_series,
)
from storage.pulse.templates import Question, Template

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch


TELEGRAM_TEXT_LIMIT: Final = 4096
# "Short by default": what a phone shows of a message without scrolling far.
MESSAGE_LIMIT: Final = 1200
# A photo's caption, counted after entity parsing (what the person reads).
CAPTION_LIMIT: Final = 1024
_SPARK: Final = "▁▂▃▄▅▆▇█"
# Red to blue (ColorBrewer RdYlBu), readable for the common colour-vision deficiencies.
_SCORE_COLOURS: Final = ("#d7191c", "#fdae61", "#fee090", "#abd9e9", "#2c7bb6")
_DPI: Final = 100
_CHART_WIDTH_PX: Final = 800
_MARGIN_PX: Final = 32
_TITLE_LINE_PX: Final = 30
_TITLE_WRAP: Final = 44  # characters of the 20 pt bold title per line at 800 px
QR_TARGET_PX: Final = 1000


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
    text = round_half_up(value, 1)
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


# -- the results card: a picture with a short caption, details in the caption on request ----

_TAG: Final = re.compile(r"<[^>]+>")


def visible_length(text: str) -> int:
    """The length Telegram counts of an HTML text: tags and entities parsed, UTF-16 units."""
    return _tg_len(html.unescape(_TAG.sub("", text)))


@dataclass(frozen=True)
class ResultsCard:
    """What the results card says about one closed pulse (values as stored, not escaped)."""

    results: PulseResults
    template: Template
    label: str
    closed_on: dt.date | None

    def title(self, lang: str | None) -> str:
        """The bold first line: template and meeting label."""
        title = html.escape(self.template.title.get(lang), quote=False)
        return f"<b>{title} – {html.escape(self.label, quote=False)}</b>"

    def count_line(self, lang: str | None) -> str:
        """ "3 svar · stängd ons 25 nov." """
        count = tn("pulse.answers", self.results.count, lang)
        if self.closed_on is None:
            return count
        closed = t("pulse.closed_on", lang, date=format_date_short(self.closed_on, lang))
        return f"{count} · {closed}"


def overall_mean(results: PulseResults) -> float | None:
    """The mean of every shown score (questions hidden below k count for nothing)."""
    shown = [q for q in results.questions if q.mean is not None]
    scores = sum(q.n for q in shown)
    if not scores:
        return None
    total = sum(q.mean * q.n for q in shown if q.mean is not None)
    return total / scores


def results_caption(card: ResultsCard, lang: str | None) -> str:
    """The picture's caption: title, number of answers, the overall mean, and the highest and
    lowest question (HTML, a few lines)."""
    lines = [card.title(lang), card.count_line(lang)]
    mean = overall_mean(card.results)
    if mean is not None:
        lines.append(t("pulse.caption_mean", lang, mean=format_mean(mean, lang)))
    shown = [q for q in card.results.questions if q.mean is not None]
    if len(shown) > 1:
        high = max(shown, key=lambda q: q.mean or 0)
        low = min(shown, key=lambda q: q.mean or 0)
        if (high.mean or 0) > (low.mean or 0):
            for key, question in (("pulse.caption_high", high), ("pulse.caption_low", low)):
                short = html.escape(_short(card.template, question.key, lang), quote=False)
                mean_text = format_mean(question.mean or 0, lang)
                lines.append(t(key, lang, short=short, mean=mean_text))
    return "\n".join(lines)


def _question_line(number: int, result: QuestionResult, card: ResultsCard, lang: str | None) -> str:
    short = html.escape(_short(card.template, result.key, lang), quote=False)
    if result.mean is None:
        return t("pulse.detail_hidden", lang, number=number, short=short)
    answers = tn("pulse.answers", result.n, lang)
    mean = format_mean(result.mean, lang)
    return t("pulse.detail_line", lang, number=number, short=short, mean=mean, answers=answers)


def _comment_entry(comment: str, room: int) -> str:
    """One comment as a bullet, cut with "…" when longer than ``room`` characters."""
    text = " ".join(comment.split())
    if _tg_len(text) + 2 > room:
        text = text[: max(room - 3, 0)].rstrip() + "…"
    return "• " + html.escape(text, quote=False)


def comment_pages(comments: Sequence[str], first_room: int, room: int) -> list[list[str]]:
    """The comments (bullets, HTML) split into pages: the first page has ``first_room``
    visible characters for them (it also holds the questions), the others ``room``. Every
    comment is on some page; one too long for a whole page is cut with "…"."""
    pages: list[list[str]] = [[]]
    used, limit = 0, first_room
    for comment in comments:
        entry = _comment_entry(comment, room)
        size = visible_length(entry) + 1
        if used + size > limit and (pages[-1] or limit < room):
            pages.append([])
            used, limit = 0, room
        pages[-1].append(entry)
        used += size
    return pages


def results_details(
    card: ResultsCard, comments: Sequence[str], lang: str | None, page: int
) -> tuple[str, int]:
    """The details, for the picture's caption: page 1 has every question's mean; the
    comments (when the results are shown) follow in an expandable quote, on as many pages as
    they need. Returns the HTML and the number of pages; ``page`` is from 1, clamped."""
    head = "\n".join([card.title(lang), card.count_line(lang)])
    questions = [
        _question_line(number, result, card, lang)
        for number, result in enumerate(card.results.questions, start=1)
    ]
    first = "\n".join([head, *questions])
    kept = [c for c in comments if c and c.strip()] if card.results.visible else []
    quote_title = t("pulse.comments_title", lang)
    # What stands around the comments on a page, and a margin.
    frame = visible_length(quote_title) + visible_length(t("pulse.comments_more", lang)) + 12
    pages = comment_pages(
        kept,
        max(CAPTION_LIMIT - visible_length(first) - frame, 0),
        CAPTION_LIMIT - visible_length(head) - frame,
    )
    page = min(max(page, 1), len(pages))
    lines = [first if page == 1 else head]
    if pages[page - 1]:
        quote = "\n".join([quote_title, *pages[page - 1]])
        lines.append(f"<blockquote expandable>{quote}</blockquote>")
    if page < len(pages):
        lines.append(t("pulse.comments_more", lang))
    return "\n".join(lines), len(pages)


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
    answers = tn("pulse.answers", results.count, lang)
    title = t("pulse.chart_title", lang, title=template.title.get(lang), answers=answers)
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


def _spark(value: float | None) -> str:
    if value is None:
        return "·"
    return _SPARK[round((min(max(value, 1.0), 5.0) - 1) / 4 * (len(_SPARK) - 1))]


def _trend_span(dates: Sequence[dt.date], lang: str | None) -> str:
    first, last = format_date(dates[0], lang), format_date(dates[-1], lang)
    return tn("pulse.trend_meetings", len(dates), lang, first=first, last=last)


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
