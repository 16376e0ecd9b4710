"""Anonymity building blocks: the k threshold, the answer key and comment cleaning."""

from __future__ import annotations

import random

import pytest

from bot.guard import REDACTED
from storage.pulse.logic import (
    MAX_K,
    MIN_K,
    CommentError,
    answer_key,
    clean_comment,
    effective_k,
    shuffled_comments,
)

SECRET = b"0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(("k", "expected"), [(-5, 3), (0, 3), (1, 3), (2, 3), (3, 3), (7, 7)])
def test_effective_k_is_never_below_three(k: int, expected: int) -> None:
    """A k below 3 is treated as 3."""
    assert MIN_K == 3
    assert effective_k(k) == expected


def test_effective_k_is_capped() -> None:
    """An absurd k is capped, so results cannot be hidden forever by mistake."""
    assert effective_k(10_000) == MAX_K == 50


def test_answer_key_is_stable_hex_sha256() -> None:
    """The same secret, pulse and user always give the same 64-hex-digit key."""
    key = answer_key(SECRET, 12, 123456789)
    assert key == answer_key(SECRET, 12, 123456789)
    assert len(key) == 64
    int(key, 16)
    assert "123456789" not in key


def test_answer_key_differs_by_pulse_user_and_secret() -> None:
    """Changing any of pulse, user or secret changes the key."""
    base = answer_key(SECRET, 12, 1000)
    assert answer_key(SECRET, 13, 1000) != base
    assert answer_key(SECRET, 12, 1001) != base
    assert answer_key(SECRET[::-1], 12, 1000) != base
    # The separator keeps (1, 23) and (12, 3) apart.
    assert answer_key(SECRET, 1, 23) != answer_key(SECRET, 12, 3)


def test_answer_key_refuses_a_short_secret() -> None:
    """A missing or short secret would make the key guessable; it is refused."""
    with pytest.raises(ValueError, match="at least 16 bytes"):
        answer_key(b"", 1, 1)
    with pytest.raises(ValueError, match="at least 16 bytes"):
        answer_key(b"short", 1, 1)


@pytest.mark.parametrize(
    "personal",
    [
        "19900101-0017",
        "900101-0017",
        "199001010017",
        "070-123 45 67",
        "+46 70 123 45 67",
        "0701234567",
        "anna.svensson@bengtsfors.se",
    ],
)
def test_clean_comment_redacts_personal_data(personal: str) -> None:
    """Personnummer, phone numbers and e-mail addresses never reach storage."""
    cleaned = clean_comment(f"Bra möte, kontakta {personal} om det behövs.")
    assert personal not in cleaned
    assert cleaned == f"Bra möte, kontakta {REDACTED} om det behövs."


def test_clean_comment_keeps_ordinary_text_and_dates() -> None:
    """Ordinary words, numbers and dates pass unchanged, apart from surrounding space."""
    text = "Nästa möte 2026-12-15, 3 punkter kvar.\nTack!"
    assert clean_comment(f"  {text}  \n") == text


def test_clean_comment_empty_is_empty() -> None:
    """No comment, or only white space, is stored as an empty string."""
    assert clean_comment(None) == ""
    assert clean_comment("") == ""
    assert clean_comment(" \n\t ") == ""


def test_clean_comment_drops_control_characters() -> None:
    """Invisible control characters are removed; line breaks stay."""
    assert clean_comment("rad\x00 ett\u200b\nrad två") == "rad ett\nrad två"


def test_clean_comment_refuses_over_1000_characters() -> None:
    """Over 1,000 characters the person is asked to shorten, with the numbers to show."""
    assert len(clean_comment("a" * 1000)) == 1000
    with pytest.raises(CommentError) as caught:
        clean_comment("a" * 1001)
    assert caught.value.key == "pulse.comment_too_long"
    assert caught.value.params == {"length": 1001, "max": 1000}


def test_clean_comment_measures_after_stripping() -> None:
    """Surrounding white space does not count towards the limit."""
    assert clean_comment("   " + "a" * 1000 + "   ") == "a" * 1000


def test_shuffled_comments_is_a_permutation_without_empties() -> None:
    """Every non-empty comment comes back once, in an order from the random source."""
    comments = [f"kommentar {i}" for i in range(30)]
    shuffled = shuffled_comments([*comments, "", "  "], random.Random(4))
    assert sorted(shuffled) == sorted(comments)
    assert shuffled != comments


def test_shuffled_comments_uses_system_random_by_default() -> None:
    """Without an rng the order differs between calls (30! orders: a clash is impossible)."""
    comments = [str(i) for i in range(30)]
    assert shuffled_comments(comments) != shuffled_comments(comments)
    assert comments == [str(i) for i in range(30)]  # the input is not shuffled in place
