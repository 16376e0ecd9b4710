"""Acute-danger recognition, with care for ordinary procedural questions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.emergency import is_emergency


@pytest.mark.parametrize(
    "text",
    [
        "pappa slår barnet just nu",
        "elev vill ta livet av sig",
        "eleven pratar om självmord",
        "AKUT!!",
        "ring 112?",
        "styvpappan misshandlar pojken",
        "våld i hemmet ikväll, vad gör jag",
        "barnet vågar inte gå hem",
        "my pupil is not safe tonight",
        "child is being hit right now",
        "she says she wants to die",
        "he threatened to kill himself",
        "gutten vil ta livet av seg",
        "moren slår barnet akkurat nå",
        "jenta tør ikke gå hjem i natt",
        "barnet er ikke trygt hjemme",
        "en elev har självskadat sig idag",
        "hon självskadar",
        "eleven har skurit sig på armarna",
        "jenta driver med selvskading",
        # Threats with a weapon, a parent hitting now, threats to kill, a fresh disclosure.
        "mammas kille viftade med en kniv mot henne",
        "pappa är full och slår",
        "someone at home said they would kill him",
        "he pulled a knife on his son",
        "hon säger att styvpappa slog henne i morse",
    ],
)
def test_acute_danger_is_an_emergency(text: str) -> None:
    """Suicide, ongoing violence, danger tonight, 112 and socialjouren count."""
    assert is_emergency(text)


@pytest.mark.parametrize(
    "text",
    [
        "när ska man göra en orosanmälan",
        "barn som far illa vad gör jag",
        "vad gäller nu när ett barn far illa",
        "hur anmäler man misstänkt våld i hemmet",
        "vad menas med akut ärende i SIP",
        "what does urgent mean in a SIP",
        "children in danger of dropping out",
        "vem kallar till barnteam",
        "mamma hotar att inte komma på mötet",
        "the teacher had a knife for the cooking class",
        "vad säger lagen om att slå barn",
        "vad är numret till socialjouren",
        "behöver vi orosanmäla om eleven sa att pappa slog honom för ett år sedan",
        "",
    ],
)
def test_procedural_questions_are_not_emergencies(text: str) -> None:
    """Questions about procedure or the meaning of "akut" go to the ordinary search."""
    assert not is_emergency(text)


@given(st.text(max_size=200))
def test_is_emergency_never_raises(text: str) -> None:
    """Any text gives a boolean."""
    assert is_emergency(text) in {True, False}
