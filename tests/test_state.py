"""Typed per-person state (bot/state.py): what is stored, and what a stored row gives back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from bot.guard import contains_identity_number
from bot.state import UserState, flow_draft


@flow_draft("test_example")
@dataclass
class _Example:
    text: str = ""
    when: dt.datetime | None = None
    ids: list[int] = field(default_factory=list)


def test_a_state_round_trips_through_json() -> None:
    state = UserState(lang="en")
    moment = dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.UTC)
    state.put(_Example("BP-17", moment, [3, 4]))
    again = UserState.from_json(state.to_json())
    assert again.lang == "en"
    assert again.get(_Example) == _Example("BP-17", moment, [3, 4])
    assert again.pop(_Example) is not None and again.get(_Example) is None


def test_a_draft_holding_an_identity_number_is_never_written() -> None:
    state = UserState()
    state.put(_Example("barnet 121212-1212"))
    assert "121212" not in state.to_json()
    assert UserState.from_json(state.to_json()).get(_Example) is None


@flow_draft("test_with_keyboard")
@dataclass
class _WithKeyboard:
    text: str = ""
    question: list[object] = field(default_factory=list)


def test_a_kept_keyboards_button_data_is_not_taken_for_an_identity_number() -> None:
    """A step's keyboard kept to ask again holds the bot's own button data: a day and a time
    side by side ("20261126:1300") read like a personnummer born today, and dropped the draft
    (a tester's typed time after "Ändra tid" was then answered as a stale button)."""
    today = dt.date.today().strftime("%Y%m%d")
    # A time of day whose digits after today's date pass the check digit (one in ten does).
    data = next(
        data
        for data in (f"pln:settime:1:{today}:{h:02d}{m:02d}" for h in range(24) for m in range(60))
        if contains_identity_number(data)
    )
    keyboard = {"inline_keyboard": [[{"text": "Tid", "callback_data": data}]]}
    state = UserState()
    state.put(_WithKeyboard("Ny tid?", ["Ny tid?", keyboard]))
    assert UserState.from_json(state.to_json()).get(_WithKeyboard) is not None
    state.put(_WithKeyboard("barnet 121212-1212", ["Ny tid?", keyboard]))
    assert UserState.from_json(state.to_json()).get(_WithKeyboard) is None


@pytest.mark.parametrize(
    "stored",
    [
        "not json",
        "[1, 2]",
        '{"drafts": [1]}',
        '{"lang": 7, "drafts": {"test_example": {"ids": "x"}}}',
        '{"drafts": {"a_kind_from_an_older_version": {}}}',
    ],
)
def test_a_stored_state_that_does_not_read_gives_an_empty_one(stored: str) -> None:
    state = UserState.from_json(stored)
    assert state.lang is None and state.get(_Example) is None


def test_a_draft_kind_is_declared_once() -> None:
    with pytest.raises(ValueError):

        @flow_draft("test_example")
        @dataclass
        class _Other:
            text: str = ""
