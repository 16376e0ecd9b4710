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

PlanAction = Literal[
    "card", "more", "date", "addp", "rml", "close", "closeok", "reopen", "ics", "resp", "type"
]


class PlanButton(ButtonData, prefix="pln"):
    """``pln:<action>:<plan id>``: a card button about the plan as a whole (``date`` here
    books a next follow-up when none is booked)."""

    action: PlanAction
    plan_id: RowId


FollowUpAction = Literal["held", "early", "heldok", "date", "time", "place", "noplace"]


class FollowUpButton(ButtonData, prefix="pln"):
    """``pln:<action>:<plan id>:<YYYYMMDD>``: a button about one follow-up (on a reminder or
    the card): held, held earlier, confirm held, new date, its time or place. The day says
    which follow-up it was about; a press is refused when the plan's next one is another."""

    action: FollowUpAction
    plan_id: RowId
    day: Token

    @classmethod
    def about(cls, action: FollowUpAction, plan_id: int, day: dt.date) -> FollowUpButton:
        """The ``action`` button about the follow-up on ``day``."""
        return cls(action, plan_id, f"{day:%Y%m%d}")

    @property
    def follow_up(self) -> dt.date | None:
        """The follow-up's day, or None when the data is not a day."""
        if len(self.day) != 8 or not self.day.isascii() or not self.day.isdigit():
            return None
        try:
            return dt.date(int(self.day[:4]), int(self.day[4:6]), int(self.day[6:]))
        except ValueError:
            return None


class FollowUpTimeButton(ButtonData, prefix="pln"):
    """``pln:settime:<plan id>:<YYYYMMDD>:<HHMM|none>``: a new time for that follow-up."""

    action: Literal["settime"]
    plan_id: RowId
    day: Token
    at: Token


class UndoHeldButton(ButtonData, prefix="pln"):
    """``pln:undo:<plan id>:<held follow-up id>``: undo "held" for a few minutes."""

    action: Literal["undo"]
    plan_id: RowId
    held_id: RowId


class PlanTypeButton(ButtonData, prefix="pln"):
    """``pln:settype:<plan id>:<plan type>``: the plan's new type."""

    action: Literal["settype"]
    plan_id: RowId
    plan_type: PlanTypeName


class PlanPersonButton(ButtonData, prefix="pln"):
    """``pln:addpk|rmp|setresp:<plan id>:<staff id>``: a person to add to or remove from
    the plan, or to make responsible."""

    action: Literal["addpk", "rmp", "setresp"]
    plan_id: RowId
    staff_id: RowId


class PlanPickerPageButton(ButtonData, prefix="pln"):
    """``pln:addpg|resppg:<plan id>:<page>``: ◀/▶ among the people who can be added or
    made responsible."""

    action: Literal["addpg", "resppg"]
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


# The steps of /ny_plan (and of a follow-up's date, time and place) a back button goes to;
# ``exit`` leaves the wizard (the first step's "cancel").
WizardStep = Literal["exit", "ref", "type", "mun", "resp", "part", "date", "time", "place"]


class NewPlanBackButton(ButtonData, prefix="np"):
    """``np:back:<step>``: back to the step before, with what was chosen kept. Each step
    takes only the back button to its own previous step (see handlers/plans/create.py)."""

    action: Literal["back"]
    to: WizardStep


class NewPlanReferenceButton(ButtonData, prefix="np"):
    """``np:ref:new`` (the generated reference offered) or ``np:ref:keep`` (the reference
    chosen before going back); the reference itself is in the draft, never in the data."""

    action: Literal["ref"]
    choice: Literal["new", "keep"]


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


# -- patterns -----------------------------------------------------------------------------------


def any_of(*patterns: Callable[[object], bool]) -> Callable[[object], bool]:
    """A ``CallbackQueryHandler`` pattern that matches what any of ``patterns`` matches."""
    return lambda data: any(pattern(data) for pattern in patterns)


def under(prefix: str) -> Callable[[object], bool]:
    """A pattern for a catch-all: any data under ``prefix``, well-formed or not (forged or
    out-of-step data of this feature is refused as stale there)."""
    return lambda data: isinstance(data, str) and data.split(":", 1)[0] == prefix
