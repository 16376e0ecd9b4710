"""Typed button data (bot/buttons.py): one parser refuses every forged or malformed datum."""

from __future__ import annotations

from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import bot.shell.app  # noqa: F401  (loads every feature's button kinds)
from bot.buttons import MAX_ID, ButtonData, Page, RowId, Small, Token
from handlers.ask.buttons import ArticleButton, VoteButton
from handlers.plans.buttons import FollowUpButton, PlanButton, PlanPersonButton
from handlers.pulse.answer import PulseAnswerButton


class _Example(ButtonData, prefix="ex"):
    action: Literal["go", "stop"]
    item: RowId
    page: Page
    small: Small
    word: Token


def test_a_button_packs_and_parses_back() -> None:
    button = _Example("go", 17, 0, 3, "sip_2")
    assert button.pack() == "ex:go:17:0:3:sip_2"
    assert _Example.parse("ex:go:17:0:3:sip_2") == button


@pytest.mark.parametrize(
    "forged",
    [
        "ex:go:0:0:3:w",  # ids start at 1
        f"ex:go:{MAX_ID + 1}:0:3:w",  # larger than a database integer
        "ex:go:99999999999:0:3:w",
        "ex:go:-1:0:3:w",
        "ex:go:١٢:0:3:w",  # digits of another script
        "ex:go: 7:0:3:w",
        "ex:go:7:10000:3:w",  # past the last possible page
        "ex:go:7:0:1000:w",
        "ex:jump:7:0:3:w",  # not an allowed word
        "ex:go:7:0:3",  # a part missing
        "ex:go:7:0:3:w:extra",
        "xx:go:7:0:3:w",  # another kind
        "ex:go:7:0:3:" + "w" * 41,
        "ex:go:7:0:3:w;drop",
        "",
    ],
)
def test_forged_data_is_refused(forged: str) -> None:
    assert _Example.parse(forged) is None


def test_what_cannot_be_read_back_is_never_packed() -> None:
    with pytest.raises(ValueError):
        _Example("go", 0, 0, 0, "w").pack()
    with pytest.raises(ValueError):
        _Example("go", 1, 0, 0, "two words").pack()


def test_matching_is_a_callback_pattern() -> None:
    close = PlanButton.matching(action="close")
    assert close("pln:close:17") and not close("pln:date:17") and not close("pln:close:x")
    assert not close(None) and not close(b"pln:close:17")
    held = FollowUpButton.matching(action="held")
    assert held("pln:held:17:20261217") and not held("pln:held:17")


def _every_kind(base: type[ButtonData]) -> list[type[ButtonData]]:
    found = []
    for kind in base.__subclasses__():
        found += [kind, *_every_kind(kind)]
    return found


# Every button kind of every feature (the shell imports them all).
KINDS: tuple[type[ButtonData], ...] = tuple(_every_kind(ButtonData))
assert {PlanButton, PlanPersonButton, ArticleButton, VoteButton, PulseAnswerButton} <= set(KINDS)


@given(st.text(max_size=80), st.sampled_from(KINDS))
def test_parsing_never_raises_and_round_trips(data: str, kind: type[ButtonData]) -> None:
    """Any text parses to a button or None, never an exception; a parsed button packs back
    to the same data, within Telegram's 64 bytes."""
    button = kind.parse(data)
    if button is not None:
        assert button.pack() == data
        assert len(data.encode()) <= 64
