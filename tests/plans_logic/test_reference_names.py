"""References with a child's first name are refused; generated references always pass."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n import t
from storage.plans.references import (
    MAX_COUNTER,
    MAX_LENGTH,
    MUNICIPALITY_CODES,
    ReferenceError_,
    first_name_in,
    first_names,
    generate_reference,
    reference_key,
    validate_reference,
)

# References coordinators really use: case numbers, plan kinds, municipalities, months.
GOOD = [
    "SIP-2026-014",
    "BB-ÅM-7",
    "BP-17",
    "sip-amal-3",
    "Åmål-3",
    "BUP-12",
    "LSS-4",
    "HVB-2027-1",
    "IFO-Mellerud-22",
    "Dals-Ed-9",
    "Bengtsfors-12",
    "Färgelanda-SIP-4",
    "Ärende-451",
    "BBIC-88",
    "Plan-3a",
    "SIP-jan-2027",
    "SIP-maj-2",
    "BP-juni-3",
    "Team-Nord-5",
    "FC-Väst-2",
    "Region-7",
    "VGR-33",
    "BP-2026-0001",
    "dnr-2026-117",
    "SOC-2026-45",
    "Elevhälsa-3",
    "BVC-12",
    "Skola-4b",
    "MEL-2026-004",
]

# References that name a child: in any case, with accents or without, glued to digits.
NAMED = [
    ("Lisa-7b", "Lisa"),
    ("lisa7", "lisa"),
    ("SIP-Lisa", "Lisa"),
    ("Emma-2026", "Emma"),
    ("ELIAS-3", "ELIAS"),
    ("Oscar-1", "Oscar"),
    ("Noah2", "Noah"),
    ("Åsa-12", "Åsa"),
    ("Zoë-4", "Zoë"),
    ("Zoe-4", "Zoe"),
    ("BP-Hugo", "Hugo"),
    ("sip-leo-3", "leo"),
    ("Maja-1", "Maja"),
    ("Liam-5", "Liam"),
    ("Alice-2", "Alice"),
    ("Mohammed-1", "Mohammed"),
    ("Fatima-2", "Fatima"),
    ("Ali-9", "Ali"),
    ("Søren-2", "Søren"),
    ("Aino-6", "Aino"),
    ("Ingrid-2027", "Ingrid"),
]


@pytest.mark.parametrize("reference", GOOD)
def test_realistic_codes_are_not_refused(reference: str) -> None:
    """Short parts, months and everyday code words never read as names."""
    assert first_name_in(reference) is None
    assert validate_reference(reference) == reference


@pytest.mark.parametrize(("reference", "name"), NAMED)
def test_references_with_a_first_name_are_refused_with_the_name(reference: str, name: str) -> None:
    """The part found is given back as typed, and the reference is refused."""
    assert first_name_in(reference) == name
    with pytest.raises(ReferenceError_) as caught:
        validate_reference(reference)
    assert caught.value.key == "plan_wizard.ref_first_name"


def test_a_personnummer_is_still_the_first_reason() -> None:
    """A name beside an identity number: the identity number is what the person is told."""
    with pytest.raises(ReferenceError_) as caught:
        validate_reference("Lisa-900101-0017")
    assert caught.value.key == "plans.ref_personnummer"


def test_an_old_reference_with_a_name_is_still_found() -> None:
    """The comparison key checks the form only: a plan stored before the rule opens."""
    assert reference_key("lisa-7b") == "LISA-7B"


def test_the_name_list_is_large_and_built_once() -> None:
    """Thousands of names from faker, cached; no name is shorter than three letters."""
    names = first_names()
    assert len(names) > 1500
    assert first_names() is names
    assert min(len(name) for name in names) >= 3
    assert {"lisa", "emma", "mohammed", "asa", "soren"} <= names
    assert not {"maj", "jan", "dag", "sip", "bo"} & names


def test_both_refusal_texts_exist_in_both_languages() -> None:
    """The generic text (from storage) and the one with the name (from the chat)."""
    for lang in ("sv", "en"):
        assert "DSL-2026-014" in t("plan_wizard.ref_first_name", lang)
        assert "Lisa" in t("plan_wizard.ref_first_name_named", lang, name="Lisa")


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(sorted(MUNICIPALITY_CODES)),
    st.integers(2000, 2200),
    st.integers(1, MAX_COUNTER),
)
def test_generated_references_always_pass_the_rules(
    municipality: str, year: int, counter: int
) -> None:
    """Accepted as they are, no first name, within the length limit, different counters give
    different references."""
    reference = generate_reference(municipality, year, counter)
    assert validate_reference(reference) == reference
    assert first_name_in(reference) is None
    assert len(reference) <= MAX_LENGTH
    assert reference != generate_reference(municipality, year, counter % MAX_COUNTER + 1)


def test_generated_reference_shape() -> None:
    """Municipality code, year, a counter of at least three digits."""
    assert generate_reference("Mellerud", 2026, 4) == "MEL-2026-004"
    assert generate_reference("Åmål", 2027, 1234) == "ÅML-2027-1234"
    with pytest.raises(ValueError, match="counter"):
        generate_reference("Mellerud", 2026, MAX_COUNTER + 1)
