"""The attack suite's core: a personnummer in any written form is found, and never kept.

A hypothesis strategy builds personnummer and samordningsnummer the way people (and their
phones and word processors) write them: with or without the century, with "-", "+", a space,
a no-break space, a line break, a dot, a slash, any Unicode dash or none between date and
serial, the date itself written with dashes, full-width digits, and invisible characters
(zero-width spaces and joiners, soft hyphens, the BOM, bidi controls) anywhere inside, in
the middle of a longer message. Every such text is refused by the guard, and what
``redact`` and ``strip_identity_numbers`` keep holds none of its digits.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.guard import (
    REDACTED,
    contains_identity_number,
    looks_like_identity_number,
    normalise,
    normalise_line,
    redact,
    strip_identity_numbers,
)
from storage.people.store import safe_name
from storage.plans.references import ReferenceError_, validate_reference
from storage.plans.store import PlanError, check_place

INVISIBLE = (
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # BOM / zero-width no-break space
    "\u00ad",  # soft hyphen
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u2069",  # pop directional isolate
    "\u180e",  # Mongolian vowel separator
    "\ufe0f",  # variation selector 16
    "\u0301",  # a stray combining accent
    "\u20e3",  # combining enclosing keycap
)
DASHES = ("-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212", "\ufe63")
DASHES += ("\uff0d",)  # full-width hyphen-minus
# The last, a braille blank, only looks like a space.
SPACES = (" ", "\u00a0", "\u2009", "\u202f", "\u2007", "\u3000", "\t", "\n", "  ", "\u2800")
SEPARATORS = ("", ".", "/", "_", ",", ":", ";", "*", "·", "•", "\u2043", "\u30fc", " (", "--")
SEPARATORS += ("---", " - - ", *DASHES, *SPACES, " - ", "\u00a0-\u00a0")
WORDS = st.sampled_from(("gäller", "eleven", "pnr", "hej", "SIP för", "tack", "nr:", "(", ")"))


def luhn_digit(nine: str) -> int:
    """The check digit of a personnummer's nine digits."""
    total = 0
    for index, char in enumerate(nine):
        product = int(char) * (2 - index % 2)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


@st.composite
def identity_numbers(draw: st.DrawFn, *, valid: bool = True) -> tuple[str, str]:
    """(the written form, its ten significant digits)."""
    born = draw(st.dates(min_value=dt.date(1925, 1, 1), max_value=dt.date(2024, 12, 31)))
    coordination = draw(st.booleans())
    day = born.day + (60 if coordination else 0)
    serial = f"{draw(st.integers(min_value=1, max_value=999)):03d}"  # 000 is never issued
    nine = f"{born:%y%m}{day:02d}{serial}"
    check = luhn_digit(nine)
    if not valid:
        check = (check + draw(st.integers(min_value=1, max_value=9))) % 10
    ten = f"{nine}{check}"
    century = draw(st.booleans())
    date = f"{born:%Y}"[:2] * century + ten[:6]
    if draw(st.booleans()):
        # The date written with its own separators: 1912-12-12, 12.12.12
        inner = draw(st.sampled_from(("-", ".", "/", " ")))
        head = date[: len(date) - 4]
        date = f"{head}{inner}{date[-4:-2]}{inner}{date[-2:]}"
    # "+" (a person of 100 or more) is written only without the century.
    separator = draw(st.sampled_from(SEPARATORS + (() if century else ("+",))))
    serial = ten[6:]
    spacing = draw(st.sampled_from(("", "pair", "each")))
    if spacing == "pair":
        serial = f"{serial[:2]} {serial[2:]}"  # "12 12"
    elif spacing == "each":
        serial = " ".join(serial)  # "1 2 1 2"
    written = f"{date}{separator}{serial}"
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        # All the digits in other groups: "1912 1212 1212", "19-12-12-12-12-12", and a first
        # group of up to eight, "150312-12-36" (found by an outside tester).
        plain, regrouped = re.sub(r"\D", "", f"{date}{serial}"), []
        joiner = draw(st.sampled_from((" ", "-", ".", "\u2009", "\u2013")))
        # At least three groups (two would be a date and a serial, the forms above).
        first = draw(st.integers(min_value=1, max_value=min(8, len(plain) - 2)))
        second = draw(st.integers(min_value=1, max_value=min(4, len(plain) - first - 1)))
        regrouped += [plain[:first], plain[first : first + second]]
        plain = plain[first + second :]
        while plain:
            size = draw(st.integers(min_value=1, max_value=4))
            regrouped.append(plain[:size])
            plain = plain[size:]
        written = joiner.join(regrouped)
    if draw(st.booleans()):
        written = written.translate({ord(str(d)): chr(0xFF10 + d) for d in range(10)})
    # Invisible characters anywhere inside.
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(written)))
        written = written[:at] + draw(st.sampled_from(INVISIBLE)) + written[at:]
    return written, ten


