"""Reading the project's YAML files (articles, signals, glossary, contacts, texts) fast.

PyYAML's pure-Python parser took about 125 ms of every start-up for the knowledge files
alone; its C parser (libyaml, in every PyYAML wheel) reads the same files in about a tenth of
that. Both build the values with the same safe constructor, so the result is the same; the C
one is used whenever PyYAML was built with it.
"""

from __future__ import annotations

from typing import Any

import yaml

YAMLError = yaml.YAMLError
# The C parser when PyYAML was built with libyaml (every wheel is), else the Python one.
SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """The value of the YAML document ``text`` (like ``yaml.safe_load``, with the C parser)."""
    return yaml.load(text, Loader=SafeLoader)
