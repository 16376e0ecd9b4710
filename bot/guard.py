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
  are not refused by mistake. A mistyped one (a wrong digit does not make it less a child's
  number) counts too when it is written the way a personnummer is written: a real date of
  birth (six digits, or eight with the century and in the past), then "-" or "+" (or a few
  of them, with spaces or a line break around; any dash), then four digits
  (``120212-9816``, ``120212 - 9816``; a date written with separators takes one "-":
  ``2012-02-12-9816``); eight date digits, spaces and four digits (``20120212 9816``); or
  twelve digits in one run or in groups starting with a date of birth (``201202129816``,
  ``2012 0212 9816``), the form e-services ask for. Four digits that go on as a range or
  a date are no serial (``2024-01-01 - 2024-01-31``). Ten digits in one run or in groups
  still need the check digit (``0701234567`` is a mobile number), as do six date digits
  and a space (``240315 1400`` is as often a date and a time) and a date written with
  separators followed by a space (``2024-03-15 1400``). An ordinary number in one of these
  forms looks like a personnummer and is refused like one ("240315-0042" as a case
  number): the person is asked, in one line, to write it another way.
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


def _is_identity_number(
    date_part: str, separator: str, serial: str, after: str = "", *, mistyped: bool = True
) -> bool:
    date_digits, serial = re.sub(r"\D", "", date_part), re.sub(r"\D", "", serial)
    # "+" marks a person of 100 or more; with the century written it adds nothing.
    plus = "+" in separator and len(date_digits) == 6
    candidate = f"{date_digits}{'+' if plus else '-'}{serial}"
    try:
        if not personnummer.valid(candidate):
            return mistyped and _is_mistyped(date_part, separator, serial, after)
        # Nobody is born in the future: "2026-12-04 1000" is a meeting, not a person. (Six
        # date digits may be a century earlier, so they are not judged by their date.)
        if len(date_digits) == 6:
            return True
        return personnummer.Personnummer(candidate).get_date() <= dt.date.today()
    except (ValueError, TypeError, AttributeError):
        return False


# Characters that stand for a dash between date and serial, besides the "-" that
# ``normalise`` makes of every Unicode dash: look-alikes that are not dashes to Unicode
# (hyphen bullet, modifier minus, heavy minus sign, the katakana long-vowel mark).
_DASHES_TOO: Final = str.maketrans(dict.fromkeys("\u2043\u02d7\u2796" + _DASH_LIKE, "-"))
# Between date and serial: one to three of "-" and "+", with any spaces or line breaks
# around them; after a date written in one run, spaces or a line break alone will do.
_OWN_SEPARATOR: Final = re.compile(r"\s*[-+]{1,3}\s*")
_SPACE_SEPARATOR: Final = re.compile(r"\s+")
_DATE_AND_TIME: Final = re.compile(r"(?:\d{4}|\d{2})([-./])\d{2}\1\d{2}\s+\d{4}")
# What follows four digits that are the start of something else: a range or a date.
_GOES_ON: Final = re.compile(r"\s*[-./:]\s*\d")
# The oldest date of birth a personnummer written with its century can have.
_FIRST_BIRTH: Final = dt.date(1870, 1, 1)


def _is_mistyped(date_part: str, separator: str, serial: str, after: str) -> bool:
    """True when a candidate whose check digit fails is written the way a personnummer is
    written (see the module's docstring), with a real date of birth; ``after`` is the text
    that follows it."""
    date_digits, serial_digits = re.sub(r"\D", "", date_part), re.sub(r"\D", "", serial)
    if len(serial_digits) != 4 or len(date_digits) not in (6, 8) or _GOES_ON.match(after):
        return False  # the "serial" starts another date or a range: 2024-01-01 - 2024-01-31
    separator = separator.translate(_DASHES_TOO)
    in_one_run = date_part.isdigit()
    with_century = in_one_run and len(date_digits) == 8
    written_as_one = (
        # 120212-9816, 120212 - 9816, 20120212--9816
        (in_one_run and _OWN_SEPARATOR.fullmatch(separator) is not None)
        # 12.02.12-9816, 2012-02-12-9816
        or separator in ("-", "+")
        # 20120212 9816 and 201202129816, the form e-services ask for. (Six digits and a
        # space are as often a date and a time; ten in one run, a mobile number.)
        or (with_century and (separator == "" or _SPACE_SEPARATOR.fullmatch(separator)))
    )
    return bool(written_as_one) and _born(date_digits)


def _born(date_digits: str) -> bool:
    """Whether six or eight digits are a real date of birth (day + 60: samordningsnummer);
    with the century, in the past (not a meeting's date)."""
    if len(date_digits) == 8 and date_digits[:2] not in ("18", "19", "20"):
        return False
    year = int(date_digits[:-4]) if len(date_digits) == 8 else 2000  # 2000 had a 29 February
    month, day = int(date_digits[-4:-2]), int(date_digits[-2:])
    day -= 60 if day > 60 else 0
    try:
        born = dt.date(year, month, day)
    except ValueError:
        return False
    return len(date_digits) == 6 or _FIRST_BIRTH <= born <= dt.date.today()


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
        after = text[match.end() : match.end() + 8]
        if _is_identity_number(match.group(1), match.group(4), match.group(5), after):
            spans.append(match.span())
    for start, end, digits in _grouped(text):
        overlaps = any(start < other_end and other_start < end for other_start, other_end in spans)
        after = text[end : end + 8]
        # A date written with separators, a space and four digits is a date and a time
        # (2024-03-15 1400): counted only with a valid check digit.
        timed = _DATE_AND_TIME.match(text, start, end) is not None
        if not overlaps and _is_identity_number(
            digits[:-4], "", digits[-4:], after, mistyped=not timed
        ):
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
