"""Import and export of plans as CSV, for the admin command line.

Columns (a header line is required; the order is free)::

    reference,plan_type,municipality,responsible,participants,next_follow_up,follow_up_time

- ``reference``: a pseudonymous plan reference (``validate_reference`` in references.py).
- ``plan_type``: ``barnets_plan``, ``sip`` or ``annan``; "Barnets plan", "SIP" and any
  case are accepted and stored in the canonical form.
- ``municipality``: Bengtsfors, Dals-Ed, Färgelanda, Mellerud, Åmål or region, any case;
  stored in the canonical spelling.
- ``responsible``: the Telegram user id or ``@username`` of a registered staff member;
  ``participants``: the same, separated by ``;`` (may be empty; repeats are dropped).
- ``next_follow_up``: ``YYYY-MM-DD``, today or later; ``follow_up_time``: ``HH:MM`` or empty.
  The ``participants`` and ``follow_up_time`` columns may be left out.

Every row is checked and every problem reported, ``line N: ...`` with N the 1-based line in
the file (the header is line 1). A reference used twice in one file is an error (compared
without regard to case). A file separated by semicolons (as a Swedish Excel saves it) is
accepted when its header has no comma. Error messages never repeat a value that looks like
a personal identity number. :func:`plans_to_csv` writes the same columns with user ids, so
an export imports again unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Final, TypeVar

from bot.findings import Findings
from bot.guard import looks_like_identity_number, normalise
from storage.csvtext import csv_text
from storage.plans.references import ReferenceError_, reference_key, validate_reference

COLUMNS: Final = (
    "reference",
    "plan_type",
    "municipality",
    "responsible",
    "participants",
    "next_follow_up",
    "follow_up_time",
)
_OPTIONAL_COLUMNS: Final = frozenset({"participants", "follow_up_time"})
PLAN_TYPES: Final = ("barnets_plan", "sip", "annan")
# The same spellings as storage.people.models.Municipality (kept free of the database here).
MUNICIPALITIES: Final = ("Bengtsfors", "Dals-Ed", "Färgelanda", "Mellerud", "Åmål", "region")

_PLAN_TYPE_BY_NAME: Final = {
    **{name: name for name in PLAN_TYPES},
    "barnets plan": "barnets_plan",
    "barnets-plan": "barnets_plan",
}
_MUNICIPALITY_BY_NAME: Final = {name.casefold(): name for name in MUNICIPALITIES}
_STAFF_TOKEN: Final = re.compile(r"[0-9]{1,15}|@[A-Za-z0-9_]{3,32}")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME: Final = re.compile(r"([0-9]{1,2}):([0-9]{2})")

StaffResolver = Callable[[str], int | None]
_T = TypeVar("_T")


@dataclass(frozen=True)
class PlanRow:
    """One plan as imported or exported; staff are Telegram user ids."""

    reference: str
    plan_type: str
    municipality: str
    responsible: int
    participants: tuple[int, ...]
    next_follow_up: dt.date
    follow_up_time: dt.time | None = None
    # Where the row was read (1-based, the header is line 1); 0 when not read from a file.
    line: int = field(default=0, compare=False)


@dataclass
class CsvImport(Findings):
    """The outcome of reading a file: the valid rows and every error found (``ok``: every
    row may be imported)."""

    rows: list[PlanRow] = field(default_factory=list)


class _RowError(ValueError):
    """One problem in one row; its message is shown with the row's line number."""


def _show(value: str) -> str:
    if looks_like_identity_number(value):
        return "(a value that looks like a personal identity number)"
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _plan_type(value: str) -> str:
    found = _PLAN_TYPE_BY_NAME.get(" ".join(value.split()).casefold())
    if found is None:
        raise _RowError(f"plan_type {_show(value)} is not one of {', '.join(PLAN_TYPES)}")
    return found


def _municipality(value: str) -> str:
    found = _MUNICIPALITY_BY_NAME.get(value.strip().casefold())
    if found is None:
        raise _RowError(f"municipality {_show(value)} is not one of {', '.join(MUNICIPALITIES)}")
    return found


def _staff(column: str, token: str, resolve_staff: StaffResolver) -> int:
    if not _STAFF_TOKEN.fullmatch(token):
        raise _RowError(f"{column} {_show(token)} is not a Telegram user id or @username")
    user_id = resolve_staff(token)
    if user_id is None:
        raise _RowError(f"{column} {_show(token)} is not a registered staff member")
    return user_id


