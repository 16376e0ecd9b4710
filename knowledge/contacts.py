"""Phone numbers per municipality for the emergency card, kept by an admin in ``contacts.yaml``.

For each Dalsland municipality the file may give three entries: ``mottagning``
(socialtjänstens mottagning for children and young people, office hours), ``socialjour``
(the on-call social services) and ``barnkontakt`` (the local Barnkontakt or coordinator).
Each entry is a label per language and a phone number; all are optional. An entry without a
number is simply not shown.

Dalsbot never invents a number: only what this file says reaches a user, and only when it
is a phone number in Swedish format (digits, spaces, ``+`` and ``-``). ``check_contacts``
reports structural errors (the file is refused) and warnings (municipalities whose numbers
are not filled in yet); ``dalsbot contacts check`` prints them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bot import yamlfile
from bot.findings import Findings

CONTACTS_PATH: Final = Path(__file__).resolve().parent / "contacts.yaml"
# The five municipalities as the bot stores them (storage.people.models.Municipality, without
# "region": people who work across municipalities have no local numbers).
MUNICIPALITIES: Final = ("Bengtsfors", "Dals-Ed", "Färgelanda", "Mellerud", "Åmål")
# The entries of a municipality, in the order the card shows them.
ENTRY_KINDS: Final = ("mottagning", "socialjour", "barnkontakt")
LABEL_LANGS: Final = ("sv", "en")
MAX_LABEL: Final = 60  # keeps the emergency card phone-sized

_PHONE_CHARS: Final = re.compile(r"[0-9 +\-]+")
# Short service numbers: 112, 1177, 113 13, 114 14 ...
_SERVICE_NUMBER: Final = re.compile(r"11\d{1,4}")
# A phone number hidden in a label would bypass the check of ``phone``.
_NUMBER_IN_TEXT: Final = re.compile(r"\d[\d \-]{3,}\d")
# Template text that must never reach a user.
_PLACEHOLDER: Final = re.compile(
    r"fylls? i|to be filled|namn, roll|name, role|\btodo\b|\btbd\b|xxx|\?\?|\.\.\.|…",
    re.IGNORECASE,
)


class ContactsError(Exception):
    """The contacts file has a structural error; the message is the first one."""


@dataclass(frozen=True, slots=True)
class Contact:
    """One number to call: what it is (``kind``), its label per language and the number."""

    kind: str
    labels: Mapping[str, str]
    phone: str

    def label(self, lang: str) -> str:
        """The label in ``lang``, else the Swedish one."""
        return self.labels.get(lang) or self.labels["sv"]


@dataclass(frozen=True, slots=True)
class LocalContacts:
    """The configured numbers of one municipality (never empty)."""

    municipality: str
    entries: tuple[Contact, ...]


@dataclass(frozen=True, slots=True)
class Contacts:
    """Every configured number, by municipality; entries without a number are left out."""

    by_municipality: Mapping[str, tuple[Contact, ...]] = field(default_factory=dict)

    def for_municipality(self, municipality: str | None) -> LocalContacts | None:
        """The numbers of ``municipality``, or None (unknown, the region, or none filled in)."""
        if municipality is None:
            return None
        entries = self.by_municipality.get(_nfc(municipality), ())
        return LocalContacts(_nfc(municipality), entries) if entries else None

    @property
    def count(self) -> int:
        """How many numbers are configured in all."""
        return sum(len(entries) for entries in self.by_municipality.values())


@dataclass(slots=True)
class ContactsReport(Findings):
    """The outcome of a check: errors refuse the file, warnings do not."""

    contacts: Contacts = field(default_factory=Contacts)


def _nfc(text: str) -> str:
    # "Åmål" typed on some keyboards arrives decomposed; compare the composed form.
    return unicodedata.normalize("NFC", text).strip()


def phone_problem(phone: str) -> str | None:
    """Why ``phone`` is not a Swedish phone number as people write it, or None when it is.

    Accepted: ``0530-12 34 56`` (national, 8–10 digits with the leading 0),
    ``+46 530 12 34 56`` (7–9 digits after +46, no 0) and short service numbers (``112``).
    """
    if not _PHONE_CHARS.fullmatch(phone):
        return "may contain only digits, spaces, + and -"
    if "+" in phone[1:] or phone.count("-") > 1 or re.search(r"[ \-]{2,}", phone):
        return "has a misplaced + or repeated spaces or dashes"
    if not phone[-1].isdigit() or not (phone[0].isdigit() or phone[0] == "+"):
        return "must start with a digit or + and end with a digit"
    digits = re.sub(r"\D", "", phone)
    if phone.startswith("+"):
        if not digits.startswith("46"):
            return "must be a Swedish number (+46)"
        national = digits[2:]
        if national.startswith("0"):
            return "leave out the 0 after +46 (+46 530 ..., not +46 0530 ...)"
        if not 7 <= len(national) <= 9:
            return "has the wrong number of digits after +46 (7 to 9)"
        return None
    if digits.startswith("00"):
        return "write an international number with +46"
    if digits.startswith("0"):
        return None if 8 <= len(digits) <= 10 else "has the wrong number of digits (8 to 10)"
    if _SERVICE_NUMBER.fullmatch(digits) and "-" not in phone:
        return None
    return "must start with 0 (area code), +46, or be a short number such as 112"


def _text_problem(text: str) -> str | None:
    if _PLACEHOLDER.search(text):
        return "looks like template text; write the real label or leave the entry out"
    if _NUMBER_IN_TEXT.search(text):
        return "contains a number; put the phone number in 'phone'"
    if len(text) > MAX_LABEL:
        return f"is longer than {MAX_LABEL} characters"
    return None


def _labels(where: str, value: object, report: ContactsReport) -> dict[str, str] | None:
    if not isinstance(value, dict):
        report.errors.append(f"{where}: 'label' must have 'sv' (and 'en') texts")
        return None
    labels: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in LABEL_LANGS:
            report.errors.append(f"{where}: label language {lang!r} is not one of sv, en")
        elif not isinstance(text, str) or not text.strip():
            report.errors.append(f"{where}: label.{lang} must be a non-empty text")
        elif problem := _text_problem(text):
            report.errors.append(f"{where}: label.{lang} {problem}")
        else:
            labels[lang] = " ".join(text.split())
    if "sv" not in value:
        report.errors.append(f"{where}: label.sv is missing")
    return labels if "sv" in labels else None


def _entry(where: str, kind: str, value: object, report: ContactsReport) -> Contact | None:
    """The entry as a Contact when it has a valid number; None when empty or wrong."""
    if value is None:
        return None
    if not isinstance(value, dict):
        report.errors.append(f"{where}: must have 'label' and 'phone'")
        return None
    for key in value:
        if key not in ("label", "phone"):
            report.errors.append(f"{where}: unknown field {key!r} (only label and phone)")
    labels = _labels(where, value.get("label"), report)
    phone = value.get("phone")
    if phone is None or phone == "":
        return None
    if not isinstance(phone, str):
        # 0530123456 unquoted is read as a number by YAML and loses its leading 0.
        report.errors.append(f'{where}: phone must be text in quotes, e.g. "0530-12 34 56"')
        return None
    phone = " ".join(phone.split())
    if problem := phone_problem(phone):
        report.errors.append(f"{where}: phone {phone!r} {problem}")
        return None
    return Contact(kind, labels, phone) if labels is not None else None


def _municipality(name: str, value: object, report: ContactsReport) -> tuple[Contact, ...]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        report.errors.append(f"{name}: must list {', '.join(ENTRY_KINDS)}")
        return ()
    entries: list[Contact] = []
    wrong: set[str] = set()  # reported as errors already, so not also as missing
    for kind, entry in value.items():
        if kind not in ENTRY_KINDS:
            report.errors.append(
                f"{name}: unknown entry {kind!r} (expected {', '.join(ENTRY_KINDS)})"
            )
            continue
        errors = len(report.errors)
        contact = _entry(f"{name}.{kind}", kind, entry, report)
        if contact is not None:
            entries.append(contact)
        elif len(report.errors) > errors:
            wrong.add(kind)
    entries.sort(key=lambda contact: ENTRY_KINDS.index(contact.kind))
    done = {contact.kind for contact in entries} | wrong
    missing = [kind for kind in ENTRY_KINDS if kind not in done]
    if missing:
        report.warnings.append(f"{name}: no number filled in yet for {', '.join(missing)}")
    return tuple(entries)


def _read(path: Path, report: ContactsReport) -> dict[str, Any] | None:
    try:
        data = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        report.errors.append(f"{path}: the contacts file does not exist")
        return None
    except (OSError, UnicodeDecodeError, yamlfile.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        report.errors.append(f"{path}: cannot be read as YAML: {first}")
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict) or set(data) - {"municipalities"}:
        report.errors.append(f"{path}: the file must have one key, 'municipalities'")
        return None
    municipalities = data.get("municipalities") or {}
    if not isinstance(municipalities, dict):
        report.errors.append(f"{path}: 'municipalities' must map each municipality to entries")
        return None
    return {_nfc(str(name)): value for name, value in municipalities.items()}


def check_contacts(path: Path | None = None) -> ContactsReport:
    """Read and check the contacts file (None: the one that comes with the knowledge base); the
    report carries the contacts when it has no errors."""
    report = ContactsReport()
    municipalities = _read(path or CONTACTS_PATH, report)
    if municipalities is None:
        return report
    by_municipality: dict[str, tuple[Contact, ...]] = {}
    for name, value in municipalities.items():
        if name not in MUNICIPALITIES:
            report.errors.append(
                f"unknown municipality {name!r} (expected one of {', '.join(MUNICIPALITIES)})"
            )
            continue
        entries = _municipality(name, value, report)
        if entries:
            by_municipality[name] = entries
    for name in MUNICIPALITIES:
        if name not in municipalities:
            report.warnings.append(f"{name}: not in the file, so no numbers are shown")
    if report.ok:
        report.contacts = Contacts(by_municipality)
    return report


def load_contacts(path: Path | None = None) -> Contacts:
    """The configured numbers, or ContactsError with the first structural error."""
    report = check_contacts(path)
    if not report.ok:
        more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
        raise ContactsError(report.errors[0] + more)
    return report.contacts
