"""The emergency card's phone numbers: the contacts file, its check and ``dalsbot contacts check``.

Every number here is fictional: PTS reserves 070-174 06 05 to 070-174 06 99 for fiction.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from bot.shell.cli.main import main
from knowledge.contacts import (
    CONTACTS_PATH,
    ENTRY_KINDS,
    MUNICIPALITIES,
    ContactsError,
    check_contacts,
    load_contacts,
    phone_problem,
)
from storage.people.models import Municipality

MELLERUD = """
municipalities:
  Mellerud:
    barnkontakt:
      label: {sv: "Barnkontakt/samordnare i Mellerud"}
      phone: "070-174 06 12"
    mottagning:
      label:
        sv: "Socialtjänsten, barn och unga (kontorstid)"
        en: "Social services, children and young people (office hours)"
      phone: "070-174 06 10"
    socialjour:
      label: {sv: "Socialjouren (kvällar, nätter, helger)", en: "Socialjouren (out of hours)"}
      phone: "+46 70 174 06 11"
  Åmål:
    mottagning:
      label: {sv: "Socialtjänsten, barn och unga (kontorstid)"}
      phone: ""
"""


def write(tmp_path: Path, text: str, name: str = "contacts.yaml") -> Path:
    """A contacts file with ``text`` in ``tmp_path``."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_file_is_valid_and_holds_no_phone_number_but_112() -> None:
    """The project team fills in the numbers: the file in the repository has none yet."""
    report = check_contacts(CONTACTS_PATH)
    assert report.errors == []
    assert report.contacts.count == 0
    assert report.warnings == [
        f"{name}: no number filled in yet for mottagning, socialjour, barnkontakt"
        for name in MUNICIPALITIES
    ]
    text = CONTACTS_PATH.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    phones = [
        entry.get("phone")
        for entries in data["municipalities"].values()
        for entry in entries.values()
    ]
    assert len(phones) == len(MUNICIPALITIES) * len(ENTRY_KINDS)
    assert set(phones) <= {"", "112"}
    # Nothing that looks like a phone number anywhere, comments included (112 is 3 digits).
    assert re.findall(r"\+?\d(?:[ \-]?\d){4,}", text) == []


def test_the_municipalities_are_the_ones_staff_register_with() -> None:
    """The file's names match storage's municipalities (the region has no local numbers)."""
    assert tuple(m.value for m in Municipality if m is not Municipality.REGION) == MUNICIPALITIES


def test_configured_numbers_load_in_card_order_and_empty_entries_are_left_out(
    tmp_path: Path,
) -> None:
    """Mottagning, socialjour, Barnkontakt in that order; an empty phone is not an entry."""
    contacts = load_contacts(write(tmp_path, MELLERUD))
    local = contacts.for_municipality("Mellerud")
    assert local is not None and local.municipality == "Mellerud"
    assert [(e.kind, e.phone) for e in local.entries] == [
        ("mottagning", "070-174 06 10"),
        ("socialjour", "+46 70 174 06 11"),
        ("barnkontakt", "070-174 06 12"),
    ]
    assert local.entries[1].label("en") == "Socialjouren (out of hours)"
    # Without an English label the Swedish one is used.
    assert local.entries[2].label("en") == "Barnkontakt/samordnare i Mellerud"
    assert contacts.count == 3
    assert contacts.for_municipality("Åmål") is None
    assert contacts.for_municipality("Bengtsfors") is None
    assert contacts.for_municipality("region") is None
    assert contacts.for_municipality(None) is None
    assert contacts.for_municipality(unicodedata.normalize("NFD", "Mellerud")) == local


def test_a_decomposed_municipality_name_in_the_file_is_recognised(tmp_path: Path) -> None:
    """ "Åmål" typed as A + ring is still Åmål."""
    text = MELLERUD.replace("Åmål", unicodedata.normalize("NFD", "Åmål"))
    assert check_contacts(write(tmp_path, text)).errors == []


def test_missing_numbers_and_municipalities_are_warnings_not_errors(tmp_path: Path) -> None:
    """Numbers not filled in yet are listed per municipality; the file still loads."""
    report = check_contacts(write(tmp_path, MELLERUD))
    assert report.ok
    assert report.warnings == [
        "Åmål: no number filled in yet for mottagning, socialjour, barnkontakt",
        "Bengtsfors: not in the file, so no numbers are shown",
        "Dals-Ed: not in the file, so no numbers are shown",
        "Färgelanda: not in the file, so no numbers are shown",
    ]


@pytest.mark.parametrize(
    "phone",
    ["070-174 06 05", "0701740699", "+46 70 174 06 50", "+46701740650", "112", "1177", "113 13"],
)
def test_swedish_phone_numbers_are_accepted(phone: str) -> None:
    """National with area code, +46 without the 0, and short service numbers."""
    assert phone_problem(phone) is None


