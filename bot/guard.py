"""The personal-data guard: one place that decides whether text may be kept.

Dalsbot never stores a child's personal identity number. Any free text that may reach the
database, a log line or another person (a question, a place, a meeting label, a plan
reference, a pulse comment) passes through here first.

- :func:`find_identity_numbers` finds Swedish personnummer and samordningsnummer in any
  common written form (``YYYYMMDD-XXXX``, ``YYMMDD-XXXX``, ``YYMMDD+XXXX``, with a space or
  without a separator); a candidate counts only when its check digit is valid, verified with
  the maintained ``personnummer`` library, so ordinary numbers are not refused by mistake.
- :func:`contains_identity_number` is the yes/no form used to refuse input.
- :func:`redact` replaces identity numbers, phone numbers and e-mail addresses, for the
  anonymous pulse comments that are kept after redaction.
"""

from __future__ import annotations

import re
from typing import Final

from personnummer import personnummer

# Dashes a phone or a word processor may put in place of the hyphen (‐ ‑ ‒ – — ―, minus −).
_DASHES: Final = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
# Eight or six date digits, an optional separator (a hyphen or another dash, + or a space),
# four digits; not part of a longer run of digits.
_CANDIDATE: Final = re.compile(
    rf"(?<![\d])(\d{{6}}|\d{{8}})[ \t]?([-+{_DASHES}]?)[ \t]?(\d{{4}})(?![\d])"
)
_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A phone number starts with a trunk 0 (070-123 45 67, 0530-123 45) or an international
# prefix (+46 70..., 0046 70...); a run of digits that starts otherwise is a case number or a
# date in a plan reference (ÅM-2026-014), not a phone number.
_PHONE: Final = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s-]?(?:\(0\)[\s-]?)?\d|0\d)(?:[\s-]?\d){5,12}(?!\w)"
)

_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}-\d{2}-\d{4}")
# Language-neutral, since the organiser may read the comments in Swedish or English.
REDACTED: Final = "[…]"


def _is_identity_number(date_digits: str, separator: str, serial: str) -> bool:
    if separator and separator in _DASHES:
        separator = "-"
    candidate = f"{date_digits}{separator or '-'}{serial}"
    if len(date_digits) == 8 and separator == "+":
        return False
    try:
        return bool(personnummer.valid(candidate))
    except (ValueError, TypeError):
        return False


def find_identity_numbers(text: str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of every valid personnummer or samordningsnummer in ``text``."""
    spans: list[tuple[int, int]] = []
    for match in _CANDIDATE.finditer(text):
        if _is_identity_number(match.group(1), match.group(2), match.group(3)):
            spans.append(match.span())
    return spans


def contains_identity_number(text: str | None) -> bool:
    """True when ``text`` holds something that is a Swedish personal identity number."""
    return bool(text) and bool(find_identity_numbers(text or ""))


def redact(text: str) -> str:
    """``text`` with identity numbers, e-mail addresses and phone numbers replaced."""
    spans = find_identity_numbers(text)
    for start, end in reversed(spans):
        text = text[:start] + REDACTED + text[end:]
    text = _EMAIL.sub(REDACTED, text)
    return _PHONE.sub(_redact_phone, text)


def _redact_phone(match: re.Match[str]) -> str:
    # A date such as 2026-12-15 has the shape of a phone number but is harmless.
    return match.group(0) if _DATE.fullmatch(match.group(0)) else REDACTED
