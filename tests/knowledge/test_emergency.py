"""Acute-danger recognition, with care for ordinary procedural questions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.emergency import is_emergency

# Suicide, ongoing violence, danger tonight, 112 and socialjouren count.
ACUTE = [
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
    # Fear of going home, violence against a child, self-harm and bleeding.
    "hon är rädd att gå hem efter skolan",
    "he says he can't go home tonight",
    "her brother hurts her every evening",
    "en elev har skadat sig själv på toaletten",
    "pojken blöder från huvudet",
]
# Questions about procedure or the meaning of "akut" go to the ordinary search.
NOT_ACUTE = [
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
    # A negation, an accident, dressing a child or a figure of speech raises no alarm.
    "hon har inte skurit sig, men hon är ledsen",
    "hon har skurit sig i fingret på slöjden",
    "mamma tar på honom jackan varje morgon",
    "eleven sa att hon vill dö av skam efter presentationen",
    "the child was missing school a lot last term",
    "vem kallar till sip",
]


@pytest.mark.parametrize(
    ("text", "emergency"), [(text, True) for text in ACUTE] + [(text, False) for text in NOT_ACUTE]
)
def test_only_acute_danger_is_an_emergency(text: str, emergency: bool) -> None:
    """Acute danger gets the first tier; procedure, negations and everyday phrases do not."""
    assert is_emergency(text) is emergency


@given(st.text(max_size=200))
def test_is_emergency_never_raises(text: str) -> None:
    """Any text gives a boolean."""
    assert is_emergency(text) in {True, False}


# -- the two tiers, folding, combinations ---------------------------------------------------

from pathlib import Path  # noqa: E402

from knowledge.emergency import CATEGORIES, SignalsError, Tier, assess, load_signals  # noqa: E402


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("eleven sitter hos mig och säger att hon inte vill finnas kvar", "suicide-selfharm"),
        ("han sa att ingen kommer sakna honom och gick just hem", "suicide-selfharm"),
        ("hon sager att hon inte vill leva langre", "suicide-selfharm"),
        (
            "pojken berättar att styvpappan brukar slå honom, mamma jobbar natt ikväll",
            "violence-now",
        ),
        ("morfar kommer in i hennes rum på nätterna och rör henne", "sexual-abuse"),
        ("en kille har en kniv i vaskan och ska hugga nan efter lunch", "weapons-threats"),
        ("pappa luktar sprit och ska hamta tvaaringen med bilen", "intoxicated-caregiver"),
        ("ingen har hämtat treåringen och förskolan stänger nu", "child-alone"),
        ("eleven har inte kommit hem efter skolan och ingen vet var hon är", "missing-runaway"),
        ("pappa har sagt att han ska döda hela familjen ikväll", "threat-to-kill"),
        ("jenta sier at hun skal ta livet sitt i kveld", "suicide-selfharm"),
        ("pigen fortæller at hendes stedfar slår hende hver aften", "violence-now"),
        ("the boy says his stepdad will kill him if he tells anyone", "threat-to-kill"),
        ("mum is too drunk to stand and wants to drive the kids home", "intoxicated-caregiver"),
    ],
)
def test_indirect_emergencies_are_clear_in_their_category(text: str, category: str) -> None:
    """Indirect phrasings, without å/ä/ö, Norwegian, Danish and English, are the first tier."""
    assessment = assess(text)
    assert assessment.tier is Tier.CLEAR
    assert category in assessment.categories


@pytest.mark.parametrize(
    "text",
    [
        "vad är rutinen om en elev pratar om att ta sitt liv",
        "vi hade utbildning om självskadebeteende idag",
        "förra året rymde en elev, hur dokumenterar vi det",
        "ingen akut fara, men pappan har hotat med kniv tidigare",
        "what should we do if a parent arrives drunk to pick up a child?",
        "hvis et barn fortæller at far slår, skal jeg ringe forældrene først?",
        "en elev mår jättedåligt, hur gör jag en orosanmälan",
    ],
)
def test_meta_calm_and_soft_messages_are_possible_not_clear(text: str) -> None:
    """Routines, training, handled cases, a calm writer and soft signals get the footer only."""
    assert assess(text).tier is Tier.POSSIBLE


@given(
    st.sampled_from(["\u200b", "\u00ad", "\u2060", "\ufeff", "\u200d"]),
    st.integers(min_value=1, max_value=20),
)
def test_invisible_characters_do_not_hide_an_emergency(char: str, position: int) -> None:
    """A zero-width or soft-hyphen character inside a word changes nothing."""
    text = "eleven har skurit sig och sitter hos mig nu"
    assert assess(text[:position] + char + text[position:]).tier is Tier.CLEAR


def test_bare_urgent_word_is_clear_and_definitional_is_not() -> None:
    """ "AKUT!!" alone is an emergency; a question about what "akut" means is none."""
    assert assess("AKUT!!").tier is Tier.CLEAR
    assert assess("vad menas med akut ärende i SIP").tier is Tier.NONE


def test_every_category_has_signals_in_every_language_file() -> None:
    """Each of the three reviewed files covers all eight categories."""
    import yaml

    for path in sorted((Path(__file__).parents[2] / "knowledge/emergency/signals").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(data["categories"]) == set(CATEGORIES), path.name
        assert data["owner"] and data["reviewed"]


def test_malformed_signals_are_refused(tmp_path: Path) -> None:
    """Unknown categories, unquoted booleans and bad regular expressions fail at load time."""
    (tmp_path / "x.yaml").write_text("categories:\n  weather: {clear: [regn]}\n", "utf-8")
    with pytest.raises(SignalsError, match="weather"):
        load_signals(tmp_path)
    (tmp_path / "x.yaml").write_text("negation: [inte, no]\n", "utf-8")
    with pytest.raises(SignalsError, match="quoted"):
        load_signals(tmp_path)
    (tmp_path / "x.yaml").write_text("child: ['(barn']\n", "utf-8")
    with pytest.raises(SignalsError):
        load_signals(tmp_path)