# Each refused number and a word of the reason it is refused with.
REFUSED = {
    "fylls i": "only digits",
    "070-174 06 05 (växel)": "only digits",
    "070–174 06 05": "only digits",  # an en dash, not a hyphen
    "+47 70 174 06 05": "Swedish",
    "+46 070 174 06 05": "leave out the 0",
    "0046 70 174 06 05": "+46",
    "070-174-06-05": "misplaced",
    "070  174 06 05": "misplaced",
    "070 17": "digits",
    "070-174 06 05 99 9": "digits",
    "+46 70": "digits",
    "70 174 06 05": "must start with 0",
    "-070 174 06 05": "start",
}


@pytest.mark.parametrize(("phone", "problem"), REFUSED.items())
def test_anything_else_is_not_a_phone_number(phone: str, problem: str) -> None:
    """Letters, foreign numbers, wrong lengths and stray signs are refused with a reason."""
    found = phone_problem(phone)
    assert found is not None and problem in found


def test_structural_errors_refuse_the_file_and_name_the_place(tmp_path: Path) -> None:
    """Every mistake is reported with where it is; loading raises the first one."""
    text = """
municipalities:
  Amal: {}
  Mellerud:
    socjour: {label: {sv: "Socialjour"}, phone: "070-174 06 20"}
    mottagning: {label: {sv: "Mottagning"}, phone: 0701740621}
    barnkontakt: {phone: "070-174 06 22"}
  Bengtsfors:
    mottagning: {label: {sv: "namn, roll, telefon"}, phone: "070-174 06 23"}
    socialjour: {label: {sv: "Ring 070 174 06 24"}, phone: "112", email: "x@y.se"}
    barnkontakt: {label: {sv: "Barnkontakt", de: "Kinderkontakt"}, phone: "Fylls i senare"}
"""
    path = write(tmp_path, text)
    report = check_contacts(path)
    assert report.errors == [
        "unknown municipality 'Amal' (expected one of Bengtsfors, Dals-Ed, Färgelanda, "
        "Mellerud, Åmål)",
        "Mellerud: unknown entry 'socjour' (expected mottagning, socialjour, barnkontakt)",
        'Mellerud.mottagning: phone must be text in quotes, e.g. "0530-12 34 56"',
        "Mellerud.barnkontakt: 'label' must have 'sv' (and 'en') texts",
        "Bengtsfors.mottagning: label.sv looks like template text; write the real label or "
        "leave the entry out",
        "Bengtsfors.socialjour: unknown field 'email' (only label and phone)",
        "Bengtsfors.socialjour: label.sv contains a number; put the phone number in 'phone'",
        "Bengtsfors.barnkontakt: label language 'de' is not one of sv, en",
        "Bengtsfors.barnkontakt: phone 'Fylls i senare' may contain only digits, spaces, + and -",
    ]
    assert report.contacts.count == 0
    with pytest.raises(ContactsError, match=r"unknown municipality 'Amal'.*\(and 8 more\)"):
        load_contacts(path)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("municipalities: [Mellerud]", "'municipalities' must map"),
        ("kommuner: {}", "one key, 'municipalities'"),
        ("municipalities: {Mellerud: [1, 2]}", "Mellerud: must list"),
        ("municipalities: {Mellerud: {mottagning: 5}}", "must have 'label' and 'phone'"),
        ("municipalities: {Mellerud: {mottagning: {label: 'x'", "cannot be read as YAML"),
    ],
)
def test_a_malformed_file_is_an_error(tmp_path: Path, text: str, error: str) -> None:
    """Wrong shapes and broken YAML are errors, not crashes."""
    report = check_contacts(write(tmp_path, text))
    assert not report.ok and error in report.errors[0]


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    """A contacts path that does not exist is refused."""
    with pytest.raises(ContactsError, match="does not exist"):
        load_contacts(tmp_path / "nowhere.yaml")


def test_cli_check_exits_1_and_prints_every_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Structural errors: one ERROR line each, a summary, exit code 1."""
    path = write(tmp_path, MELLERUD.replace('"070-174 06 10"', '"070-174 06 1O"'))
    assert main(["contacts", "check", "--path", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "ERROR   Mellerud.mottagning: phone '070-174 06 1O' may contain only digits, "
        "spaces, + and -"
    )
    assert out[-1] == f"{path}: 0 number(s) configured; 1 error(s), 4 warning(s)"


def test_cli_check_warns_about_missing_numbers_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only gaps: WARNING lines per municipality, the number count, exit code 0."""
    path = write(tmp_path, MELLERUD)
    assert main(["contacts", "check", "--path", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "WARNING Åmål: no number filled in yet for mottagning, socialjour, barnkontakt"
    assert [line for line in out if line.startswith("ERROR")] == []
    assert out[-1] == f"{path}: 3 number(s) configured; 0 error(s), 4 warning(s)"


def test_cli_check_reads_the_configured_file_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --path the command checks DALSBOT_CONTACTS_FILE, the file the bot loads."""
    path = write(tmp_path, "municipalities: {Mellerud: {mottagning: {phone: '070'}}}")
    monkeypatch.setenv("DALSBOT_CONTACTS_FILE", str(path))
    assert main(["contacts", "check"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"{path}: 0 number(s)")
