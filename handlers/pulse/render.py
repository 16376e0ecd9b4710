"""Pulse results, trends and links as people see them: text, charts, the QR code.

The text renderers produce plain text (send it without a parse mode) that fits one Telegram
message. The PNG renderers use matplotlib's object API on the Agg canvas, never pyplot, so
they hold no global state and work without a display; run them in a worker thread. A chart
of results below ``k`` is refused (:class:`ResultsHiddenError`).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

from bot.i18n import as_lang, format_date, format_date_short, t
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
BAR_WIDTH: Final = 12
BAR_CHAR: Final = "▇"
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
