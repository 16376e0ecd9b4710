"""The personal-data guard: every common written form of a personnummer is found."""

from __future__ import annotations

import pytest

from bot.guard import REDACTED, contains_identity_number, redact


@pytest.mark.parametrize(
    "text",
    [
        "121212-1212",
        "19121212-1212",
        "121212+1212",
        "1212121212",
        "121212 1212",
        "121212 - 1212",
        # Word processors and phones often write a dash instead of the hyphen.
        "121212–1212",
        "19121212–1212",
        "121212—1212",
        "121212‑1212",
        "121212−1212",
        "gäller eleven 121212 – 1212?",
        # The "+" of a centenarian written with the century too: still the same digits.
        "19121212+1212",
    ],
)
def test_identity_number_in_any_common_form_is_found(text: str) -> None:
    assert contains_identity_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026–1212",
        "möte 2026-12-15 kl 10",
        "tel 0530-123 45",
        # A wrong check digit outside a personnummer's own written form: a mobile number,
        # a meeting date with a time, a date in the future, a month that does not exist.
        "0701234568",
        "070-123 45 68",
        "2026-12-04 1000",
        "20261204-1000",
        "kl 0830-1000",
        "121312-1234",
        "120230-1234",
        # Date ranges and dates with times, written the way staff write them.
        "inskrivning 2023-08-21 - 2024-06-14",
        "2024-01-01--2024-01-31",
        "möte 240315 1400",
        "240315 0830-1000",
        "2024-03-15 1400",
        "20240101-20240131",
    ],
)
def test_ordinary_numbers_are_not_refused(text: str) -> None:
    assert not contains_identity_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "121212–1213",
        "19120212-9816",
        "120212+9816",
        "fråga om 120272 - 9816",
        "20120229-1234",
        # Found by an outside tester: twelve digits in one run (the e-services' form) or in
        # groups, a space after a date with its century, doubled dashes, line breaks,
        # dash look-alikes, a date written with dots or dashes.
        "201202129817",
        "2012 0212 9817",
        "20120212 9817",
        "120212--9817",
        "120212  -\n9817",
        "120212\u20439817",
        "120212\u02d79817",
        "120212\u27969817",
        "120212\u30fc9817",
        "12.02.12-9817",
        "2012-02-12-9817",
    ],
)
def test_a_mistyped_number_in_a_personnummers_own_form_is_refused(text: str) -> None:
    """A real date of birth in one run, "-" or "+", four digits: a wrong digit does not make
    it less a child's number."""
    assert contains_identity_number(text)


def test_redact_replaces_a_dashed_identity_number() -> None:
    assert redact("pnr 121212–1212, tack") == f"pnr {REDACTED}, tack"


def test_case_numbers_and_dates_are_not_taken_for_phone_numbers() -> None:
    """Plan references and dates keep their digits; real phone numbers are redacted."""
    for kept in ("SIP ÅM-2026-014 uppföljning", "möte 2026-12-15", "BP-0123-45"):
        assert redact(kept) == kept
    for phone in ("070-123 45 67", "+46 70 123 45 67", "0046 70 123 45 67", "0530-123 45"):
        assert redact(f"ring {phone} i dag") == f"ring {REDACTED} i dag"
