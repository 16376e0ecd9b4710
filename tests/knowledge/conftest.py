"""Shared fixtures for the knowledge tests: the real knowledge base, built once, and
Dalsbot's metrics on the labelled question sets in this folder, each computed once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.evaluation import EvalReport, dalsbot_system, evaluate, load_eval_set
from knowledge.service import KnowledgeBase

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The knowledge base built from the real articles and glossary."""
    return KnowledgeBase()


@pytest.fixture(scope="session")
def set_report(kb: KnowledgeBase) -> Callable[[str], EvalReport]:
    """Dalsbot's metrics on the set ``<name>.yaml`` of this folder, by name (each once)."""
    reports: dict[str, EvalReport] = {}

    def report(name: str) -> EvalReport:
        if name not in reports:
            reports[name] = evaluate(load_eval_set(HERE / f"{name}.yaml"), dalsbot_system(kb))
        return reports[name]

    return report
