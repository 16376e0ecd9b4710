"""Shared fixtures for the knowledge tests: the real knowledge base, built once."""

from __future__ import annotations

import pytest

from knowledge.service import KnowledgeBase


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The knowledge base built from the real articles and glossary."""
    return KnowledgeBase()
