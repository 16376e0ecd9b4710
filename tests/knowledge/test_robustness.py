"""Mechanisms that keep retrieval robust: distinct example questions, coverage-aware
ranking and abstention, glossary synonyms (Norwegian spellings included), and quoted
English model names in Swedish questions (emergency phrasings: test_emergency.py)."""

from __future__ import annotations

from itertools import combinations

import pytest

from knowledge.language import detect_language
from knowledge.search import MIN_COVERAGE, _rerank_score
from knowledge.service import KnowledgeBase
from knowledge.text import content_tokens, stem


def _content(question: str, lang: str) -> frozenset[str]:
    return frozenset(stem(tok, lang) for tok in content_tokens(question, lang) if len(tok) > 1)


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_example_questions_are_distinct_across_articles(kb: KnowledgeBase, lang: str) -> None:
    """No two articles share an example question (same content words after stemming), and
    no two articles' questions of three words or more differ by only one word: a shared
    question blurs which
    article owns the answer."""
    owners: dict[frozenset[str], set[str]] = {}
    for article_id in kb.ids():
        article = kb.get(article_id, lang)
        for question in article.questions if article else ():
            owners.setdefault(_content(question, lang), set()).add(article_id)
    shared = {tuple(sorted(words)): ids for words, ids in owners.items() if len(ids) > 1}
    assert not shared
    near = [
        (sorted(a), owners[a], sorted(b), owners[b])
        for a, b in combinations(owners, 2)
        if owners[a] != owners[b] and len(a & b) >= 3 and len(a ^ b) <= 1
    ]
    assert not near


def test_rerank_prefers_the_article_covering_more_of_the_question() -> None:
    """Equal BM25F scores: the article that matches more of the question ranks higher."""
    assert _rerank_score(10.0, 0.9) > _rerank_score(10.0, 0.4)
    assert _rerank_score(10.0, 1.0) == 10.0
    assert _rerank_score(10.0, 0.0) > 0.0


def test_a_single_domain_word_in_an_off_topic_question_is_no_answer(kb: KnowledgeBase) -> None:
    """A question that is mostly about something else abstains despite one strong match."""
    result = kb.index.search("tipsa om en rolig ljudbok att läsa på tåget till stockholm", "sv")
    assert result.article_id is None
    assert 0.0 < MIN_COVERAGE < 0.5


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("samordnet individuell plan for barnet", "sip"),
        ("hvem kan innkalle til SIP", "sip"),
        ("avsluta barnets plan", "uppfoljning-av-plan"),
    ],
)
def test_glossary_synonyms_and_norwegian_spellings(
    kb: KnowledgeBase, question: str, expected: str
) -> None:
    """Norwegian domain words and synonyms reach the Swedish articles."""
    assert kb.index.search(question, "sv").article_id == expected


def test_wellbeing_is_its_own_concept(kb: KnowledgeBase) -> None:
    """'välmående' is wellbeing in general, not a name for Behovskompassen."""
    terms = {term for unit in kb.index.analyze_query("välmående", "sv") for term, _ in unit.terms}
    assert "§valbefinnande" in terms
    assert "§behovskompassen" not in terms


@pytest.mark.parametrize(
    ("text", "preferred", "lang"),
    [
        ("named person hur ser rollen ut hos oss", "en", "sv"),
        ("lead professional vem blir det i vår kommun", "en", "sv"),
        ("what does the named person do", "sv", "en"),
    ],
)
def test_quoted_english_model_names_do_not_decide_the_language(
    text: str, preferred: str, lang: str
) -> None:
    """English GIRFEC terms quoted in a Swedish sentence leave it Swedish."""
    assert detect_language(text, preferred).lang == lang
