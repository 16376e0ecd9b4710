"""The answer draft: the pure state while a person taps through the questions."""

from __future__ import annotations

import datetime as dt

import pytest

from storage.pulse.logic import DRAFT_TTL, CommentError, DraftError, PulseAnswerDraft

NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
QUESTIONS = ("syfte", "ansvar", "nytta")


def _start() -> PulseAnswerDraft:
    return PulseAnswerDraft.start(7, QUESTIONS, NOW)


def test_start_shows_the_first_question_and_expires_later() -> None:
    """A new draft shows question one and lives DRAFT_TTL."""
    draft = _start()
    assert draft.current_question == "syfte"
    assert draft.expires_at == NOW + DRAFT_TTL
    assert not draft.is_complete
    assert not draft.is_expired(NOW + DRAFT_TTL - dt.timedelta(seconds=1))
    assert draft.is_expired(NOW + DRAFT_TTL)


def test_tapping_through_scores_skips_and_comment() -> None:
    """Scores and skips move forward; after the last question comes the comment step."""
    draft = _start().set_score(4).skip().set_score(5)
    assert draft.at_comment
    assert draft.current_question is None
    assert draft.is_complete
    draft = draft.set_comment("  Bra möte! Ring 070-123 45 67  ")
    assert draft.comment == "Bra möte! Ring […]"
    assert draft.to_answer() == {"syfte": 4, "ansvar": None, "nytta": 5}
    assert draft.answered_count == 2


def test_transitions_do_not_change_the_original() -> None:
    """Each transition returns a new draft; the old one is untouched."""
    first = _start()
    second = first.set_score(3)
    assert first.scores == {}
    assert first.index == 0
    assert second.scores == {"syfte": 3}


def test_back_keeps_the_score_and_change_returns_to_where_you_were() -> None:
    """Going back and changing an answer jumps forward to the first unreached question."""
    draft = _start().set_score(2).set_score(3)
    assert draft.current_question == "nytta"
    draft = draft.back().back()
    assert draft.current_question == "syfte"
    assert draft.scores == {"syfte": 2, "ansvar": 3}
    draft = draft.set_score(5)
    assert draft.current_question == "nytta"
    assert draft.scores == {"syfte": 5, "ansvar": 3}


def test_back_at_the_first_question_stays_there() -> None:
    """Back on question one is harmless."""
    assert _start().back().current_question == "syfte"


def test_change_from_the_comment_step() -> None:
    """From the comment step a person can change any question and come back."""
    draft = _start().set_score(1).set_score(2).set_score(3).change("ansvar")
    assert draft.current_question == "ansvar"
    draft = draft.skip()
    assert draft.at_comment
    assert draft.to_answer() == {"syfte": 1, "ansvar": None, "nytta": 3}


def test_a_button_for_a_named_question_sets_that_question() -> None:
    """A tap on an older message's button sets the question it belongs to."""
    draft = _start().set_score(4).set_score(1, "syfte")
    assert draft.scores == {"syfte": 1}
    assert draft.current_question == "ansvar"


@pytest.mark.parametrize("score", [0, 6, -1, True, 2.5, "3"])
def test_scores_outside_one_to_five_are_refused(score: object) -> None:
    """Only the integers 1–5 are scores."""
    with pytest.raises(DraftError):
        _start().set_score(score)  # type: ignore[arg-type]


def test_unknown_question_and_score_at_comment_step_are_refused() -> None:
    """Stale or forged callback data cannot add a question."""
    with pytest.raises(DraftError, match="unknown question"):
        _start().set_score(3, "okänd")
    finished = _start().skip().skip().skip()
    with pytest.raises(DraftError, match="comment step"):
        finished.set_score(3)


def test_unfinished_draft_cannot_be_stored() -> None:
    """to_answer refuses while a question is neither answered nor skipped."""
    with pytest.raises(DraftError, match="not every question"):
        _start().set_score(3).to_answer()


def test_too_long_comment_is_refused_and_the_draft_kept() -> None:
    """A comment over 1,000 characters raises and leaves the comment empty."""
    draft = _start().skip().skip().skip()
    with pytest.raises(CommentError):
        draft.set_comment("x" * 1001)
    assert draft.comment == ""


def test_start_needs_questions() -> None:
    """A pulse without questions cannot be answered."""
    with pytest.raises(DraftError):
        PulseAnswerDraft.start(1, (), NOW)