def in_a_message(draw: st.DrawFn, written: str) -> str:
    before = " ".join(draw(st.lists(WORDS, max_size=3)))
    after = " ".join(draw(st.lists(WORDS, max_size=3)))
    return f"{before} {written} {after}".strip()


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, str]:
    written, ten = draw(identity_numbers())
    return in_a_message(draw, written), ten


def digits(text: str) -> str:
    return re.sub(r"\D", "", normalise(text))


@settings(max_examples=400, deadline=None)
@given(messages())
def test_every_written_form_is_found(message: tuple[str, str]) -> None:
    text, _ = message
    assert contains_identity_number(text), repr(text)
    assert looks_like_identity_number(text), repr(text)


@settings(max_examples=300, deadline=None)
@given(messages())
def test_what_is_kept_holds_none_of_its_digits(message: tuple[str, str]) -> None:
    """redact (pulse comments) and strip_identity_numbers (names) keep no trace of it."""
    text, ten = message
    for kept in (redact(text), strip_identity_numbers(text), safe_name(text)):
        assert ten not in digits(kept), repr(kept)
        assert not contains_identity_number(kept), repr(kept)


@settings(max_examples=200, deadline=None)
@given(messages())
def test_places_and_references_refuse_it(message: tuple[str, str]) -> None:
    text, _ = message
    with pytest.raises(PlanError) as place:
        check_place(text)
    assert place.value.key in ("plans.place_personnummer", "plans.place_invalid")
    with pytest.raises(ReferenceError_) as reference:
        validate_reference(text)
    assert reference.value.key == "plans.ref_personnummer"


@st.composite
def mistyped(draw: st.DrawFn) -> str:
    written, _ = draw(identity_numbers(valid=False))
    return in_a_message(draw, written)


@settings(max_examples=200, deadline=None)
@given(mistyped())
def test_a_wrong_check_digit_is_still_shaped_like_one(text: str) -> None:
    """Never echoed back or kept as a reference, whatever its form."""
    assert looks_like_identity_number(text), repr(text)


@st.composite
def mistyped_in_own_form(draw: st.DrawFn) -> str:
    """A wrong check digit, written as a personnummer is: ``YYMMDD-NNNN`` or
    ``YYYYMMDD-NNNN`` (or "+", doubled dashes, spaces and line breaks around, any dash or
    look-alike), ``YYYYMMDD NNNN`` and ``YYYYMMDDNNNN``, with invisible characters."""
    born = draw(st.dates(min_value=dt.date(1925, 1, 1), max_value=dt.date(2024, 12, 31)))
    day = born.day + (60 if draw(st.booleans()) else 0)
    nine = f"{born:%y%m}{day:02d}{draw(st.integers(min_value=1, max_value=999)):03d}"
    wrong = (luhn_digit(nine) + draw(st.integers(min_value=1, max_value=9))) % 10
    century = f"{born:%Y}"[:2] if draw(st.booleans()) else ""
    separators = (*DASHES, "--", " - ", "\n-", "- \n", "\u2043", "\u02d7", "\u2796", "\u30fc")
    separators += ("+", " + ") if not century else (" ", "")  # 20120212 9817, 201202129817
    separator = draw(st.sampled_from(separators))
    written = f"{century}{nine[:6]}{separator}{nine[6:]}{wrong}"
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(written)))
        written = written[:at] + draw(st.sampled_from(INVISIBLE)) + written[at:]
    return in_a_message(draw, written)


@settings(max_examples=200, deadline=None)
@given(mistyped_in_own_form())
def test_a_wrong_check_digit_in_its_own_form_is_refused(text: str) -> None:
    """Refused as a question and redacted from a comment, like a valid one."""
    assert contains_identity_number(text), repr(text)
    assert REDACTED in redact(text), repr(text)


def test_normalisation_unifies_what_looks_the_same() -> None:
    assert normalise("１２\u200b–\u00a0x\u00adz") == "12- xz"
    assert normalise_line(" Anna\u202e Ek\n\u2066") == "Anna Ek"
    assert normalise("rad ett\u2028rad två\r") == "rad ett\nrad två\n"


def test_ordinary_text_survives_normalisation() -> None:
    for text in ("Åmål, Färgelanda och Dals-Ed", "möte 2026-12-15 kl 10", "ÅM-2026-014", "🙂👍"):
        assert normalise(text) == text
    assert not contains_identity_number("uppföljning 2026-12-04 1000")
