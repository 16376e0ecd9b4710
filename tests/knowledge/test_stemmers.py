"""PyStemmer (the Snowball C library) and the pure-Python Snowball stemmers stem the corpus
alike, so the index is the same whichever is installed."""

from __future__ import annotations

from pathlib import Path

import pytest
from snowballstemmer.english_stemmer import EnglishStemmer
from snowballstemmer.swedish_stemmer import SwedishStemmer

from knowledge import text
from knowledge.articles import ARTICLES_DIR
from knowledge.text import tokenize

Stemmer = pytest.importorskip("Stemmer")

KNOWLEDGE = Path(text.__file__).resolve().parent
TESTS = Path(__file__).resolve().parent


def _corpus_words() -> set[str]:
    """Every word of the articles, the glossary, the reviewed pattern files and the
    question sets."""
    paths = [
        *ARTICLES_DIR.rglob("*.md"),
        *KNOWLEDGE.rglob("*.yaml"),
        *TESTS.glob("*.yaml"),
    ]
    words: set[str] = set()
    for path in paths:
        words.update(tokenize(path.read_text(encoding="utf-8")))
    return words


WORDS = sorted(_corpus_words())


@pytest.mark.parametrize(
    ("name", "pure_python"), [("swedish", SwedishStemmer), ("english", EnglishStemmer)]
)
def test_c_and_python_snowball_stem_the_corpus_alike(name: str, pure_python: type) -> None:
    assert len(WORDS) > 5000
    c_stem = Stemmer.Stemmer(name).stemWord
    py_stem = pure_python().stemWord
    different = [(w, c_stem(w), py_stem(w)) for w in WORDS if c_stem(w) != py_stem(w)]
    assert different == []


def test_the_index_uses_pystemmer_when_installed() -> None:
    assert text._SnowballStemmer is Stemmer.Stemmer
    assert text.stem("barnet", "sv") == "barn"
    assert text.stem("kallelserna", "sv") == "kallels"
