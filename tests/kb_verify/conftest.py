"""Fixtures of the knowledge-base tests."""

from __future__ import annotations

import pytest

from bot.context import DalsbotApp
from bot.shell.standin import BotApiStandIn, SimUser
from tests.helpers import staff_chat


@pytest.fixture
def person(app: DalsbotApp, standin: BotApiStandIn) -> SimUser:
    """A registered staff member (Anna Ek, Mellerud, Swedish) and their chat with the bot."""
    return staff_chat(app, standin, 101, "Anna Ek")
