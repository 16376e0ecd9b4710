"""A draft whose conditional write keeps failing (changed between read and write every
time) is given up after a bounded number of tries instead of spinning forever."""

from __future__ import annotations

from typing import Any

import pytest

from storage.pulse import drafts


class _Result:
    def __init__(self, row: tuple[Any, ...] | None = None, rowcount: int = 0) -> None:
        self.row, self.rowcount = row, rowcount

    def first(self) -> tuple[Any, ...] | None:
        return self.row


class _AlwaysChanged:
    """A connection on which every read finds the draft and every write finds it changed."""

    def __init__(self) -> None:
        self.reads = 0

    def execute(self, statement: object, params: dict[str, Any]) -> _Result:
        if statement is drafts._READ:
            self.reads += 1
            return _Result((7, f'{{"n": {self.reads}}}', "{}"))
        return _Result(rowcount=0)


class _Session:
    def __init__(self, connection: _AlwaysChanged) -> None:
        self._connection = connection

    def connection(self) -> _AlwaysChanged:
        return self._connection


def test_a_draft_that_keeps_changing_is_given_up_after_a_few_tries() -> None:
    connection = _AlwaysChanged()
    columns = {"data": "{}", "at_comment": False, "expires_at": None}
    with pytest.raises(drafts.DraftContention):
        drafts.change(_Session(connection), "key", lambda read: columns)  # type: ignore[arg-type]
    assert connection.reads == drafts.CHANGE_TRIES
