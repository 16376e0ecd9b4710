"""Plan references: pseudonymous, never a personnummer."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n import t
from storage.plans.references import ReferenceError_, reference_key, validate_reference


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BP-17", "BP-17"),
        ("  sip-amal-3 ", "sip-amal-3"),
        ("Bp-x", "Bp-x"),
        ("Åmål-3", "Åmål-3"),
        ("abc", "abc"),
        ("BP-2026-0001", "BP-2026-0001"),
        ("x" * 32, "x" * 32),
        # A phone's dash is the hyphen (one normalisation for all input).
        ("BP—17", "BP-17"),
        ("BP\u200b-17", "BP-17"),
    ],
)
def test_valid_references_are_kept_as_typed(text: str, expected: str) -> None:
    """Surrounding space goes, case stays."""
    assert validate_reference(text) == expected


@pytest.mark.parametrize(
    "text", ["", "ab", "x" * 33, "BP 17", "BP_17", "BP/17", "-BP", "---", "BP.17"]
)
def test_malformed_references_are_refused(text: str) -> None:
    """Outside 3–32 letters, digits and dashes: ref_invalid."""
    with pytest.raises(ReferenceError_) as caught:
        validate_reference(text)
    assert caught.value.key == "plans.ref_invalid"


@pytest.mark.parametrize(
    "text",
    [
        "19900101-0017",
        "900101-0017",
        "9001010017",
        "199001010017",
        "900101+0017",
        "900101 0017",
        "BP-900101-0017",
        "900101-0018",  # wrong check digit, still the shape of one
        "900161-0000",  # samordningsnummer shape
    ],
)
def test_personnummer_forms_are_refused_first(text: str) -> None:
    """Anything shaped like an identity number gets ref_personnummer, whatever else is wrong."""
    with pytest.raises(ReferenceError_) as caught:
        validate_reference(text)
    assert caught.value.key == "plans.ref_personnummer"


def test_errors_are_value_errors_with_catalogue_texts() -> None:
    """Callers may catch ValueError; the key has a text in both languages."""
    with pytest.raises(ValueError, match=r"plans\.ref_invalid"):
        validate_reference("x")
    for key in ("plans.ref_invalid", "plans.ref_personnummer"):
        assert t(key, "sv") and t(key, "en")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_either_a_clean_reference_or_refused(text: str) -> None:
    """No other exception, and what passes fits the rules."""
    try:
        reference = validate_reference(text)
    except ReferenceError_:
        return
    assert re.fullmatch(r"[0-9A-Za-zÅÄÖåäö][0-9A-Za-zÅÄÖåäö-]{2,31}", reference)


def test_reference_key_ignores_case() -> None:
    """bp-1 and BP-1 are the same plan; the key is upper case."""
    assert reference_key(" bp-1 ") == reference_key("BP-1") == "BP-1"
    assert reference_key("åmål-3") == "ÅMÅL-3"
