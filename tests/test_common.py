"""The shared checks every button press goes through (handlers/common.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from handlers.common import MAX_ID, callback_parts, parse_id


def test_parse_id_accepts_only_row_ids_in_range() -> None:
    """Ids are positive, ASCII digits, within a 32-bit integer; everything else is None."""
    assert parse_id("1") == 1
    assert parse_id(str(MAX_ID)) == MAX_ID
    for forged in ("0", str(MAX_ID + 1), "99999999999", "-1", "1e3", "١٢", "", None, " 7"):
        assert parse_id(forged) is None


@given(st.text(max_size=80))
def test_callback_parsing_never_raises(data: str) -> None:
    """Any callback data parses to parts or None, never an exception."""
    for prefix in ("kb", "pln", "pres"):
        parts = callback_parts(data, prefix, 2)
        assert parts is None or len(parts) == 2
        if parts is not None:
            assert parse_id(parts[1]) is None or 0 < int(parts[1]) <= MAX_ID
