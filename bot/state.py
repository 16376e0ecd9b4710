"""Typed per-person state (``context.user_data``): the chosen language and each flow's draft.

Every feature keeps its unfinished work (a half-made plan, a registration, a question to a
coordinator...) as one dataclass of its own, declared with :func:`flow_draft`, and reaches it
by its class, so mypy checks every field::

    draft = context.state.get(PlanDraft)      # PlanDraft | None
    context.state.put(PlanDraft(mode="new"))
    context.state.pop(PlanDraft)

The state is stored as JSON (through pydantic, no pickle) by the bot's persistence in the
project's own database (bot/shell/persistence.py), so a flow survives a restart and the next
update can go to any process.
The kernel knows no feature: drafts are found again by the name they were declared with.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from bot.guard import contains_identity_number

logger = logging.getLogger(__name__)

D = TypeVar("D")

# Every declared draft class by its stored name, and the adapter that (de)serialises it (built
# at its first use, not at import: the nine adapters were about 12 ms of the bot's start).
_KINDS: dict[str, type[Any]] = {}
_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(kind: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def flow_draft(name: str) -> Any:
    """Class decorator: make a dataclass a draft kind stored under ``name``."""

    def declare(cls: type[D]) -> type[D]:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} must be a dataclass")
        if _KINDS.get(name, cls) is not cls:
            raise ValueError(f"two drafts are called {name!r}")
        _KINDS[name] = cls
        cls.__flow_name__ = name  # type: ignore[attr-defined]
        return cls

    return declare


def _name_of(cls: type[Any]) -> str:
    name = getattr(cls, "__flow_name__", None)
    if name is None or _KINDS.get(name) is not cls:
        raise TypeError(f"{cls.__name__} is not declared with @flow_draft")
    return str(name)


@dataclass
class UserState:
    """One person's state: their language choice and at most one draft of each kind."""

    lang: str | None = None
    drafts: dict[str, Any] = field(default_factory=dict)

    def get(self, kind: type[D]) -> D | None:
        """This person's draft of ``kind``, if there is one."""
        found = self.drafts.get(_name_of(kind))
        return found if isinstance(found, kind) else None

    def ensure(self, kind: type[D]) -> D:
        """This person's draft of ``kind``, made empty if there is none."""
        found = self.get(kind)
        if found is None:
            found = kind()
            self.put(found)
        return found

    def put(self, draft: Any) -> None:
        """Keep ``draft`` (replacing one of the same kind)."""
        self.drafts[_name_of(type(draft))] = draft

    def pop(self, kind: type[D]) -> D | None:
        """Remove and return this person's draft of ``kind``."""
        found = self.drafts.pop(_name_of(kind), None)
        return found if isinstance(found, kind) else None

    def replace_with(self, other: UserState) -> None:
        """Take ``other``'s contents (the state was read again from the database)."""
        self.lang = other.lang
        self.drafts = other.drafts

    def is_empty(self) -> bool:
        """Nothing worth storing."""
        return self.lang is None and not self.drafts

    def to_json(self) -> str:
        """The state as JSON text (dates and times as ISO strings). A draft holding anything
        that looks like a personal identity number is left out (every input is guarded before
        it reaches a draft; this is the last line): it is never written to the database."""
        drafts = {}
        for name, draft in sorted(self.drafts.items()):
            value = _adapter(type(draft)).dump_python(draft, mode="json")
            if any(contains_identity_number(text) for text in _typed_parts(value)):
                logger.warning("A %s draft held an identity number; it is not stored", name)
                continue
            drafts[name] = value
        return json.dumps({"lang": self.lang, "drafts": drafts}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> UserState:
        """The state stored as ``text``; a draft that no longer reads (its class changed in a
        new version, or it is unknown) is dropped, so the person simply starts that flow anew,
        and text that is not a stored state at all gives an empty one."""
        try:
            raw = json.loads(text)
        except ValueError:
            raw = None
        if not isinstance(raw, dict) or not isinstance(raw.get("drafts") or {}, dict):
            logger.warning("A stored state did not read; the person starts afresh")
            return cls()
        state = cls(lang=raw.get("lang") if isinstance(raw.get("lang"), str) else None)
        for name, value in (raw.get("drafts") or {}).items():
            kind = _KINDS.get(name)
            if kind is None:
                continue
            try:
                state.drafts[name] = _adapter(kind).validate_python(value)
            except ValidationError:
                logger.warning("A stored %s draft no longer reads; it was dropped", name)
        return state


def _typed_parts(value: object) -> list[str]:
    """The texts of a draft the guard looks at, each on its own: every value but the
    ``callback_data`` of a keyboard kept to ask a step again. Button data is the bot's own,
    built from checked values, and its digits side by side (``pln:settime:1:20261126:1300``:
    a day and a time) can look like a personnummer born today."""
    if isinstance(value, dict):
        return [t for k, v in value.items() if k != "callback_data" for t in _typed_parts(v)]
    if isinstance(value, list):
        return [text for item in value for text in _typed_parts(item)]
    return [] if value is None else [str(value)]
