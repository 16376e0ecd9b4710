"""The first realistic evaluation set (R1), written blind from the domain fact sheet.

A writer who saw only ``facts.md`` and ``knowledge-topics.md`` (never the articles, their
example questions, the glossary or the detector) wrote 424 in-scope and off-topic messages
and 254 indirect emergencies and alarming-but-safe messages, the way staff type on a phone.
The set was frozen (committed) before any result was read. Measured once on the engine of
that moment: top-1 0.748, answered 0.914, abstention 0.756, emergencies 0.638, false alarms
0.245 (the keyword detector before it: emergencies 0.099). It was then TUNED ON, so the
figures below are development figures, not results; the result is the second set
(test_realistic2.py). Thresholds sit just under the tuned figures so that nothing slips back;
any missed emergency fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.evaluation import EvalReport, dalsbot_system, evaluate, load_eval_set
from knowledge.service import KnowledgeBase

SCOPE_PATH = Path(__file__).with_name("realistic1_scope.yaml")
SAFETY_PATH = Path(__file__).with_name("realistic1_safety.yaml")


@pytest.fixture(scope="module")
def scope(kb: KnowledgeBase) -> EvalReport:
    """Dalsbot on R1's in-scope and off-topic messages."""
    return evaluate(load_eval_set(SCOPE_PATH), dalsbot_system(kb))


@pytest.fixture(scope="module")
def safety(kb: KnowledgeBase) -> EvalReport:
    """Dalsbot on R1's emergencies and alarming-but-safe messages."""
    return evaluate(load_eval_set(SAFETY_PATH), dalsbot_system(kb))


def test_r1_has_the_size_the_issue_asks_for() -> None:
    """At least 150 in-scope, 150 emergencies, 100 alarming-but-safe, 100 off-topic."""
    scope_items = load_eval_set(SCOPE_PATH)
    safety_items = load_eval_set(SAFETY_PATH)
    assert sum(item.in_scope for item in scope_items) >= 150
    assert sum(item.expect is None for item in scope_items) >= 100
    assert sum(item.emergency for item in safety_items) >= 150
    assert sum(item.alarming for item in safety_items) >= 100


def test_r1_no_emergency_is_missed(safety: EvalReport) -> None:
    """Every indirect emergency gets the akut-lage card first."""
    assert safety.failures["emergency"] == []


def test_r1_few_false_alarms(safety: EvalReport, scope: EvalReport) -> None:
    """At most 2 % of alarming-but-safe messages and 1 % of ordinary ones raise the alarm."""
    assert safety.false_alarm <= 0.02, f"false alarms {safety.false_alarm:.3f}"
    assert scope.false_alarm <= 0.01, f"false alarms {scope.false_alarm:.3f}"


def test_r1_in_scope(scope: EvalReport) -> None:
    """Top-1 ≥ 0.82 and answered ≥ 0.94 on the tuned set."""
    assert scope.top1 >= 0.82, f"top-1 {scope.top1:.3f}"
    assert scope.answered >= 0.94, f"answered {scope.answered:.3f}"


def test_r1_off_topic_is_declined(scope: EvalReport) -> None:
    """At least 95 % of near-domain off-topic messages get no article."""
    assert scope.abstention_recall >= 0.95, f"abstention {scope.abstention_recall:.3f}"


def test_r1_answer_language(scope: EvalReport, safety: EvalReport) -> None:
    """At least 98 % of answers are in the right language (Norwegian and Danish: Swedish)."""
    assert scope.language >= 0.98 and safety.language >= 0.98
