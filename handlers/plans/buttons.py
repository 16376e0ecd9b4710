"""The plan feature's button kinds (see bot/buttons.py), one class per shape of data.

``pln`` buttons work from any message (a card, a list, a reminder) and carry only ids: every
press reloads the plan and the presser's rights. ``np`` (/ny_plan) and ``pf`` (a follow-up's
time and place) buttons belong to the step of a running flow; ``rem`` buttons sit on reminders
and /installningar. The calendar's own kinds (``cal``) live in handlers/plans/calendar_keyboard.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final, Literal, get_args

from bot.buttons import ButtonData, Page, RowId, Small, Token
from storage.plans.models import PlanType

# -- pln: the plan card, the list, the team -----------------------------------------------------

PlanAction = Literal["card", "held", "date", "addp", "rml", "close", "closeok", "reopen", "ics"]


class PlanButton(ButtonData, prefix="pln"):
    """``pln:<action>:<plan id>``: a card button (or a reminder's held / new date)."""

    action: PlanAction
    plan_id: RowId


class PlanPersonButton(ButtonData, prefix="pln"):
    """``pln:addpk|rmp:<plan id>:<staff id>``: a person to add to or remove from the plan."""

    action: Literal["addpk", "rmp"]
    plan_id: RowId
    staff_id: RowId


class PlanPickerPageButton(ButtonData, prefix="pln"):
    """``pln:addpg:<plan id>:<page>``: ◀/▶ among the people who can be added."""

    action: Literal["addpg"]
    plan_id: RowId
    page: Page


class PlanListPageButton(ButtonData, prefix="pln"):
    """``pln:list:<page>``: ◀/▶ in /planer."""

    action: Literal["list"]
    page: Page


# -- np: the steps of /ny_plan ------------------------------------------------------------------

PlanTypeName = Literal["barnets_plan", "sip", "annan"]
PLAN_TYPE_NAMES: Final[tuple[PlanTypeName, ...]] = get_args(PlanTypeName)
if tuple(PlanType) != PLAN_TYPE_NAMES:  # the buttons offer exactly the stored types, in order
    raise RuntimeError("PlanTypeName must list storage.plans.models.PlanType")


class NewPlanTypeButton(ButtonData, prefix="np"):
    """``np:type:<plan type>``."""

    action: Literal["type"]
    plan_type: PlanTypeName


class NewPlanMunicipalityButton(ButtonData, prefix="np"):
    """``np:mun:<index>``: the municipality at ``index`` of the Municipality enum."""

    action: Literal["mun"]
    index: Small


class NewPlanMeButton(ButtonData, prefix="np"):
    """``np:resp:me``: the creator is responsible."""

    action: Literal["resp"]
    who: Literal["me"]


class NewPlanPersonButton(ButtonData, prefix="np"):
    """``np:resp:<staff id>`` (the responsible) or ``np:part:<staff id>`` (a participant)."""

    action: Literal["resp", "part"]
    staff_id: RowId


class NewPlanPageButton(ButtonData, prefix="np"):
    """``np:rpg:<page>`` (responsibles) or ``np:ppg:<page>`` (participants): ◀/▶."""

    action: Literal["rpg", "ppg"]
    page: Page


class NewPlanStepButton(ButtonData, prefix="np"):
    """``np:done`` (participants chosen), ``np:ok`` (create), ``np:again`` (start again)."""

    action: Literal["done", "ok", "again"]


# -- pf: a follow-up's time and place -----------------------------------------------------------


class LaterButton(ButtonData, prefix="pf"):
    """``pf:later``: no next date after a held follow-up, for now."""

    action: Literal["later"]


NO_TIME: Final = "none"


class TimeButton(ButtonData, prefix="pf"):
    """``pf:time:<HHMM>`` or ``pf:time:none``."""

    action: Literal["time"]
    at: Token

    @classmethod
    def of(cls, value: dt.time | None) -> TimeButton:
        """The button for ``value`` (None: no time)."""
        return cls("time", NO_TIME if value is None else f"{value:%H%M}")

    @property
    def valid(self) -> bool:
        """True for ``none`` or a real time of day as four digits."""
        return self.at == NO_TIME or self.chosen is not None

    @property
    def chosen(self) -> str | None:
        """``HH:MM``, or None for no time (or a time that is not one: see :attr:`valid`)."""
        at = self.at
        if len(at) != 4 or not at.isascii() or not at.isdigit():
            return None
        try:
            return f"{dt.time(int(at[:2]), int(at[2:])):%H:%M}"
        except ValueError:
            return None


class PlaceButton(ButtonData, prefix="pf"):
    """``pf:place:skip`` (no place) or ``pf:place:keep`` (the place booked before)."""

    action: Literal["place"]
    choice: Literal["skip", "keep"]


# -- rem: reminders and /installningar ----------------------------------------------------------


class SnoozeButton(ButtonData, prefix="rem"):
    """``rem:snooze:<reminder id>``: "remind me tomorrow"."""

    action: Literal["snooze"]
    reminder_id: RowId


class DigestButton(ButtonData, prefix="rem"):
    """``rem:digest:on|off``: the daily digest in /installningar."""

    action: Literal["digest"]
    turn: Literal["on", "off"]


# -- patterns -----------------------------------------------------------------------------------


def any_of(*patterns: Callable[[object], bool]) -> Callable[[object], bool]:
    """A ``CallbackQueryHandler`` pattern that matches what any of ``patterns`` matches."""
    return lambda data: any(pattern(data) for pattern in patterns)


def under(prefix: str) -> Callable[[object], bool]:
    """A pattern for a catch-all: any data under ``prefix``, well-formed or not (forged or
    out-of-step data of this feature is refused as stale there)."""
    return lambda data: isinstance(data, str) and data.split(":", 1)[0] == prefix
