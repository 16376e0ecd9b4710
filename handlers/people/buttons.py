"""Buttons of the people feature that other features link to (typed, see bot/buttons.py).

``StaffButton`` lives here rather than in ``staff.py`` so that the knowledge-base editors'
card (handlers/kb/editors.py) can offer "back to the person's card" without importing the
staff flow, which itself shows the editors' button (no import loop)."""

from __future__ import annotations

from typing import Literal

from bot.buttons import ButtonData, RowId


class StaffButton(ButtonData, prefix="stf"):
    """``stf:view|rm|rmok:<staff id>``: a person's card, "remove", "yes, remove"."""

    action: Literal["view", "rm", "rmok"]
    staff_id: RowId
