"""Typed button data: one small codec per kind of inline button.

A button kind names its prefix and types its parts; ``ButtonData`` makes it a frozen
dataclass (no decorator needed)::

    class PlanButton(ButtonData, prefix="pln"):
        action: Literal["held", "date", "addp"]
        plan_id: RowId

    PlanButton("held", 17).pack()                  # "pln:held:17"
    PlanButton.parse("pln:held:17")                # PlanButton(action="held", plan_id=17)
    CallbackQueryHandler(mark_held, pattern=PlanButton.matching(action="held"))

Building and parsing live in one place, and forged data is refused by one parser: ``parse``
returns None for anything that is not exactly this kind with well-formed parts (an id out of a
database integer's range, a page past the last possible one, a word not among the allowed
ones, too many or too few parts). Telegram limits callback data to 64 bytes; ``pack`` checks.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Final, Literal, Self, get_args, get_origin

# Row ids are 32-bit integers on PostgreSQL: a larger number from button data is forged.
MAX_ID: Final = 2**31 - 1
# No list has more pages than this.
MAX_PAGE: Final = 9999
MAX_BYTES: Final = 64
_TOKEN = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_PREFIX = re.compile(r"[a-z]{2,8}")


@dataclasses.dataclass(frozen=True)
class _Number:
    low: int
    high: int


RowId = Annotated[int, _Number(1, MAX_ID)]
"""A database row id (1 … 2³¹−1)."""
Page = Annotated[int, _Number(0, MAX_PAGE)]
"""A page number, from 0."""
Small = Annotated[int, _Number(0, 999)]
"""A small index or count (a question number, a list position, a score)."""
Token = str
"""A short token: letters, digits, ``_ . -`` (at most 40)."""


def _reader(hint: Any) -> Callable[[str], Any]:
    """A function that turns one part of the data into the field's value, or raises."""
    if get_origin(hint) is Literal:
        allowed = {str(value): value for value in get_args(hint)}
        return lambda part: allowed[part]
    if get_origin(hint) is Annotated:
        base, *extras = get_args(hint)
        number = next(extra for extra in extras if isinstance(extra, _Number))
        assert base is int

        def read_number(part: str) -> int:
            if not part.isascii() or not part.isdigit() or len(part) > 10:
                raise ValueError(part)
            value = int(part)
            if not number.low <= value <= number.high:
                raise ValueError(part)
            return value

        return read_number
    if hint is str:

        def read_token(part: str) -> str:
            if not _TOKEN.fullmatch(part):
                raise ValueError(part)
            return part

        return read_token
    raise TypeError(f"button parts are Literal, RowId, Page, Small or Token, not {hint!r}")


@typing.dataclass_transform(frozen_default=True)
class ButtonData:
    """Base of every button kind: ``prefix`` and typed parts, packed as ``prefix:part:part``.
    A subclass is made a frozen dataclass of its parts (PEP 681: type checkers know)."""

    PREFIX: ClassVar[str]
    _READERS: ClassVar[tuple[tuple[str, Callable[[str], Any]], ...]]

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not _PREFIX.fullmatch(prefix):
            raise ValueError(f"button prefix {prefix!r} must be 2–8 lowercase letters")
        cls.PREFIX = prefix
        dataclasses.dataclass(frozen=True)(cls)

    @classmethod
    def _readers(cls) -> tuple[tuple[str, Callable[[str], Any]], ...]:
        # Worked out on first use: a part's type may name what its module defines later.
        readers = cls.__dict__.get("_READERS")
        if readers is None:
            hints = typing.get_type_hints(cls, include_extras=True)
            readers = tuple(
                (field.name, _reader(hints[field.name]))
                for field in dataclasses.fields(cls)  # type: ignore[arg-type]
            )
            cls._READERS = readers
        return readers

    def pack(self) -> str:
        """The callback data of this button."""
        parts = [self.PREFIX]
        for name, read in self._readers():
            part = str(getattr(self, name))
            read(part)  # what could not be read back must never be sent
            parts.append(part)
        data = ":".join(parts)
        if len(data.encode("utf-8")) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        return data

    @classmethod
    def parse(cls, data: object) -> Self | None:
        """The button this data stands for, or None when it is not well-formed data of it."""
        if not isinstance(data, str) or len(data) > MAX_BYTES:
            return None
        prefix, *parts = data.split(":")
        readers = cls._readers()
        if prefix != cls.PREFIX or len(parts) != len(readers):
            return None
        values: dict[str, Any] = {}
        try:
            for (name, read), part in zip(readers, parts, strict=True):
                values[name] = read(part)
        except (KeyError, ValueError):
            return None
        return cls(**values)

    @classmethod
    def matching(cls, **wanted: Any) -> Callable[[object], bool]:
        """A ``CallbackQueryHandler`` pattern: well-formed data of this kind whose parts have
        the ``wanted`` values (e.g. ``action="held"``)."""

        def matches(data: object) -> bool:
            button = cls.parse(data)
            return button is not None and all(
                getattr(button, name) == value for name, value in wanted.items()
            )

        return matches