def _follow_up_date(value: str, today: dt.date) -> dt.date:
    if not _DATE.fullmatch(value):
        raise _RowError(f"next_follow_up {_show(value)} is not a date YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise _RowError(f"next_follow_up {_show(value)} is not a real date") from None
    if day < today:
        raise _RowError(f"next_follow_up {value} is in the past")
    return day


def _follow_up_time(value: str) -> dt.time | None:
    if not value:
        return None
    match = _TIME.fullmatch(value)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise _RowError(f"follow_up_time {_show(value)} is not a time HH:MM")
    return dt.time(int(match[1]), int(match[2]))


def _reference(value: str) -> str:
    try:
        return validate_reference(value)
    except ReferenceError_ as exc:
        if exc.key == "plans.ref_personnummer":
            raise _RowError("reference looks like a personal identity number") from None
        if exc.key == "plan_wizard.ref_first_name":
            raise _RowError(
                f"reference {_show(value)} contains a common first name; use a code"
            ) from None
        raise _RowError(
            f"reference {_show(value)} must be 3-32 letters, digits and dashes"
        ) from None


class _Checker:
    """Runs field parsers, collecting each problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def __call__(self, parse: Callable[..., _T], *args: object) -> _T | None:
        try:
            return parse(*args)
        except _RowError as exc:
            self.errors.append(str(exc))
            return None


def _participants(value: str, resolve_staff: StaffResolver, check: _Checker) -> tuple[int, ...]:
    found: list[int] = []
    for token in (part.strip() for part in value.split(";")):
        user_id = check(_staff, "participant", token, resolve_staff) if token else None
        if user_id is not None and user_id not in found:
            found.append(user_id)
    return tuple(found)


def _parse_row(
    values: dict[str, str], resolve_staff: StaffResolver, today: dt.date
) -> PlanRow | list[str]:
    """One row checked field by field: the plan, or every problem found in it."""
    check = _Checker()
    reference = check(_reference, values["reference"])
    plan_type = check(_plan_type, values["plan_type"])
    municipality = check(_municipality, values["municipality"])
    responsible = None
    if values["responsible"]:
        responsible = check(_staff, "responsible", values["responsible"], resolve_staff)
    else:
        check.errors.append("responsible is missing")
    participants = _participants(values.get("participants", ""), resolve_staff, check)
    follow_up = check(_follow_up_date, values["next_follow_up"], today)
    at = check(_follow_up_time, values.get("follow_up_time", ""))
    if (
        check.errors
        or reference is None
        or plan_type is None
        or municipality is None
        or responsible is None
        or follow_up is None
    ):
        return check.errors
    return PlanRow(reference, plan_type, municipality, responsible, participants, follow_up, at)


def _delimiter(header_line: str) -> str:
    return ";" if "," not in header_line and ";" in header_line else ","


def _read_header(fields: list[str]) -> tuple[list[str], list[str]]:
    """The column names of the header, and its problems."""
    names = [name.strip().lower() for name in fields]
    errors: list[str] = []
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        errors.append(f"unknown column(s) {', '.join(_show(n) for n in unknown)}")
    repeated = [name for name in COLUMNS if names.count(name) > 1]
    if repeated:
        errors.append(f"column(s) given twice: {', '.join(repeated)}")
    missing = [c for c in COLUMNS if c not in names and c not in _OPTIONAL_COLUMNS]
    if missing:
        errors.append(f"missing column(s) {', '.join(missing)}; the header must name them")
    return names, [f"line 1: {error}" for error in errors]


def parse_plans_csv(text: str, *, resolve_staff: StaffResolver, today: dt.date) -> CsvImport:
    """Every valid plan in ``text`` and every error, each with its line number."""
    text = normalise(text)
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    result = CsvImport()
    try:
        header = next(reader)
    except StopIteration:
        result.errors.append("line 1: the file is empty; a header line is required")
        return result
    except csv.Error as exc:
        # A header field over the csv module's limit (128 KiB), a stray NUL...: one line.
        result.errors.append(f"line 1: not readable as CSV ({exc})")
        return result
    names, header_errors = _read_header(header)
    if header_errors:
        result.errors.extend(header_errors)
        return result

    seen: dict[str, int] = {}
    line = reader.line_num + 1
    try:
        for fields in reader:
            start, line = line, reader.line_num + 1
            if not any(value.strip() for value in fields):
                continue
            _check_row(fields, names, start, seen, result, resolve_staff, today)
    except csv.Error as exc:
        result.errors.append(f"line {reader.line_num}: not readable as CSV ({exc})")
    return result


def _check_row(
    fields: list[str],
    names: list[str],
    line: int,
    seen: dict[str, int],
    result: CsvImport,
    resolve_staff: StaffResolver,
    today: dt.date,
) -> None:
    if len(fields) != len(names):
        result.errors.append(f"line {line}: expected {len(names)} fields, found {len(fields)}")
        return
    values = {name: value.strip() for name, value in zip(names, fields, strict=True)}
    parsed = _parse_row(values, resolve_staff, today)
    errors = [] if isinstance(parsed, PlanRow) else parsed
    key = _duplicate_key(values["reference"])
    if key is not None and key in seen:
        errors.append(f"reference {_show(values['reference'])} is already on line {seen[key]}")
    elif key is not None:
        seen[key] = line
    result.errors.extend(f"line {line}: {error}" for error in errors)
    if isinstance(parsed, PlanRow) and not errors:
        result.rows.append(replace(parsed, line=line))


def _duplicate_key(reference: str) -> str | None:
    """How references are compared for repeats: valid ones only, without regard to case."""
    try:
        return reference_key(reference)
    except ReferenceError_:
        return None


def plans_to_csv(rows: Iterable[PlanRow]) -> str:
    """The plans as CSV with the import's columns, staff as user ids."""
    return csv_text(
        COLUMNS,
        (
            (
                row.reference,
                row.plan_type,
                row.municipality,
                row.responsible,
                ";".join(str(user_id) for user_id in row.participants),
                row.next_follow_up.isoformat(),
                row.follow_up_time.strftime("%H:%M") if row.follow_up_time else "",
            )
            for row in rows
        ),
    )
