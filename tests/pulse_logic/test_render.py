"""Rendering: the results text, the PNG charts, the trend, the QR code and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence

import pytest
import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from handlers.pulse.render import (
    CAPTION_LIMIT,
    ResultsCard,
    ResultsHiddenError,
    comment_pages,
    format_mean,
    overall_mean,
    qr_png,
    render_results_png,
    render_trend_png,
    render_trend_text,
    results_caption,
    results_details,
    visible_length,
)
from storage.pulse.logic import (
    EXPORT_COLUMNS,
    PulseResults,
    PulseSummary,
    TrendPoint,
    aggregate,
    pulse_export_csv,
)
from storage.pulse.templates import Template

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _results(
    template: Template, rows: Sequence[tuple[int | None, ...]], k: int = 3
) -> PulseResults:
    answers = [dict(zip(template.question_keys, row, strict=False)) for row in rows]
    return aggregate(template.question_keys, answers, k)


@pytest.fixture
def results(barnteam: Template) -> PulseResults:
    """Five answers; the last question answered by only two people."""
    return _results(
        barnteam,
        [(5, 4, 4, 3, 5), (4, 4, 5, 3, 4), (4, 5, 3, 2, None), (5, 5, 4, 4, None), (3, 4, 4, 3)],
    )


def _png(data: bytes) -> Image.Image:
    assert data.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image


def test_format_mean_uses_a_decimal_comma_in_swedish() -> None:
    """17/4 is written 4,3 in Swedish and 4.3 in English: one decimal, halves rounded up."""
    assert format_mean(17 / 4, "sv") == "4,3"
    assert format_mean(87 / 20, "sv") == "4,4"  # 4.35 is 4.3499… in binary
    assert format_mean(13 / 3, "en") == "4.3"
    assert format_mean(5, "sv") == "5,0"


def _card(template: Template, results: PulseResults, label: str = "Barnteam Norr") -> ResultsCard:
    return ResultsCard(results, template, label, dt.date(2026, 3, 4))


def test_caption_is_short_with_title_count_and_headline(
    barnteam: Template, results: PulseResults
) -> None:
    """The picture's caption: bold title, the count with its closing day, the mean of every
    shown score, and the highest and lowest question; values escaped for HTML."""
    card = _card(barnteam, results, "Norr <&> Väst")
    assert results_caption(card, "sv").splitlines() == [
        "<b>Barnteamsmöte – Norr &lt;&amp;&gt; Väst</b>",
        "5 svar · stängd ons 4 mars",
        "Medel 3,9 av 5 för alla frågor",
        "Högst: Barnets perspektiv 4,4",
        "Lägst: Tydligt vem som gör vad 3,0",
    ]
    english = results_caption(card, "en")
    assert english.splitlines()[1:3] == [
        "5 answers · closed Wed 4 Mar",
        "Average 3.9 of 5 across all questions",
    ]
    assert "Highest: Child's perspective 4.4" in english


def test_counts_use_the_plural_rules(barnteam: Template) -> None:
    """“1 answer” but “3 answers”; Swedish “svar” either way (Babel's plural rules)."""
    results = _results(barnteam, [(4, 4, 4, 4, 4)] * 3)
    assert overall_mean(results) == 4.0
    assert _card(barnteam, results).count_line("en").startswith("3 answers ·")
    assert "(3 answers)" in results_details(_card(barnteam, results), [], "en", 1)[0]
    one = PulseResults(count=1, k=3, visible=False)
    assert _card(barnteam, one).count_line("en").startswith("1 answer ·")
    assert _card(barnteam, one).count_line("sv").startswith("1 svar ·")


def test_details_show_every_question_and_the_comments_in_a_quote(
    barnteam: Template, results: PulseResults
) -> None:
    """Page 1: each question's mean and number of answers (a question below k is not shown)
    and the comments, escaped, in an expandable quote."""
    text, pages = results_details(
        _card(barnteam, results), ["Tydligt och bra.", "Bra <b>möte</b>"], "sv", 1
    )
    assert pages == 1
    assert "1. Tydligt syfte: 4,2 (5 svar)\n" in text
    assert "5. Samverkan: visas inte (för få svar)\n" in text
    assert text.endswith(
        "<blockquote expandable>Kommentarer (i slumpvis ordning)\n"
        "• Tydligt och bra.\n• Bra &lt;b&gt;möte&lt;/b&gt;</blockquote>"
    )
    assert "Fler kommentarer" not in text


def test_hidden_results_have_no_figures_and_no_comments(barnteam: Template) -> None:
    """Below k the details hold neither figures nor comments, whatever is passed in."""
    hidden = _results(barnteam, [(1, 1, 1, 1, 1), (5, 5, 5, 5, 5)])
    text, pages = results_details(_card(barnteam, hidden), ["hemlig kommentar"], "sv", 1)
    assert pages == 1 and "hemlig" not in text and "Medel" not in text
    assert overall_mean(hidden) is None


def test_many_comments_take_pages_each_within_a_caption(
    barnteam: Template, results: PulseResults
) -> None:
    """200 long comments: every page is at most 1,024 characters as Telegram counts them
    (emoji count twice), and every comment is on exactly one page."""
    comments = [f"Kommentar {i}: " + "lång text " * 40 for i in range(100)]
    comments += [f"Emoji {i} " + "👍" * 300 for i in range(100)]
    card = _card(barnteam, results)
    _first, pages = results_details(card, comments, "sv", 1)
    assert pages > 10
    seen = []
    for page in range(1, pages + 1):
        text, _ = results_details(card, comments, "sv", page)
        assert visible_length(text) <= CAPTION_LIMIT, page
        assert text.endswith("Fler kommentarer: tryck på ▶.") == (page < pages)
        seen += re.findall(r"• (Kommentar \d+|Emoji \d+)", text)
    assert sorted(seen) == sorted(c.split(":")[0].split(" 👍")[0].strip() for c in comments)
    assert results_details(card, comments, "sv", pages + 5) == results_details(
        card, comments, "sv", pages
    )


def test_a_comment_longer_than_a_page_is_cut(barnteam: Template, results: PulseResults) -> None:
    """One comment too long for a whole page is cut with "…" and still fits."""
    pages = comment_pages(["x" * 1000], 100, 500)
    assert [len(page) for page in pages] == [0, 1]
    assert pages[1][0].endswith("…") and visible_length(pages[1][0]) <= 500


def test_results_png_is_a_phone_sized_png(barnteam: Template, results: PulseResults) -> None:
    """The chart is a valid PNG 800 px wide and taller for more questions."""
    image = _png(render_results_png(results, barnteam, "sv"))
    assert image.width == 800
    assert 500 <= image.height <= 1000
    assert "Software" not in image.info


def test_results_png_refuses_hidden_results(barnteam: Template) -> None:
    """No chart can be drawn below k."""
    with pytest.raises(ResultsHiddenError):
        render_results_png(_results(barnteam, [(5, 5, 5, 5, 5)]), barnteam, "sv")


def _trend(template: Template) -> list[TrendPoint]:
    start = dt.date(2026, 1, 12)
    points = []
    for week in range(12):
        rows = [(3 + (week + i) % 3, 4, 4, 3, 5) for i in range(3 if week % 4 else 2)]
        points.append(TrendPoint(start + dt.timedelta(weeks=week), _results(template, rows)))
    return points


def test_trend_text_uses_only_visible_pulses(barnteam: Template) -> None:
    """Pulses below k are left out; the last ten visible ones are summarised."""
    text = render_trend_text(_trend(barnteam), barnteam, "sv", last=5)
    lines = text.splitlines()
    assert lines[0] == "Trend – Barnteamsmöte"
    assert lines[1] == "5 möten, 23 februari 2026 – 30 mars 2026"
    assert "2. Barnets perspektiv\n▆▆▆▆▆  4,0 → 4,0" in text


def test_trend_text_without_visible_pulses(barnteam: Template) -> None:
    """With nothing visible the trend says so."""
    text = render_trend_text(_trend(barnteam)[:1], barnteam, "en")
    assert text.endswith("There is no meeting with enough answers to show yet.")


def test_trend_png_is_a_valid_png(barnteam: Template) -> None:
    """The trend chart renders, and refuses when no pulse is visible."""
    image = _png(render_trend_png(_trend(barnteam), barnteam, "en"))
    assert image.width == 800
    assert image.height > 500
    with pytest.raises(ResultsHiddenError):
        render_trend_png(_trend(barnteam)[:1], barnteam, "sv")


def test_qr_png_encodes_the_link() -> None:
    """The QR image's modules match the QR code for the link (level M), large for a projector."""
    url = "https://t.me/dalsbot?start=pulse_8f3k2m"
    image = _png(qr_png(url)).convert("L")
    assert image.width == image.height >= 800
    expected = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    expected.add_data(url)
    expected.make(fit=True)
    matrix = expected.get_matrix()
    box = image.width // len(matrix)
    decoded = [
        [image.getpixel((x * box + box // 2, y * box + box // 2)) == 0 for x in range(len(matrix))]
        for y in range(len(matrix))
    ]
    assert decoded == matrix


def test_qr_png_refuses_an_empty_link() -> None:
    """An empty link is a bug, not a blank QR code."""
    with pytest.raises(ValueError):
        qr_png(" ")


def test_export_csv_has_only_aggregates(barnteam: Template, results: PulseResults) -> None:
    """One row per question with n, mean and counts; a hidden pulse has no figures."""
    hidden = _results(barnteam, [(5, 5, 5, 5, 5)])
    text = pulse_export_csv(
        [
            PulseSummary(1, "barnteam", barnteam.version, "Åmål", dt.date(2026, 3, 4), results),
            PulseSummary(2, "barnteam", barnteam.version, "=Dals-Ed", None, hidden),
        ]
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert rows[1] == [
        "1", "barnteam", barnteam.version, "Åmål", "2026-03-04",
        "syfte", "5", "4.20", "0", "0", "1", "2", "2",
    ]  # fmt: skip
    assert rows[5][5:] == ["samverkan", "2", "", "", "", "", "", ""]
    assert rows[6] == ["2", "barnteam", barnteam.version, "'=Dals-Ed", "", *[""] * 8]
    assert len(rows) == 7
