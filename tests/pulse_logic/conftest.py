"""Shared fixtures for the pulse logic tests."""

from __future__ import annotations

import os

import pytest

# The renderers never import pyplot, but anything else that does must not look for a display.
os.environ.setdefault("MPLBACKEND", "Agg")

from storage.pulse.templates import TEMPLATES_DIR, Template, load_templates


@pytest.fixture(scope="session")
def templates() -> dict[str, Template]:
    return load_templates(TEMPLATES_DIR)


@pytest.fixture
def barnteam(templates: dict[str, Template]) -> Template:
    return templates["barnteam"]
