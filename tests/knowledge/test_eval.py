"""Retrieval quality on our own labelled question set (tests/knowledge/eval_questions.yaml).

Thresholds: top-1 ≥ 0.94 on in-scope questions, abstention on off-topic ≥ 0.94, answered
≥ 0.97 of in-scope, answer language ≥ 0.98, emergencies 100 %. The held-out set has its own,
lower thresholds (tests/knowledge/test_holdout.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.evaluation import EvalReport, dalsbot_system, evaluate, load_eval_set
from knowledge.service import KnowledgeBase

EVAL_PATH = Path(__file__).with_name("eval_questions.yaml")


@pytest.fixture(scope="module")
def report(kb: KnowledgeBase) -> EvalReport:
    """Dalsbot's metrics on the evaluation set."""
    return evaluate(load_eval_set(EVAL_PATH), dalsbot_system(kb))


def test_eval_set_is_large_and_varied() -> None:
    """At least 180 questions, 30 off-topic and 15 emergencies."""
    items = load_eval_set(EVAL_PATH)
    assert len(items) >= 180
    assert sum(item.expect is None for item in items) >= 30
    assert sum(item.emergency for item in items) >= 15


def test_top1_accuracy(report: EvalReport) -> None:
    """The right article comes first for at least 94 % of in-scope questions."""
    assert report.top1 >= 0.94, report.failures["top1"]


def test_in_scope_questions_are_answered(report: EvalReport) -> None:
    """At least 97 % of in-scope questions get an answer."""
    assert report.answered >= 0.97, report.failures["top1"]


def test_off_topic_questions_abstain(report: EvalReport) -> None:
    """At least 94 % of off-topic questions get no article."""
    assert report.abstention_recall >= 0.94, report.failures["abstain"]


def test_answer_language(report: EvalReport) -> None:
    """At least 98 % of answers are in the expected language."""
    assert report.language >= 0.98, report.failures["lang"]


def test_emergencies_are_always_recognised(report: EvalReport) -> None:
    """Every emergency gets the akut-lage answer."""
    assert report.emergency == 1.0, report.failures["emergency"]
