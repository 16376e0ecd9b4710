"""Aggregation: counts, means and distributions, and hiding below k."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.pulse.logic import (
    PulseResults,
    QuestionResult,
    aggregate,
    aggregate_counts,
    histograms_from_rows,
)

QUESTIONS = ("syfte", "ansvar", "nytta")

Answer = dict[str, int | None]


def _answers(*rows: tuple[int | None, ...]) -> list[Answer]:
    return [dict(zip(QUESTIONS, row, strict=True)) for row in rows]


def test_means_and_distributions() -> None:
    """Each question's n, mean and distribution count only those who answered it."""
    results = aggregate(
        QUESTIONS,
        _answers((5, 4, None), (4, 4, None), (3, 2, 1), (4, None, 1), (5, 5, 2)),
        k=3,
    )
    assert results == PulseResults(
        count=5,
        k=3,
        visible=True,
        questions=(
            QuestionResult("syfte", n=5, mean=4.2, distribution=(0, 0, 1, 2, 2)),
            QuestionResult("ansvar", n=4, mean=3.75, distribution=(0, 1, 0, 2, 1)),
            QuestionResult("nytta", n=3, mean=4 / 3, distribution=(2, 1, 0, 0, 0)),
        ),
    )


def test_hidden_at_k_minus_one_and_shown_at_k() -> None:
    """With k = 4: three answers show nothing, four show the figures."""
    rows = _answers((5, 5, 5), (4, 4, 4), (3, 3, 3), (2, 2, 2))
    hidden = aggregate(QUESTIONS, rows[:3], k=4)
    assert hidden == PulseResults(count=3, k=4, visible=False, questions=())
    shown = aggregate(QUESTIONS, rows, k=4)
    assert shown.visible
    assert [result.mean for result in shown.questions] == [3.5, 3.5, 3.5]


@pytest.mark.parametrize("k", [0, 1, 2])
def test_k_below_three_is_treated_as_three(k: int) -> None:
    """Two answers stay hidden even if the organiser asked for k = 1."""
    two = aggregate(QUESTIONS, _answers((5, 5, 5), (1, 1, 1)), k=k)
    assert not two.visible
    assert two.k == 3
    assert two.questions == ()
    three = aggregate(QUESTIONS, _answers((5, 5, 5), (1, 1, 1), (3, 3, 3)), k=k)
    assert three.visible


def test_question_answered_by_fewer_than_k_is_hidden() -> None:
    """A question most people skipped shows its n but no mean and no distribution."""
    results = aggregate(QUESTIONS, _answers((5, 4, None), (4, 4, 1), (3, 2, None)), k=3)
    nytta = results.question("nytta")
    assert nytta == QuestionResult("nytta", n=1, mean=None, distribution=())
    assert nytta is not None and not nytta.visible


def test_no_answers_at_all() -> None:
    """An empty pulse is simply hidden."""
    assert aggregate(QUESTIONS, [], k=3) == PulseResults(count=0, k=3, visible=False)


def test_unknown_keys_are_ignored_and_bad_scores_refused() -> None:
    """Keys outside the template do not count; a score outside 1–5 is a bug and raises."""
    rows: list[dict[str, int | None]] = [{"syfte": 5, "annat": 1}] * 3
    assert aggregate(QUESTIONS, rows, k=3).question("syfte") == QuestionResult(
        "syfte", 3, 5.0, (0, 0, 0, 0, 3)
    )
    with pytest.raises(ValueError, match="outside 1–5"):
        aggregate(QUESTIONS, [{"syfte": 6}], k=3)


def test_aggregate_counts_from_group_by_rows() -> None:
    """GROUP BY question_key, score rows aggregate like the answers they count."""
    rows = [("syfte", 5, 2), ("syfte", 3, 1), ("ansvar", 4, 3), ("nytta", 1, 1)]
    results = aggregate_counts(QUESTIONS, histograms_from_rows(rows), count=3, k=3)
    assert [(r.key, r.n, r.mean) for r in results.questions] == [
        ("syfte", 3, 13 / 3),
        ("ansvar", 3, 4.0),
        ("nytta", 1, None),
    ]


@pytest.mark.parametrize(
    ("histograms", "count", "message"),
    [
        ({"syfte": {6: 1}}, 3, "outside 1–5"),
        ({"syfte": {1: -1}}, 3, "negative"),
        ({"syfte": {1: 4}}, 3, "more answers than the pulse"),
        ({}, -1, "cannot be negative"),
    ],
)
def test_aggregate_counts_refuses_impossible_input(
    histograms: dict[str, dict[int, int]], count: int, message: str
) -> None:
    """Corrupt counts raise instead of producing a wrong mean."""
    with pytest.raises(ValueError, match=message):
        aggregate_counts(QUESTIONS, histograms, count=count, k=3)


# --- properties -----------------------------------------------------------------------------

scores = st.one_of(st.none(), st.integers(min_value=1, max_value=5))
answer_lists = st.lists(st.fixed_dictionaries({key: scores for key in QUESTIONS}), max_size=60)
ks = st.integers(min_value=-3, max_value=12)


def _histograms(answers: list[Answer]) -> dict[str, dict[int, int]]:
    rows: dict[tuple[str, int], int] = {}
    for answer in answers:
        for key, score in answer.items():
            if score is not None:
                rows[key, score] = rows.get((key, score), 0) + 1
    return histograms_from_rows((key, score, n) for (key, score), n in rows.items())


@settings(max_examples=200, deadline=None)
@given(answers=answer_lists, k=ks)
def test_property_figures_are_consistent(answers: list[Answer], k: int) -> None:
    """Means lie in [1, 5], distributions sum to n, n ≤ count; hidden means no figures."""
    results = aggregate(QUESTIONS, answers, k)
    assert results.count == len(answers)
    assert results.k >= 3
    assert results.visible == (len(answers) >= results.k)
    if not results.visible:
        assert results.questions == ()
        return
    assert [result.key for result in results.questions] == list(QUESTIONS)
    for result in results.questions:
        assert 0 <= result.n <= results.count
        if result.mean is None:
            assert result.n < results.k
            assert result.distribution == ()
        else:
            assert 1 <= result.mean <= 5
            assert len(result.distribution) == 5
            assert sum(result.distribution) == result.n


@settings(max_examples=200, deadline=None)
@given(answers=answer_lists, k=ks)
def test_property_aggregate_equals_aggregate_counts(answers: list[Answer], k: int) -> None:
    """The fast path over GROUP BY histograms gives exactly the same results."""
    assert aggregate(QUESTIONS, answers, k) == aggregate_counts(
        QUESTIONS, _histograms(answers), len(answers), k
    )


@settings(max_examples=100, deadline=None)
@given(answers=answer_lists, k=ks, seed=st.integers())
def test_property_order_does_not_matter(answers: list[Answer], k: int, seed: int) -> None:
    """Shuffling the answers changes nothing at all."""
    shuffled = list(answers)
    random.Random(seed).shuffle(shuffled)
    # Means are computed from integer histograms, so they are exactly equal.
    assert aggregate(QUESTIONS, shuffled, k) == aggregate(QUESTIONS, answers, k)
