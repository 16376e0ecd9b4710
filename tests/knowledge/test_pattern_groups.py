"""The reviewed patterns are compiled without capturing groups (knowledge/patterns.py,
``non_capturing``): the same whole matches, much faster."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.emergency import SIGNALS_DIR
from knowledge.evaluation import load_eval_set
from knowledge.patterns import (
    PatternError,
    compile_words,
    fold,
    fold_pattern,
    non_capturing,
    read_mapping,
)

QUESTIONS = Path(__file__).with_name("eval_questions.yaml")


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("(a|b) c", "(?:a|b) c"),
        ("(?:a)(b)", "(?:a)(?:b)"),
        (r"\(x\)", r"\(x\)"),  # escaped brackets
        (r"\\(a)", r"\\(?:a)"),  # an escaped backslash, then a group
        ("[(]a(b)", "[(]a(?:b)"),  # a bracket in a class
        ("[]()](q)", "[]()](?:q)"),  # "]" first in a class is a member
        ("[^]()](q)", "[^]()](?:q)"),
        (r"[\[](q)", r"[\[](?:q)"),  # an escaped "[" in a class
        ("[[](q)", "[[](?:q)"),
        ("(?P<n>a)(?=b)(?#c)", "(?P<n>a)(?=b)(?#c)"),  # named, lookaround, comment: kept
    ],
)
def test_capturing_groups_become_non_capturing_and_nothing_else_changes(
    pattern: str, expected: str
) -> None:
    assert non_capturing(pattern) == expected


def test_a_numbered_back_reference_is_refused_with_the_list_it_is_in() -> None:
    """It would point at another group once the groups are gone."""
    with pytest.raises(PatternError, match=r"signals\.yaml: .*back-references"):
        compile_words([r"(ab)\1"], "signals.yaml")
    assert compile_words([r"a\\1"], "ok") is not None  # a backslash and a digit


def _signal_patterns() -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key not in ("owner", "reviewed"):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted(SIGNALS_DIR.glob("*.yaml")):
        walk(read_mapping(path))
    return found


def test_every_shipped_signal_finds_the_same_whole_matches_without_groups() -> None:
    texts = [f" {fold(item.question)} " for item in load_eval_set(QUESTIONS)]
    texts += [" hon har skurit sig och vill inte leva . pappa är full och ska hämta henne nu "]
    for source in _signal_patterns():
        plain = compile_words([source], "test")
        assert plain is not None
        # As written, with its groups (what compile_words built before).
        grouped = re.compile(rf"(?<![a-z0-9])(?:(?:{fold_pattern(source)}))(?![a-z0-9])")
        for text in texts:
            assert [m.group() for m in plain.finditer(text)] == [
                m.group() for m in grouped.finditer(text)
            ], source
