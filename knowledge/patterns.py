"""Folded text and whole-word pattern lists: the shared ground of the reviewed signal files.

The emergency signals (``knowledge/emergency/signals``) and the message intents
(``knowledge/intents.yaml``) are lists of regular expressions that people review like the
articles. Both are matched against the same *folded* form of a message, so that a message
typed without å/ä/ö, with invisible characters or with odd dashes matches the same way.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path
from typing import Any

from bot import yamlfile
from knowledge.regexcache import compile_cached

_FOLD = str.maketrans({"å": "a", "ä": "a", "ö": "o", "æ": "a", "ø": "o"})
_CLAUSE_BREAK = re.compile(r"[.!?;,:\n]+|\s+(?:men|but)\s+")
_NON_WORD = re.compile(r"[^a-z0-9\s'-]+")
_SPACE = re.compile(r"\s+")
WORD = re.compile(r"[a-z0-9']+")


class PatternError(ValueError):
    """A pattern list is malformed (raised at load time, reported by ``dalsbot kb check``)."""


@functools.lru_cache(maxsize=1)
def fold(text: str) -> str:
    """``text`` in the form the patterns match: lower case, no Nordic letters, clause marks kept.

    Invisible format characters go; every kind of dash becomes "-"; clause punctuation
    becomes " . " so that a pattern never reaches across two sentences.

    The last text is kept (the emergency check, its model and the intents fold the same
    message one after the other); only the last, so a message stays in memory no longer than
    until the next one, and is never written anywhere.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    chars: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cf", "Mn"):
            continue
        chars.append("-" if category == "Pd" else char)
    text = unicodedata.normalize("NFD", "".join(chars).translate(_FOLD))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _CLAUSE_BREAK.sub(" . ", text)
    text = _NON_WORD.sub(lambda m: " . " if "." in m.group() else " ", text)
    return _SPACE.sub(" ", text).strip()


# Splits a pattern into text and escapes: text at even positions, escapes at odd ones.
_ESCAPES = re.compile(r"(\\.)", re.DOTALL)


def fold_pattern(pattern: str) -> str:
    """A pattern as it is matched: lower case, Nordic letters folded like the text.

    Escapes are kept as written (``\\S`` must not become ``\\s``).
    """
    parts = _ESCAPES.split(unicodedata.normalize("NFKC", pattern))
    parts[::2] = [text.lower() for text in parts[::2]]
    pattern = "".join(parts).translate(_FOLD)
    if pattern.isascii():  # nothing left to decompose (most patterns once å, ä, ö are folded)
        return pattern
    pattern = unicodedata.normalize("NFD", pattern)
    return "".join(c for c in pattern if not unicodedata.combining(c))


def non_capturing(pattern: str) -> str:
    """``pattern`` with every capturing group made non-capturing: ``(a|b)`` → ``(?:a|b)``.

    Only whole matches are used, and without groups the engine can skip a branch on its
    first letter: the emergency signals match 25 times faster (a group marks every branch
    it starts, so every branch is tried at every word). Escaped brackets and brackets inside
    a character class are left alone. A numbered back-reference (``\\1``) would point at
    another group once the groups are gone: it is refused (:class:`PatternError`).
    """
    if _BACKREFERENCE.search(pattern):
        raise PatternError(f"{pattern!r}: numbered back-references are not supported")
    out: list[str] = []
    escaped = False
    members = -1  # inside a character class: where its members start; -1 outside
    for i, char in enumerate(pattern):
        out.append(char)
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif members >= 0:
            if char == "^" and i == members and pattern[i - 1] == "[":
                members = i + 1  # "[^": the members start after the caret
            elif char == "]" and i > members:  # a "]" first in the class is a member
                members = -1
        elif char == "[":
            members = i + 1
        elif char == "(" and not pattern.startswith("?", i + 1):
            out.append("?:")
    return "".join(out)


# \1 to \99 (not after an escaped backslash: "\\1" is a backslash and a digit).
_BACKREFERENCE = re.compile(r"(?<!\\)(?:\\\\)*\\[1-9]")


def compile_words(patterns: list[str], source: str) -> re.Pattern[str] | None:
    """One regular expression matching any of ``patterns`` as whole words (None if empty)."""
    if not patterns:
        return None
    try:
        joined = "|".join(f"(?:{non_capturing(fold_pattern(p))})" for p in patterns)
        return compile_cached(rf"(?<![a-z0-9])(?:{joined})(?![a-z0-9])")
    except (re.error, PatternError) as exc:
        raise PatternError(f"{source}: {exc}") from exc


def strings(raw: object, where: str) -> list[str]:
    """The list of pattern strings at ``where`` (YAML reads a bare no as false: quote it)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise PatternError(f"{where}: expected a list")
    for item in raw:
        if not isinstance(item, str) or not item:
            raise PatternError(f"{where}: {item!r} is not a quoted, non-empty string")
    return list(raw)


def read_mapping(path: Path) -> dict[str, Any]:
    """The YAML mapping in ``path`` (a reviewed pattern file), or PatternError."""
    try:
        data = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except yamlfile.YAMLError as exc:
        raise PatternError(f"{path.name}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise PatternError(f"{path.name}: expected a mapping")
    return data
