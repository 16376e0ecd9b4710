"""The personal-data guard: one place that decides whether text may be kept.

Dalsbot never stores a child's personal identity number. Any free text that may reach the
database, a log line or another person (a question, a place, a meeting label, a plan
reference, a pulse comment, a person's name) passes through here first.

- :func:`normalise` is the one normalisation every incoming text gets before the guard looks
  at it, and the form that is stored: Unicode NFKC (full-width digits become digits),
  invisible and format characters removed (zero-width spaces and joiners, soft hyphens, the
  BOM, word joiners, bidi controls), every dash form written "-" and every space form " ".
  :func:`normalise_line` also folds line breaks, for names, labels and places.
- :func:`find_identity_numbers` finds Swedish personnummer and samordningsnummer in any
  common written form in the normalised text (``YYYYMMDD-NNNN``, ``YYMMDD-NNNN``,
  ``YYMMDD+NNNN``, the date written ``YYYY-MM-DD`` or ``YY.MM.DD``, with a space, a line break,
  ``-``, ``.`` or ``/`` before the last four digits, or no separator), and the same digits in
  other groups (``1912 1212 1212``, ``1912-1212-1212``); a candidate counts when its check
  digit is valid, verified with the maintained ``personnummer`` library, so ordinary numbers
  are not refused by mistake. A mistyped one counts too when it is written the way only a
  personnummer is written: a real date of birth of six or eight digits in one run, a "-" or
  "+", then four digits (``120212-9816``, ``20120212-9816``). A wrong digit does not make it
  less a child's number, and no phone number, meeting time or case number takes that form.
  Other shapes (ten digits in one run like a mobile number, the date written with dashes)
  still need the check digit.
- :func:`contains_identity_number` is the yes/no form used to refuse input.
- :func:`redact` replaces identity numbers, phone numbers and e-mail addresses, for the
  anonymous pulse comments that are kept after redaction.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Final

from personnummer import personnummer

# Characters that show nothing but would split a number or a word for a pattern: Unicode's
# format characters (category Cf: zero-width space and joiners, soft hyphen, BOM, word
# joiner, bidi controls) and a few invisible letters and marks.
_INVISIBLE_EXTRA: Final = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")
# Dash forms NFKC leaves alone: the Unicode dashes (category Pd) and the minus sign.
_MINUS: Final = "\u2212"
# Letters that look like a dash: the katakana long-vowel mark (full and half width).
_DASH_LIKE: Final = "\u30fc\uff70"
_SPACE_RUN: Final = re.compile(r"\s+")
# The date: eight or six digits, or written with one separator between its parts; then an
# optional separator (spaces or a line break, "-", "+", "." or "/"); then four digits; not
# part of a longer run of digits.
_CANDIDATE: Final = re.compile(
    r"(?<!\d)(\d{8}|\d{6}|\d{4}([-./ ])\d{2}\2\d{2}|\d{2}([-./ ])\d{2}\3\d{2}"
    r"|\d(?: \d){7}|\d(?: \d){5})"
    # Between date and serial: up to six characters that are neither letters nor digits
    # (spaces, a line break, any dash, dot, bullet, bracket...), or look like a dash.
    rf"((?:[^\w]|[_{_DASH_LIKE}]){{0,6}})"
    r"(\d{2} ?\d{2}|\d(?: \d){3})(?!\d)"
)
# The same ten or twelve digits written in other groups ("1912 1212 1212", "1912-1212-1212",
# "19 12 12 12 12 12", "150312-12-36"): a first group of up to eight digits, then groups of
# one to four, joined by one space, dash, dot or slash, not part of a longer run of digits.
# Checked by their digits alone (date, then serial).
_GROUPED: Final = re.compile(r"(?<![\d.,/-])\d{1,8}(?:[-./ ]\d{1,4}){2,11}(?![\d]|[-./,]\d)")
_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A phone number starts with a trunk 0 (070-123 45 67, 0530-123 45) or an international
# prefix (+46 70..., 0046 70...); a run of digits that starts otherwise is a case number or a
# date in a plan reference (ÅM-2026-014), not a phone number.
_PHONE: Final = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s-]?(?:\(0\)[\s-]?)?\d|0\d)(?:[\s-]?\d){5,12}(?!\w)"
)

_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}-\d{2}-\d{4}")
_SPACED_DATE: Final = re.compile(r"(0[1-9]|[12]\d|3[01]) (0[1-9]|1[0-2]) (19|20)\d\d")
_TIME_RANGE: Final = re.compile(r"([01]\d|2[0-3])[0-5]\d ?- ?([01]\d|2[0-3])[0-5]\d")
# "1 000 000": a digit and a space before groups of three digits.
_THOUSANDS: Final = re.compile(r"\d $")
_THOUSANDS_GROUPS: Final = re.compile(r"\d{3}( \d{3})*")
# Language-neutral, since the organiser may read the comments in Swedish or English.
REDACTED: Final = "[…]"


def normalise(text: str) -> str:
    """``text`` in the one form the guard checks and the database stores.

    NFKC; digits of every script as 0–9; invisible and format characters removed; dashes as
    "-"; spaces, tabs and other
    space forms as " "; line and paragraph separators as a line break; other control
    characters removed.
    """
    chars: list[str] = []
    for char in unicodedata.normalize("NFKC", text.replace("\r\n", "\n")):
        category = unicodedata.category(char)
        if char == "\n":
            chars.append(char)
        elif category in ("Cf", "Mn", "Me") or char in _INVISIBLE_EXTRA:
            # Format characters, and combining or enclosing marks left over after NFKC
            # composed the letters (variation selectors, keycaps, stray accents).
            continue
        elif category == "Nd":
            chars.append(str(unicodedata.digit(char)))
        elif category == "Pd" or char == _MINUS:
            chars.append("-")
        elif category == "Zs" or char in "\t\v\f":
            chars.append(" ")
        elif category in ("Zl", "Zp") or char == "\r":
            chars.append("\n")
        elif category == "Cc":
            continue
        else:
            chars.append(char)
    return "".join(chars)


def normalise_line(text: str) -> str:
    """``text`` normalised, on one line, without outer spaces (names, labels, places)."""
    return _SPACE_RUN.sub(" ", normalise(text)).strip()


def _is_identity_number(date_part: str, separator: str, serial: str) -> bool:
    date_digits, serial = re.sub(r"\D", "", date_part), re.sub(r"\D", "", serial)
    # "+" marks a person of 100 or more; with the century written it adds nothing.
    plus = "+" in separator and len(date_digits) == 6
    candidate = f"{date_digits}{'+' if plus else '-'}{serial}"
    try:
        if not personnummer.valid(candidate):
            return _is_mistyped(date_part, separator, serial)
        # Nobody is born in the future: "2026-12-04 1000" is a meeting, not a person. (Six
        # date digits may be a century earlier, so they are not judged by their date.)
        if len(date_digits) == 6:
            return True
        return personnummer.Personnummer(candidate).get_date() <= dt.date.today()
    except (ValueError, TypeError, AttributeError):
        return False


# A personnummer's own written form: the date in one run, "-" or "+", four digits.
_OWN_FORM_SEPARATOR: Final = re.compile(r" ?[-+] ?")


def _is_mistyped(date_part: str, separator: str, serial: str) -> bool:
    """True when a candidate whose check digit fails is written in a personnummer's own form
    with a real date of birth (see the module's docstring)."""
    if not (date_part.isdigit() and serial.isdigit() and len(serial) == 4):
        return False
    if len(date_part) not in (6, 8) or not _OWN_FORM_SEPARATOR.fullmatch(separator):
        return False
    year = int(date_part[:-4]) if len(date_part) == 8 else 2000  # 2000 had a 29 February
    month, day = int(date_part[-4:-2]), int(date_part[-2:])
    day -= 60 if day > 60 else 0  # samordningsnummer
    try:
        born = dt.date(year, month, day)
    except ValueError:
        return False
    return len(date_part) == 6 or dt.date(1870, 1, 1) <= born <= dt.date.today()


def _grouped(text: str) -> list[tuple[int, int, str]]:
    """Runs of digit groups (see :data:`_GROUPED`) holding ten or twelve digits in all: their
    spans and digits."""
    found = []
    for match in _GROUPED.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if len(digits) in (10, 12):
            found.append((match.start(), match.end(), digits))
    return found


def find_identity_numbers(text: str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of every valid personnummer or samordningsnummer in
    ``normalise(text)`` (the spans refer to the normalised text)."""
    text = normalise(text)
    spans: list[tuple[int, int]] = []
    for match in _CANDIDATE.finditer(text):
        if _is_identity_number(match.group(1), match.group(4), match.group(5)):
            spans.append(match.span())
    for start, end, digits in _grouped(text):
        overlaps = any(start < other_end and other_start < end for other_start, other_end in spans)
        if not overlaps and _is_identity_number(digits[:-4], "", digits[-4:]):
            spans.append((start, end))
    return sorted(spans)


def looks_like_identity_number(text: str | None) -> bool:
    """True when ``text`` holds something shaped like an identity number, whatever its check
    digit (a mistyped personnummer is still one): refused in references and never echoed."""
    normalised = normalise(text or "")
    dates = [re.sub(r"\D", "", match.group(1)) for match in _CANDIDATE.finditer(normalised)]
    dates += [digits[:-4] for _start, _end, digits in _grouped(normalised)]
    for digits in dates:
        month, day = int(digits[-4:-2]), int(digits[-2:])
        # Samordningsnummer add 60 to the day.
        if 1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91):
            return True
    return False


def strip_identity_numbers(text: str) -> str:
    """``text`` normalised, with every identity number replaced (names from Telegram)."""
    text = normalise(text)
    for start, end in reversed(find_identity_numbers(text)):
        text = text[:start] + REDACTED + text[end:]
    return text


def contains_identity_number(text: str | None) -> bool:
    """True when ``text`` holds something that is a Swedish personal identity number."""
    return bool(text) and bool(find_identity_numbers(text or ""))


def redact(text: str) -> str:
    """``text`` normalised, with identity numbers, e-mail addresses and phone numbers
    replaced."""
    text = normalise(text)
    for start, end in reversed(find_identity_numbers(text)):
        text = text[:start] + REDACTED + text[end:]
    text = _EMAIL.sub(REDACTED, text)
    return _PHONE.sub(_redact_phone, text)


def _redact_phone(match: re.Match[str]) -> str:
    # Dates (2026-12-15, 05 03 2026), times of day and their ranges (0830-1000) and a group
    # of a large number (1 000 000) have the shape of a phone number but are harmless.
    text, before = match.group(0), match.string[: match.start()]
    if _DATE.fullmatch(text) or _TIME_RANGE.fullmatch(text) or _SPACED_DATE.fullmatch(text):
        return text
    if _THOUSANDS.search(before) and _THOUSANDS_GROUPS.fullmatch(text):
        return text
    return REDACTED
