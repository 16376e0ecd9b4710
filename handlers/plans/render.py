"""How plans read in chat: the card, the list line, a follow-up's day, time and place.

Plain functions over plain values (:class:`storage.plans.store.PlanView`, ``PlanSummary``), so
the texts are tested without Telegram. All words come from the catalogue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from html import escape as html_escape

from bot.i18n import Lang, format_date, format_date_short, format_time, t, tn
from handlers.common import municipality_label
from storage.plans.models import PlanType
from storage.plans.store import Person, PlanSummary, PlanView


def escape(text: str) -> str:
    """``text`` safe in an HTML message outside attributes (quotes stay as they are)."""
    return html_escape(text, quote=False)


PLAN_TYPES = frozenset(plan_type.value for plan_type in PlanType)


def plan_type_label(plan_type: str, lang: Lang, *, in_reminder: bool = False) -> str:
    """``Barnets plan``, ``SIP``, ``Annan plan``; in a reminder the last is ``Plan``, as is a
    type the reminder does not know."""
    if in_reminder:
        known = plan_type if plan_type in PLAN_TYPES else PlanType.OTHER.value
        return t(f"reminders.type_{known}", lang)
    return t(f"plans.types.{plan_type}", lang)


def day_with_weekday(day: dt.date, lang: Lang) -> str:
    """``fredag 15 januari 2027`` / ``Friday 15 January 2027``."""
    weekday = t(f"plans.weekdays.{day.weekday()}", lang)
    return t("plans.when_day", lang, weekday=weekday, date=format_date(day, lang))


def follow_up_when(day: dt.date | None, time: dt.time | None, place: str | None, lang: Lang) -> str:
    """``fredag 15 januari 2027 kl. 13:30, Familjecentralen``; "ingen bokad" without a day."""
    if day is None:
        return t("plans.no_date", lang)
    when = day_with_weekday(day, lang)
    if time is not None:
        when = t("plans.when_time", lang, when=when, time=format_time(time))
    if place:
        when = t("plans.when_place", lang, when=when, place=place)
    return when


def names(people: Iterable[Person], lang: Lang) -> str:
    """Names separated by commas, or "inga ännu"."""
    listed = [person.name for person in people]
    return ", ".join(listed) if listed else t("plans.no_participants", lang)


def plan_words(
    plan_type: str, municipality: str, participants: Iterable[Person], lang: Lang
) -> dict[str, str]:
    """How a plan's type, municipality and team read in its texts (the card, the summary of
    a new plan): the catalogue's ``plan_type``, ``municipality`` and ``participants``."""
    return {
        "plan_type": plan_type_label(plan_type, lang),
        "municipality": municipality_label(municipality, lang),
        "participants": names(participants, lang),
    }


# The card names this many participants, then "and N more" (a phone shows ~15 lines).
CARD_NAMES = 6


def card_names(people: Sequence[Person], lang: Lang) -> str:
    """The first :data:`CARD_NAMES` names, then "och 3 till"; "inga ännu" for nobody."""
    if len(people) <= CARD_NAMES:
        return names(people, lang)
    shown = names(people[:CARD_NAMES], lang)
    return f"{shown} {tn('plans.more_people', len(people) - CARD_NAMES, lang)}"


def card_text(view: PlanView, lang: Lang, today: dt.date, notice: str | None = None) -> str:
    """The plan card, HTML (a bold title, every value escaped); ``notice`` (what just
    happened, HTML already) goes first."""
    words = plan_words(view.plan_type, view.municipality, (), lang)
    text = t(
        "plans.card",
        lang,
        reference=escape(view.reference),
        responsible=escape(view.responsible.name),
        # A closed plan keeps its last booked date in the database, but nothing is booked.
        next=escape(
            follow_up_when(view.next_follow_up, view.follow_up_time, view.place, lang)
            if view.active
            else t("plans.no_date", lang)
        ),
        plan_type=escape(words["plan_type"]),
        municipality=escape(words["municipality"]),
        participants=escape(card_names(view.participants, lang)),
    )
    if view.held_count:
        text += "\n" + tn("plans.card_held", view.held_count, lang)
    closed = t("plans.card_closed", lang)
    if not view.active and closed not in (notice or ""):  # said once, by the notice
        text += "\n" + closed
    if view.overdue(today):
        text += "\n\n" + t("plans.card_overdue", lang)
    return f"{notice}\n\n{text}" if notice else text


def list_line(summary: PlanSummary, lang: Lang) -> str:
    """One plan in /planer: ``⚠️ BP-17 · SIP · ons 18 nov (försenad)``."""
    if summary.next_follow_up is None:
        when = t("plans.no_date", lang)
    else:
        when = format_date_short(summary.next_follow_up, lang)
        if summary.follow_up_time is not None:
            when += f" {format_time(summary.follow_up_time)}"
    if summary.overdue:
        when += t("plans.list_overdue", lang)
    return t(
        "plans.list_line",
        lang,
        mark="⚠️ " if summary.overdue else "",
        reference=summary.reference,
        plan_type=plan_type_label(summary.plan_type, lang),
        when=when,
    )


def list_button(summary: PlanSummary, lang: Lang) -> str:
    """The button that opens a plan from the list: ``⚠️ BP-17 · 18 nov``."""
    mark = "⚠️ " if summary.overdue else ""
    when = (
        format_date_short(summary.next_follow_up, lang).split(" ", 1)[1]
        if summary.next_follow_up
        else "–"
    )
    return f"{mark}{summary.reference} · {when}"
