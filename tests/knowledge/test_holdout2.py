"""Retrieval quality on the second held-out set (tests/knowledge/holdout2_questions.yaml).

Written before the "reviewer" tuning round in a coordinator's everyday phone wording
(short, informal, typos, abbreviations, compounds, some English and Norwegian/Danish) and
never tuned against. Measured once before that round (top-1 0.861, answered 0.944,
abstention 0.833, language 0.989, emergencies 0.600) and once after it (top-1 0.875,
answered 0.944, abstention 0.917, language 0.989, emergencies 1.000). The thresholds sit
just below the second measurement: top-1 ≥ 0.86, answered ≥ 0.93, abstention ≥ 0.90,
answer language ≥ 0.98, emergencies 100 %.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.evaluation import EvalReport, dalsbot_system, evaluate, load_eval_set
from knowledge.service import KnowledgeBase

HOLDOUT2_PATH = Path(__file__).with_name("holdout2_questions.yaml")
OTHER_PATHS = [
    Path(__file__).with_name(name)
    for name in ("eval_questions.yaml", "holdout_questions.yaml", "reviewer_questions.yaml")
]


@pytest.fixture(scope="module")
def report(kb: KnowledgeBase) -> EvalReport:
    """Dalsbot's metrics on the second held-out set."""
    return evaluate(load_eval_set(HOLDOUT2_PATH), dalsbot_system(kb))


def test_holdout2_covers_every_article(kb: KnowledgeBase) -> None:
    """Every article id, at least 12 off-topic questions and 5 emergencies."""
    items = load_eval_set(HOLDOUT2_PATH)
    assert {item.expect for item in items if item.in_scope} == set(kb.ids())
    assert sum(item.expect is None for item in items) >= 12
    assert sum(item.emergency for item in items) >= 5


# Written without looking at the articles, four everyday questions came out identical to
# example questions already in the articles' front matter. They were kept (the set was
# measured with them before and after the tuning round) and are listed here; no others.
KNOWN_EXAMPLE_OVERLAP = {
    "vad ska stå i barnets plan",
    "vilken lag säger att vi ska samverka",
    "vad gör en stödsamordnare",
    "vad är tsi",
}


def test_holdout2_is_disjoint_from_the_other_sets(kb: KnowledgeBase) -> None:
    """No question is in another set; only the four known ones are example questions."""
    holdout2 = {item.question.casefold() for item in load_eval_set(HOLDOUT2_PATH)}
    others = {item.question.casefold() for path in OTHER_PATHS for item in load_eval_set(path)}
    examples = {
        question.casefold()
        for article_id in kb.ids()
        for lang in ("sv", "en")
        for question in getattr(kb.get(article_id, lang), "questions", ())
    }
    assert not holdout2 & others
    assert holdout2 & examples <= KNOWN_EXAMPLE_OVERLAP


def test_holdout2_top1(report: EvalReport) -> None:
    """The right article comes first for at least 86 % of in-scope questions."""
    assert report.top1 >= 0.86, report.failures["top1"]


def test_holdout2_answered(report: EvalReport) -> None:
    """At least 93 % of in-scope questions get an answer."""
    assert report.answered >= 0.93, report.failures["top1"]


def test_holdout2_abstention(report: EvalReport) -> None:
    """At least 90 % of off-topic questions get no article."""
    assert report.abstention_recall >= 0.90, report.failures["abstain"]


def test_holdout2_language(report: EvalReport) -> None:
    """At least 98 % of answers are in the expected language."""
    assert report.language >= 0.98, report.failures["lang"]


def test_holdout2_emergencies(report: EvalReport) -> None:
    """Every emergency gets the akut-lage answer."""
    assert report.emergency == 1.0, report.failures["emergency"]
