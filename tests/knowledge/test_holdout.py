"""Retrieval quality on the held-out question set (tests/knowledge/holdout_questions.yaml).

The held-out set was written before a tuning round and is never tuned against, so its
figures estimate how retrieval does on questions nobody has looked at. Its thresholds are
lower than the evaluation set's: top-1 ≥ 0.85, answered ≥ 0.90, abstention ≥ 0.80,
answer language ≥ 0.95, emergencies 100 %.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.evaluation import EvalReport, dalsbot_system, evaluate, load_eval_set
from knowledge.service import KnowledgeBase

HOLDOUT_PATH = Path(__file__).with_name("holdout_questions.yaml")
EVAL_PATH = Path(__file__).with_name("eval_questions.yaml")


@pytest.fixture(scope="module")
def report(kb: KnowledgeBase) -> EvalReport:
    """Dalsbot's metrics on the held-out set."""
    return evaluate(load_eval_set(HOLDOUT_PATH), dalsbot_system(kb))


def test_holdout_covers_every_article(kb: KnowledgeBase) -> None:
    """Every article id, at least 10 off-topic questions and 5 emergencies."""
    items = load_eval_set(HOLDOUT_PATH)
    assert {item.expect for item in items if item.in_scope} == set(kb.ids())
    assert sum(item.expect is None for item in items) >= 10
    assert sum(item.emergency for item in items) >= 5


def test_holdout_is_disjoint_from_the_evaluation_set(kb: KnowledgeBase) -> None:
    """No held-out question is an evaluation question or an article's example question."""
    holdout = {item.question.casefold() for item in load_eval_set(HOLDOUT_PATH)}
    evaluation = {item.question.casefold() for item in load_eval_set(EVAL_PATH)}
    examples = {
        question.casefold()
        for article_id in kb.ids()
        for lang in ("sv", "en")
        for question in getattr(kb.get(article_id, lang), "questions", ())
    }
    assert not holdout & evaluation
    assert not holdout & examples


def test_holdout_top1(report: EvalReport) -> None:
    """The right article comes first for at least 85 % of held-out in-scope questions."""
    assert report.top1 >= 0.85, report.failures["top1"]


def test_holdout_answered(report: EvalReport) -> None:
    """At least 90 % of held-out in-scope questions get an answer."""
    assert report.answered >= 0.90, report.failures["top1"]


def test_holdout_abstention(report: EvalReport) -> None:
    """At least 80 % of held-out off-topic questions get no article."""
    assert report.abstention_recall >= 0.80, report.failures["abstain"]


def test_holdout_language(report: EvalReport) -> None:
    """At least 95 % of held-out answers are in the expected language."""
    assert report.language >= 0.95, report.failures["lang"]


def test_holdout_emergencies(report: EvalReport) -> None:
    """Every held-out emergency gets the akut-lage answer."""
    assert report.emergency == 1.0, report.failures["emergency"]
