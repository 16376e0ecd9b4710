"""Plan references: the only name a plan has in Dalsbot.

A coordinator chooses a pseudonymous reference for each plan (``BP-17``, ``sip-amal-3``).
It is shown in reminders, lists and calendar files, so it must never identify a child:

- it is 3–32 characters of letters (including å, ä, ö), digits and dashes, and starts with a
  letter or digit (a leading dash would read as a formula in a spreadsheet export, or as an
  option on a command line);
- anything that looks like a personnummer or samordningsnummer is refused, and that check
  comes first so the user is told the real reason. Besides the check-digit-verified test of
  :func:`bot.guard.contains_identity_number`, a reference is also refused when its digits have
  the *shape* of an identity number (a plausible date followed by four digits) even with a
  wrong check digit: a mistyped personnummer is still personal data;
- a reference that contains a common first name ("Lisa-7b") is refused next
  (:func:`first_name_in`): it may well be the child's. The
  names come from the maintained ``faker`` package (Swedish, English, Norwegian, Danish and
  Finnish first names), built once, compared without regard to case or accents, on the word
  parts of the reference (split at digits, dashes, underscores and spaces). Parts of one or
  two letters are never names here (``BB-ÅM-7``), nor are a few names that are everyday code
  words (months such as ``maj``, ``dag``...). :func:`reference_key` does not check names,
  so a plan stored before this rule is still found.

:func:`generate_reference` makes a pseudonymous reference the wizard offers as a button:
the municipality's code, the year and a counter (``MEL-2026-004``), never derived from a
child's data and always accepted by these rules.

The reference is kept as typed (case included), only stripped of surrounding white space;
:func:`reference_key` gives the upper-cased form in which two references are compared.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Final

from bot.guard import looks_like_identity_number, normalise_line

MIN_LENGTH: Final = 3
MAX_LENGTH: Final = 32

# A part of a reference is a name only from three letters on: "BB", "ÅM", "Bo", "Li" are codes.
MIN_NAME_LETTERS: Final = 3
# First names in some list that are everyday words in plan codes: months ("SIP-maj-2"), and
# Swedish words ("dag", "del", "par", "per").
CODE_WORDS: Final = frozenset(
    {"jan", "april", "maj", "juni", "juli", "may", "june", "july", "august", "augusti"}
    | {"dag", "del", "par", "per"}
)
# Letters NFKD does not take apart.
_FOLD: Final = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "đ": "d", "ł": "l", "ı": "i"})
_PARTS: Final = re.compile(r"[\d\s_\-]+")
# The code of each municipality (storage.people.models.Municipality) in generated references.
MUNICIPALITY_CODES: Final = {
    "Bengtsfors": "BFS",
    "Dals-Ed": "ED",
    "Färgelanda": "FGL",
    "Mellerud": "MEL",
    "Åmål": "ÅML",
    "region": "DSL",
}
# A larger counter with a four-digit year could have the shape of a personnummer.
MAX_COUNTER: Final = 99_999

_ALLOWED: Final = re.compile(r"[0-9A-Za-zÅÄÖåäö][0-9A-Za-zÅÄÖåäö-]*")


# The trailing underscore keeps it apart from the builtin ReferenceError.
class ReferenceError_(ValueError):
    """A reference that may not be used; ``key`` is the catalogue text to show."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def validate_reference(text: str) -> str:
    """The reference as it will be stored, or :class:`ReferenceError_` with the reason.

    Raises ``ReferenceError_("plans.ref_personnummer")`` for anything shaped like a
    personal identity number, ``ReferenceError_("plan_wizard.ref_first_name")`` when a part
    of it is a common first name (see :func:`first_name_in`) and
    ``ReferenceError_("plans.ref_invalid")`` for any other reference outside the allowed form.
    """
    reference = normalise_line(text)
    if looks_like_identity_number(reference):
        raise ReferenceError_("plans.ref_personnummer")
    if first_name_in(reference) is not None:
        raise ReferenceError_("plan_wizard.ref_first_name")
    return _checked_form(reference)


def _checked_form(text: str) -> str:
    """``text`` normalised, when it is no identity number and has the allowed form."""
    reference = normalise_line(text)
    if looks_like_identity_number(reference):
        raise ReferenceError_("plans.ref_personnummer")
    if not MIN_LENGTH <= len(reference) <= MAX_LENGTH:
        raise ReferenceError_("plans.ref_invalid")
    if not _ALLOWED.fullmatch(reference):
        raise ReferenceError_("plans.ref_invalid")
    return reference


def fold(text: str) -> str:
    """``text`` as names are compared: case folded, accents and special letters plain."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def first_names() -> frozenset[str]:
    """Every first name of Faker's person providers below (and each part of a double name),
    folded, from three letters on and without :data:`CODE_WORDS`. Built once (faker is
    imported here, not at start-up)."""
    from faker.providers.person import da_DK, en_GB, en_US, fi_FI, no_NO, sv_SE

    # The providers whose first names are refused (the languages of Dalsland's families and
    # neighbours; Mohammed, Ali and Fatima are in the English and Swedish lists).
    providers = (
        sv_SE.Provider, en_US.Provider, en_GB.Provider, no_NO.Provider, da_DK.Provider,
        fi_FI.Provider,
    )  # fmt: skip
    found: set[str] = set()
    for provider in providers:
        for kind in ("first_names_female", "first_names_male", "first_names"):
            for name in getattr(provider, kind, ()):
                found.update(fold(part) for part in _PARTS.split(name))
    return frozenset(
        name
        for name in found
        if len(name) >= MIN_NAME_LETTERS and name.isalpha() and name not in CODE_WORDS
    )


def first_name_in(text: str, *, genitive: bool = False) -> str | None:
    """The first word part of ``text`` that is a common first name, as typed, or None; with
    ``genitive`` also a name with a Swedish genitive -s (``Emmas förskola``)."""
    names = first_names()
    for part in _PARTS.split(normalise_line(text)):
        if len(part) < MIN_NAME_LETTERS:
            continue
        folded = fold(part)
        if folded in names:
            return part
        stem = folded[:-1] if genitive and folded.endswith("s") else ""
        if len(stem) >= MIN_NAME_LETTERS and stem in names:
            return part[:-1]
    return None


def generate_reference(municipality: str, year: int, counter: int) -> str:
    """A pseudonymous reference: ``MEL-2026-004`` (the municipality's code, the year, the
    counter with at least three digits). Nothing in it comes from a child."""
    if not 1 <= counter <= MAX_COUNTER or not 1000 <= year <= 9999:
        raise ValueError("the counter is 1–99999 and the year has four digits")
    return f"{MUNICIPALITY_CODES[municipality]}-{year}-{counter:03d}"


def reference_key(reference: str) -> str:
    """The form references are compared in (``Plan.reference_key``): upper case, so ``bp-1``
    and ``BP-1`` are the same plan. Checks the form of ``reference`` first (not the names: a
    plan stored before the name rule is still found)."""
    return _checked_form(reference).upper()
