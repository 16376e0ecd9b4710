"""Normalisation, tokenisation, stemming and compound splitting."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from knowledge.text import content_tokens, normalize, split_compound, stem, tokenize

VOCAB = frozenset(
    {"barnteam", "möte", "möt", "uppföljning", "samtycke", "samtyck", "blankett", "sip", "elev"}
)


def test_normalize_keeps_swedish_letters_and_folds_nordic_ones() -> None:
    """å/ä/ö survive, Norwegian æ/ø become ä/ö, other accents are dropped."""
    assert normalize("  Ärende  på ÅMÅL ") == "ärende på åmål"
    assert normalize("Fravær og møte") == "fravär og möte"
    assert normalize("café") == "cafe"


def test_tokenize_splits_on_punctuation_and_keeps_digits() -> None:
    """Hyphens and punctuation separate words; numbers are tokens."""
    assert tokenize("SIP-möte? Ring 112!") == ["sip", "möte", "ring", "112"]


def test_content_tokens_drop_stop_words() -> None:
    """Swedish and English function words are removed."""
    assert content_tokens("vad är en SIP och hur gör man", "sv") == ["sip"]
    assert content_tokens("what is the named person", "en") == ["named", "person"]


def test_swedish_stemming_joins_inflected_forms() -> None:
    """Definite, plural and neuter forms share a stem."""
    assert stem("barnteamet", "sv") == stem("barnteam", "sv")
    assert stem("samtycket", "sv") == stem("samtycke", "sv")
    assert stem("vårdnadshavaren", "sv") == stem("vårdnadshavare", "sv")
    assert stem("meetings", "en") == stem("meeting", "en")


def test_compounds_split_with_linking_s() -> None:
    """Linking -s- between known parts is handled."""
    assert split_compound("barnteamsmöte", VOCAB) == ["barnteam", stem("möte", "sv")]
    assert split_compound("uppföljningsmöte", VOCAB) == ["uppföljning", stem("möte", "sv")]


def test_compound_whose_first_part_ends_in_e() -> None:
    """samtycke-s-blankett: the first part ends in -e and takes a linking -s-."""
    expected = [stem("samtycke", "sv"), stem("blankett", "sv")]
    assert split_compound("samtyckesblankett", VOCAB) == expected


def test_compound_with_short_abbreviation_part() -> None:
    """Three-letter abbreviations such as SIP are parts too."""
    assert split_compound("sipmöte", VOCAB) == ["sip", stem("möte", "sv")]


def test_unknown_or_whole_words_are_not_split() -> None:
    """No split without known parts, and a known word alone is not a split."""
    assert split_compound("kanelbullar", VOCAB) is None
    assert split_compound("barnteam", VOCAB) is None


def test_stem_parts_lets_inflected_first_parts_match() -> None:
    """With stem_parts an inflected first part ("uppföljnings-") is found via its stem."""
    vocab = frozenset({stem("upptäckare", "sv"), "roll"})
    assert split_compound("upptäckarroll", vocab, stem_parts=True) == [
        stem("upptäckare", "sv"),
        "roll",
    ]


@given(st.text(max_size=200))
def test_tokenize_never_crashes_and_is_idempotent(text: str) -> None:
    """Tokenising the normalised, re-joined tokens gives the same tokens."""
    tokens = tokenize(text)
    assert tokenize(" ".join(tokens)) == tokens
    assert normalize(normalize(text)) == normalize(text)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzåäö", min_size=1, max_size=30))
def test_split_parts_are_known(word: str) -> None:
    """Every part of a split is in the vocabulary."""
    parts = split_compound(word, VOCAB)
    assert parts is None or all(part in VOCAB for part in parts)


def test_stemming_is_safe_in_parallel_threads() -> None:
    """Questions are answered in worker threads: each thread has its own Snowball stemmer."""
    import threading

    from knowledge import text as text_module

    words = [f"samtycken{i}" for i in range(5000)]
    expected = [text_module._stemmer("sv")(word) for word in words]
    errors: list[BaseException] = []
    results: list[list[str]] = []

    def work() -> None:
        try:
            results.append([text_module._stemmer("sv")(word) for word in words])
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(result == expected for result in results)


def test_a_very_long_word_is_not_split_into_compound_parts() -> None:
    """A pasted URL or key-mash is no compound (the split is quadratic in its length)."""
    from knowledge.text import MAX_COMPOUND_LENGTH, split_compound

    word = "samtycke" * 100
    assert split_compound(word, {"samtycke"}) is None
    assert len(word) > MAX_COMPOUND_LENGTH
    assert split_compound("samtyckesblankett", {"samtycke", "blankett"}) is not None
