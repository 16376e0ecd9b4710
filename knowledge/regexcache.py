"""Compiled regular expressions kept between runs, for the large reviewed pattern lists.

The emergency signals and the message intents are about 120,000 characters of regular
expressions. ``re.compile`` parses and translates them in pure Python: 0.2–0.3 s, paid by
every ``dalsbot ask`` and by the bot before its first answer. What it produces is a
program for the C matching engine (a list of integers plus the group tables); this module
keeps those programs in one file per Python version and builds the patterns from it
directly, so a run with an unchanged pattern list skips the parsing.

A pattern built this way is the same as ``re.compile``'s: same source, flags and program,
so ``==`` holds (a test checks every pattern of the project). The cache file is keyed by the
interpreter's cache tag and the engine's ``MAGIC`` number; on another interpreter, a
missing or unreadable file or a folder that cannot be written, patterns are compiled as
usual and nothing else changes.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import marshal
import os
import re
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

try:  # CPython's engine and its pattern compiler (private, but fixed within one version)
    import _sre  # type: ignore[import-not-found]
    from re import _compiler, _parser  # type: ignore[attr-defined]

    ENGINE_TAG: str | None = f"{sys.implementation.cache_tag}-{_sre.MAGIC}"
except (ImportError, AttributeError):  # pragma: no cover - another interpreter
    ENGINE_TAG = None

# (pattern, flags) → (flags, code, groups, groupindex, indexgroup): the arguments of
# _sre.compile, as re._compiler.compile computes them.
Program = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]
# Entries kept when the file is rewritten; beyond this only the ones used by this process.
MAX_ENTRIES = 4000


def default_cache_file() -> Path | None:
    """``$XDG_CACHE_HOME/dalsbot/regex-<tag>.marshal`` (else ``~/.cache/dalsbot``)."""
    if ENGINE_TAG is None:
        return None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dalsbot" / f"regex-{ENGINE_TAG}.marshal"


class RegexCache:
    """Programs of compiled patterns, loaded from and saved to ``path``."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._programs: dict[tuple[str, int], Program] | None = None
        self._used: set[tuple[str, int]] = set()
        self._dirty = False
        self._lock = threading.Lock()

    def compile(self, pattern: str, flags: int = 0) -> re.Pattern[str]:
        """``re.compile(pattern, flags)``, from the stored program when there is one."""
        if self.path is None:
            return re.compile(pattern, flags)
        flags = int(flags)  # a re.RegexFlag is an int subclass marshal cannot store
        key = (pattern, flags)
        with self._lock:
            programs = self._load()
            program = programs.get(key)
            self._used.add(key)
        if program is not None:
            try:
                return _build(pattern, program)
            except (TypeError, ValueError, RuntimeError):  # a damaged entry: compile anew
                logger.debug("Regex cache entry unusable; compiling")
        program = _program(pattern, flags)
        with self._lock:
            programs[key] = program
            self._dirty = True
        return _build(pattern, program)

    def save(self) -> None:
        """Write the programs when new ones were compiled (atomically; errors are ignored:
        the cache only saves time)."""
        with self._lock:
            if not self._dirty or self.path is None or self._programs is None:
                return
            programs = self._programs
            if len(programs) > MAX_ENTRIES:
                programs = {key: programs[key] for key in self._used if key in programs}
            self._dirty = False
            path = self.path
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            data = marshal.dumps(list(programs.items()))
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".regex-")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except (OSError, ValueError) as exc:
            logger.debug("Regex cache not saved: %s", exc)
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def _load(self) -> dict[tuple[str, int], Program]:
        if self._programs is None:
            self._programs = {}
            if self.path is not None:
                try:
                    items: Any = marshal.loads(self.path.read_bytes())
                    self._programs = {(k[0], k[1]): v for k, v in items}
                except (OSError, EOFError, ValueError, TypeError, IndexError):
                    self._programs = {}
        return self._programs


def _program(pattern: str, flags: int) -> Program:
    """What ``re._compiler.compile`` passes to the engine for ``pattern``."""
    parsed = _parser.parse(pattern, flags)
    code = _compiler._code(parsed, flags)
    groupindex = {str(name): int(index) for name, index in parsed.state.groupdict.items()}
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    return (
        int(flags | parsed.state.flags),
        [int(op) for op in code],
        parsed.state.groups - 1,
        groupindex,
        tuple(indexgroup),
    )


def _build(pattern: str, program: Program) -> re.Pattern[str]:
    flags, code, groups, groupindex, indexgroup = program
    built: re.Pattern[str] = _sre.compile(pattern, flags, code, groups, groupindex, indexgroup)
    return built


_CACHE = RegexCache(default_cache_file())
atexit.register(_CACHE.save)


def compile_cached(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)`` through the process's cache (saved at exit)."""
    return _CACHE.compile(pattern, flags)


def save() -> None:
    """Write new programs now (after loading a pattern list; also done at exit)."""
    _CACHE.save()
