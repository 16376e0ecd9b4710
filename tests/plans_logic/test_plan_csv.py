"""CSV import and export of plans for the admin command line."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.plans.csvfile import (
    COLUMNS,
    MUNICIPALITIES,
    PLAN_TYPES,
    CsvImport,
    PlanRow,
    parse_plans_csv,
    plans_to_csv,
)
from storage.plans.references import ReferenceError_, validate_reference

TODAY = dt.date(2026, 11, 25)
HEADER = ",".join(COLUMNS)
STAFF = {"111": 111, "222": 222, "333": 333, "@anna_s": 333, "@bo_lind": 444}


def resolve(token: str) -> int | None:
    return STAFF.get(token)


def parse(text: str) -> CsvImport:
    return parse_plans_csv(text, resolve_staff=resolve, today=TODAY)


def test_a_valid_file_is_read_with_canonical_values() -> None:
    """Labels, case and @usernames are normalised; empty optional fields are allowed."""
    result = parse(
        f"{HEADER}\n"
        "BP-1,Barnets plan,åmål,111,222;@anna_s,2026-12-15,13:30\n"
        "sip-2,SIP,DALS-ED,@bo_lind,,2026-11-25,\n"
        "A-3,annan,Region,222,111; 111 ;,2027-01-04,8:05\n"
    )
    assert result.errors == []
    assert result.ok
    assert result.rows == [
        PlanRow(
            "BP-1", "barnets_plan", "Åmål", 111, (222, 333), dt.date(2026, 12, 15), dt.time(13, 30)
        ),
        PlanRow("sip-2", "sip", "Dals-Ed", 444, (), dt.date(2026, 11, 25), None),
        PlanRow("A-3", "annan", "region", 222, (111,), dt.date(2027, 1, 4), dt.time(8, 5)),
    ]


def test_every_error_is_reported_with_its_line_number() -> None:
    """All rows are checked and each problem names its file line (header = line 1)."""
    result = parse(
        f"{HEADER}\n"
        "BP-1,sip,Mellerud,111,,2026-12-15,\n"
        "bp-1,sip,Mellerud,111,,2026-12-16,\n"
        "\n"
        "19900101-0017,xx,Oslo,@nobody,999;abc,2026-13-01,25:00\n"
        "X,SIP,Åmål,,,2020-01-01,9\n"
        "BP-9,sip,Åmål,111,,15/12/2026\n"
        '"BP-10",sip,"Mellerud",111,"222;\n'
        '333",2026-12-01,\n'
        "BP-11,sip,Mellerud,111,,2026-12-01,\n"
    )
    assert result.errors == [
        "line 3: reference 'bp-1' is already on line 2",
        "line 5: reference looks like a personal identity number",
        "line 5: plan_type 'xx' is not one of barnets_plan, sip, annan",
        "line 5: municipality 'Oslo' is not one of Bengtsfors, Dals-Ed, Färgelanda, Mellerud,"
        " Åmål, region",
        "line 5: responsible '@nobody' is not a registered staff member",
        "line 5: participant '999' is not a registered staff member",
        "line 5: participant 'abc' is not a Telegram user id or @username",
        "line 5: next_follow_up '2026-13-01' is not a real date",
        "line 5: follow_up_time '25:00' is not a time HH:MM",
        "line 6: reference 'X' must be 3-32 letters, digits and dashes",
        "line 6: responsible is missing",
        "line 6: next_follow_up 2020-01-01 is in the past",
        "line 6: follow_up_time '9' is not a time HH:MM",
        "line 7: expected 7 fields, found 6",
    ]
    assert [row.reference for row in result.rows] == ["BP-1", "BP-10", "BP-11"]
    assert not result.ok


def test_error_messages_never_repeat_an_identity_number() -> None:
    """A personnummer typed in a staff column is not echoed back."""
    result = parse(f"{HEADER}\nBP-1,sip,Åmål,199001010017,,2026-12-15,\n")
    assert result.errors == [
        "line 2: responsible (a value that looks like a personal identity number)"
        " is not a registered staff member"
    ]


def test_the_header_is_required() -> None:
    """A file without the header, or with unknown or missing columns, is refused at line 1."""
    assert parse("").errors == ["line 1: the file is empty; a header line is required"]
    headerless = parse("BP-1,sip,Åmål,111,,2026-12-15,\n")
    assert headerless.rows == []
    assert headerless.errors[0].startswith("line 1: unknown column(s)")
    assert "missing column(s) reference, plan_type" in headerless.errors[1]
    twice = parse(f"{HEADER},reference\n")
    assert twice.errors == ["line 1: column(s) given twice: reference"]


def test_optional_columns_may_be_left_out_and_columns_reordered() -> None:
    """Only reference, type, municipality, responsible and date are required columns."""
    result = parse(
        "municipality,reference,next_follow_up,responsible,plan_type\nÅmål,BP-1,2026-12-15,111,sip\n"
    )
    assert result.errors == []
    assert result.rows == [PlanRow("BP-1", "sip", "Åmål", 111, (), dt.date(2026, 12, 15), None)]


def test_excel_style_semicolon_file_with_bom() -> None:
    """A Swedish Excel export (semicolons, byte order mark) is read too."""
    result = parse(
        "\ufeff"
        + ";".join(COLUMNS)
        + "\r\n"
        + 'BP-1;sip;Färgelanda;111;"222;333";2026-12-15;09:00\r\n'
    )
    assert result.errors == []
    assert result.rows[0].participants == (222, 333)
    assert result.rows[0].municipality == "Färgelanda"


def test_export_then_import_gives_the_same_rows() -> None:
    """An export is a valid import file."""
    rows = [
        PlanRow(
            "BP-1", "barnets_plan", "Åmål", 111, (222, 333), dt.date(2026, 12, 15), dt.time(13, 30)
        ),
        PlanRow("sip-2", "sip", "Dals-Ed", 444, (), dt.date(2026, 11, 25), None),
    ]
    text = plans_to_csv(rows)
    assert text.splitlines() == [
        HEADER,
        "BP-1,barnets_plan,Åmål,111,222;333,2026-12-15,13:30",
        "sip-2,sip,Dals-Ed,444,,2026-11-25,",
    ]
    result = parse_plans_csv(text, resolve_staff=lambda token: int(token), today=TODAY)
    assert result.errors == []
    assert result.rows == rows


def _valid_reference(text: str) -> bool:
    try:
        validate_reference(text)
    except ReferenceError_:
        return False
    return True


user_ids = st.integers(1, 10**12)
plan_rows = st.builds(
    PlanRow,
    reference=st.from_regex(r"[A-Za-zÅÄÖåäö0-9][A-Za-zÅÄÖåäö0-9-]{2,31}", fullmatch=True).filter(
        _valid_reference
    ),
    plan_type=st.sampled_from(PLAN_TYPES),
    municipality=st.sampled_from(MUNICIPALITIES),
    responsible=user_ids,
    participants=st.lists(user_ids, unique=True, max_size=4).map(tuple),
    next_follow_up=st.dates(min_value=TODAY, max_value=dt.date(2031, 12, 31)),
    follow_up_time=st.none() | st.builds(dt.time, st.integers(0, 23), st.integers(0, 59)),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(plan_rows, max_size=6, unique_by=lambda row: row.reference.casefold()))
def test_round_trip_property(rows: list[PlanRow]) -> None:
    """Any set of valid plans survives export and import unchanged."""
    result = parse_plans_csv(
        plans_to_csv(rows), resolve_staff=lambda token: int(token), today=TODAY
    )
    assert result.errors == []
    assert result.rows == rows


def test_an_oversized_header_field_is_one_line_not_a_traceback() -> None:
    """A header field over the csv module's 128 KiB limit used to raise _csv.Error."""
    result = parse("reference," + "x" * 200_000 + "\nBP-1\n")
    assert len(result.errors) == 1 and result.errors[0].startswith("line 1: not readable")


def test_cells_are_normalised_before_the_guard() -> None:
    """A zero-width space inside a personnummer does not carry it into a reference."""
    result = parse("reference,type\n121212\u200b-1212,sip\n")
    assert result.errors and not any("1212" in error for error in result.errors)


def test_a_reference_with_a_first_name_is_refused_with_the_reason() -> None:
    """The wizard's rule holds in the import too: "Lisa-7b" may be a child's first name."""
    result = parse(f"{HEADER}\nLisa-7b,sip,Åmål,111,,2026-12-15,\n")
    assert result.errors == ["line 2: reference 'Lisa-7b' contains a common first name; use a code"]
    assert not result.ok
