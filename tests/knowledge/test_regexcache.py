"""The compiled-pattern cache gives exactly ``re.compile``'s patterns, and is only a cache."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge import patterns, regexcache
from knowledge.emergency import load_signals
from knowledge.intent import load_intents
from knowledge.regexcache import RegexCache


def _project_patterns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every pattern the signals and intents compile."""
    seen: list[str] = []
    real = patterns.compile_cached

    def record(pattern: str, flags: int = 0) -> re.Pattern[str]:
        seen.append(pattern)
        return real(pattern, flags)

    monkeypatch.setattr(patterns, "compile_cached", record)
    load_signals()
    load_intents()
    return seen


def test_cached_patterns_are_the_ones_re_compile_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = _project_patterns(monkeypatch)
    assert len(sources) > 300
    path = tmp_path / "regex.marshal"
    first = RegexCache(path)
    for source in sources:
        first.compile(source)
    first.save()
    assert path.stat().st_size > 0
    again = RegexCache(path)
    for source in sources:
        cached = again.compile(source)
        # Equal: the same source, flags and engine program.
        assert cached == re.compile(source)
    assert not again._dirty  # every pattern came from the file
    text = "hon sa att hon vill dö och pappa slog henne igår"
    assert [again.compile(s).search(text) is not None for s in sources] == [
        re.compile(s).search(text) is not None for s in sources
    ]


def test_groups_and_flags_survive_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "regex.marshal"
    source = r"(?P<word>barn\w*)\s+(\d+)"
    first = RegexCache(path)
    first.compile(source, re.IGNORECASE)
    first.save()
    again = RegexCache(path)
    pattern = again.compile(source, re.IGNORECASE)
    assert not again._dirty  # built from the file
    match = pattern.search("BARNET 12")
    assert match is not None and match.group("word") == "BARNET" and match.group(2) == "12"
    assert pattern.groupindex == {"word": 1} and pattern.flags & re.IGNORECASE


def test_a_damaged_or_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    damaged = tmp_path / "regex.marshal"
    damaged.write_bytes(b"not a marshal file")
    cache = RegexCache(damaged)
    assert cache.compile(r"akut\w*") == re.compile(r"akut\w*")
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    unwritable = RegexCache(blocked / "sub" / "regex.marshal")
    assert unwritable.compile("socialjour") == re.compile("socialjour")
    unwritable.save()  # no error: the cache is an optimisation
    assert not (blocked / "sub").exists()


def test_cache_file_is_per_interpreter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = regexcache.default_cache_file()
    assert path is not None
    assert path.parent == tmp_path / "dalsbot"
    assert regexcache.ENGINE_TAG is not None and regexcache.ENGINE_TAG in path.name
