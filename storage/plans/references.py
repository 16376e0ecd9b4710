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
  wrong check digit: a mistyped personnummer is still personal data.

The reference is kept as typed (case included), only stripped of surrounding white space;
:func:`reference_key` gives the upper-cased form in which two references are compared.
"""

from __future__ import annotations

import re
from typing import Final

from bot.guard import looks_like_identity_number, normalise_line

MIN_LENGTH: Final = 3
MAX_LENGTH: Final = 32

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
    personal identity number and ``ReferenceError_("plans.ref_invalid")`` for any other
    reference outside the allowed form.
    """
    reference = normalise_line(text)
    if looks_like_identity_number(reference):
        raise ReferenceError_("plans.ref_personnummer")
    if not MIN_LENGTH <= len(reference) <= MAX_LENGTH:
        raise ReferenceError_("plans.ref_invalid")
    if not _ALLOWED.fullmatch(reference):
        raise ReferenceError_("plans.ref_invalid")
    return reference


def reference_key(reference: str) -> str:
    """The form references are compared in (``Plan.reference_key``): upper case, so ``bp-1``
    and ``BP-1`` are the same plan. Validates ``reference`` first."""
    return validate_reference(reference).upper()
