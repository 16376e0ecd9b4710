"""How a plan reads: the follow-up with its weekday, the card, the list line (both languages)."""

from __future__ import annotations

import datetime as dt

from handlers.plans.render import card_text, follow_up_when, list_button, list_line
from storage.plans.store import ALL_RIGHTS, Person, PlanSummary, PlanView

WHEN = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def _view(**changes: object) -> PlanView:
    values: dict[str, object] = {
        "id": 1, "reference": "BP-17", "plan_type": "barnets_plan", "municipality": "region",
        "status": "active", "responsible": Person(1, "Anna Ek", 101, "Mellerud"),
        "participants": (Person(2, "Bo Al", 102, "Mellerud"),),
        "next_follow_up": dt.date(2027, 1, 15), "follow_up_time": dt.time(13, 30),
        "place": "Familjecentralen", "held_count": 2, "rights": ALL_RIGHTS,
        "created_at": WHEN, "updated_at": WHEN,
    }  # fmt: skip
    values.update(changes)
    return PlanView(**values)  # type: ignore[arg-type]


def test_follow_up_reads_with_weekday_time_and_place() -> None:
    """ "fredag 15 januari 2027 kl. 13:30, plats" in Swedish, the same shape in English."""
    day = dt.date(2027, 1, 15)
    assert follow_up_when(day, dt.time(13, 30), "Skolan", "sv") == (
        "fredag 15 januari 2027 kl. 13:30, Skolan"
    )
    assert follow_up_when(day, None, None, "sv") == "fredag 15 januari 2027"
    assert follow_up_when(day, dt.time(9, 5), None, "en") == "Friday 15 January 2027 at 09:05"
    assert follow_up_when(None, None, None, "sv") == "ingen bokad"


def test_card_in_swedish_and_english() -> None:
    """The card: a bold title, municipality, people, next follow-up, how many were held (a
    plural), and "closed" only when it is; every value escaped for HTML."""
    today = dt.date(2026, 11, 25)
    assert card_text(_view(), "sv", today) == (
        "<b>📋 BP-17 · Barnets plan</b>\n"
        "Kommun: Hela Dalsland (region)\n"
        "Ansvarig: Anna Ek\n"
        "Deltagare: Bo Al\n"
        "Nästa uppföljning: fredag 15 januari 2027 kl. 13:30, Familjecentralen\n"
        "2 uppföljningar har hållits."
    )
    english = card_text(_view(participants=(), status="closed", held_count=1), "en", today, "Done.")
    assert english.startswith("Done.\n\n<b>📋 BP-17 · Child's plan</b>\n")
    assert "Participants: none yet\nNext follow-up: none booked\n" in english
    assert english.endswith("1 follow-up has been held.\n🔒 The plan is closed.")
    assert "hållits" not in card_text(_view(held_count=0), "sv", today)
    overdue = card_text(_view(), "sv", dt.date(2027, 1, 16))
    assert overdue.endswith("⚠️ Datumet har passerat utan att uppföljningen markerats som hållen.")


def test_card_escapes_values_and_names_at_most_six_people() -> None:
    """A place with ``<`` or ``&`` is escaped; a big team reads "och 4 till"."""
    team = tuple(Person(i, f"P{i}", 100 + i, "Mellerud") for i in range(2, 12))
    text = card_text(_view(place="A & <B>", participants=team), "sv", dt.date(2026, 11, 25))
    assert "Familjecentralen" not in text and "A &amp; &lt;B&gt;" in text
    assert "Deltagare: P2, P3, P4, P5, P6, P7 och 4 till\n" in text
    assert len(text) <= 1200 and len(text.splitlines()) <= 15


def test_list_line_and_button() -> None:
    """One line per plan in /planer, overdue marked in the text and on the button."""
    summary = PlanSummary(1, "BP-17", "sip", dt.date(2026, 11, 20), None, overdue=True)
    assert list_line(summary, "sv") == "⚠️ BP-17 · SIP · fre 20 nov. (försenad)"
    assert list_line(summary, "en") == "⚠️ BP-17 · SIP · Fri 20 Nov (overdue)"
    assert list_button(summary, "sv") == "⚠️ BP-17 · 20 nov."
    waiting = PlanSummary(2, "BP-2", "annan", None, None, overdue=False)
    assert list_line(waiting, "sv") == "BP-2 · Annan plan · ingen bokad"
    assert list_button(waiting, "sv") == "BP-2 · –"
