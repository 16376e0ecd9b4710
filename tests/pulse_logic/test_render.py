"""Rendering: the results text, the PNG charts, the trend, the QR code and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence

import pytest
import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from handlers.pulse.render import (
    TELEGRAM_TEXT_LIMIT,
    ResultsHiddenError,
    distribution_bars,
    format_mean,
    qr_png,
    render_results_png,
    render_results_text,
    render_trend_png,
    render_trend_text,
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


def test_distribution_bars_are_scaled_to_twelve_blocks() -> None:
    """The largest count gets 12 blocks, others in proportion, zero gets a dot."""
    assert distribution_bars((0, 1, 0, 3, 6)) == [
        "5 ▇▇▇▇▇▇▇▇▇▇▇▇ 6",
        "4 ▇▇▇▇▇▇ 3",
        "3 · 0",
        "2 ▇▇ 1",
        "1 · 0",
    ]


def test_results_text_in_swedish(barnteam: Template, results: PulseResults) -> None:
    """The text shows the count, each question's mean with a comma and its bars."""
    text = render_results_text(
        results, barnteam, "sv", ["Tydligt och bra."], date=dt.date(2026, 3, 4)
    )
    assert text.splitlines()[:3] == ["Resultat – Barnteamsmöte", "4 mars 2026", "5 svar"]
    assert "1. Tydligt syfte\nMedel 4,2 av 5 (5 svar)\n5 ▇▇▇▇▇▇▇▇▇▇▇▇ 2\n" in text
    assert "5. Samverkan\nVisas inte – för få svar på den här frågan." in text
    assert text.endswith("Kommentarer (i slumpvis ordning)\n• Tydligt och bra.")


def test_results_text_in_english(barnteam: Template, results: PulseResults) -> None:
    """The English text uses a decimal point and the English short labels."""
    text = render_results_text(results, barnteam, "en")
    assert "1. Clear purpose\nAverage 4.2 of 5 (5 answers)" in text
    assert "Comments" not in text


def test_hidden_results_say_only_too_few(barnteam: Template) -> None:
    """Below k the text has no figures, no count and no comments."""
    hidden = _results(barnteam, [(1, 1, 1, 1, 1), (5, 5, 5, 5, 5)])
    text = render_results_text(hidden, barnteam, "sv", ["hemlig kommentar"])
    assert text == (
        "Resultat – Barnteamsmöte\n\n"
        "För få svar än för att visa resultatet. Det behövs minst 3 svar så att ingen kan "
        "pekas ut."
    )
    closed = render_results_text(hidden, barnteam, "sv", closed=True)
    assert closed.endswith(
        "Det kom in för få svar för att visa något resultat – så skyddas de som svarade."
    )
    assert "2" not in closed


def test_many_comments_are_truncated_with_a_note(barnteam: Template, results: PulseResults) -> None:
    """200 long comments still give one message under Telegram's 4,096 characters."""
    comments = [f"Kommentar {i}: " + "lång text " * 90 for i in range(200)]
    text = render_results_text(results, barnteam, "sv", comments)
    assert len(text.encode("utf-16-le")) // 2 <= TELEGRAM_TEXT_LIMIT
    shown = text.count("• Kommentar ")
    assert 0 < shown < 200
    assert text.endswith(f"… och {200 - shown} kommentarer till som inte får plats här.")


def test_emoji_count_double_towards_the_limit(barnteam: Template, results: PulseResults) -> None:
    """Telegram counts UTF-16 units, so emoji-heavy comments are measured that way."""
    comments = ["👍" * 900 for _ in range(10)]
    text = render_results_text(results, barnteam, "en", comments)
    assert len(text.encode("utf-16-le")) // 2 <= TELEGRAM_TEXT_LIMIT
    assert text.endswith("more comments that do not fit here.")


def test_one_comment_left_out_uses_the_singular(barnteam: Template, results: PulseResults) -> None:
    """“1 kommentar till”, not “1 kommentarer till”."""
    body = render_results_text(results, barnteam, "sv")
    room = TELEGRAM_TEXT_LIMIT - len(body) - 60
    text = render_results_text(results, barnteam, "sv", ["a" * (room - 100), "b" * 900])
    assert text.endswith("… och 1 kommentar till som inte får plats här.")


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
