"""The plans texts exist in both languages, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from bot.i18n import catalogue

KEYS_USED = (
    "plans.ref_invalid",
    "plans.ref_personnummer",
    "plans.date_unreadable",
    "plans.date_past",
    "plans.time_unreadable",
    "plans.ics_summary",
    "plans.ics_alarm",
)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", KEYS_USED)
def test_every_key_the_modules_use_is_in_both_languages(key: str) -> None:
    """Swedish and English both have the text, with the same fields to fill in."""
    sv, en = catalogue("sv")[key], catalogue("en")[key]
    assert sv and en
    assert placeholders(sv) == placeholders(en)


def test_plans_namespace_has_the_same_keys_in_both_languages() -> None:
    """No plans text is missing in English."""
    sv = {key for key in catalogue("sv") if key.startswith("plans.")}
    en = {key for key in catalogue("en") if key.startswith("plans.")}
    assert sv == en
