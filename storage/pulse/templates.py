"""Pulse templates: the question sets people answer after a meeting.

One YAML file per template in ``storage/pulse/templates_data/`` (``barnteam.yaml``, ``sip.yaml``,
``natverk.yaml``, ``familj.yaml``). A file looks like::

    key: barnteam              # must equal the file name
    audience: staff            # staff | family
    title: {sv: ..., en: ...}
    scale:                     # optional default scale labels for every question
      low: {sv: Inte alls, en: Not at all}
      high: {sv: Helt och hållet, en: Completely}
    questions:                 # 3–5 questions, answered on a 1–5 scale
      - key: syfte
        text: {sv: ..., en: ...}
        short: {sv: ..., en: ...}   # optional label for results and charts
        low: {sv: ..., en: ...}     # optional, overrides scale.low
        high: {sv: ..., en: ...}    # optional, overrides scale.high
    comment_prompt: {sv: ..., en: ...}

A template's :attr:`Template.version` is the first 12 hex digits of the SHA-256 of its
canonical content (the normalised template, defaults filled in, serialised as sorted YAML),
so any edit of what people see gives a new version while comments and formatting do not.
A pulse stores the version (and :meth:`Template.to_dict` as a snapshot) it was opened with,
so editing a file never changes the meaning of answers already given.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import yaml

from bot.i18n import LANGUAGES, as_lang

Audience = Literal["staff", "family"]

TEMPLATES_DIR: Final = Path(__file__).with_name("templates_data")
MIN_QUESTIONS: Final = 3
MAX_QUESTIONS: Final = 5
# Keys travel in Telegram callback data (64 bytes at most) beside a prefix and a pulse id.
_TEMPLATE_KEY: Final = re.compile(r"[a-z][a-z0-9_]{0,23}")
_QUESTION_KEY: Final = re.compile(r"[a-z][a-z0-9_]{0,15}")
_AUDIENCES: Final[tuple[Audience, ...]] = ("staff", "family")
_TOP_LEVEL: Final = frozenset({"key", "audience", "title", "scale", "questions", "comment_prompt"})
_QUESTION_FIELDS: Final = frozenset({"key", "text", "short", "low", "high"})
# Longest texts, in characters: a title is a heading, a short label fits a chart row on a
# phone, a scale label sits under the buttons.
_MAX_LEN: Final = {
    "title": 60,
    "text": 200,
    "short": 32,
    "low": 30,
    "high": 30,
    "comment_prompt": 300,
}


class TemplateError(ValueError):
    """A template file that cannot be used; the message says which file and what is wrong."""


@dataclass(frozen=True)
class Localized:
    """One text in both languages."""

    sv: str
    en: str

    def get(self, lang: str | None) -> str:
        """The text in ``lang`` (Swedish when the language is unknown)."""
        return self.en if as_lang(lang) == "en" else self.sv

    def to_dict(self) -> dict[str, str]:
        return {"sv": self.sv, "en": self.en}


@dataclass(frozen=True)
class Question:
    """One question, answered on a scale from 1 (``low``) to 5 (``high``)."""

    key: str
    text: Localized
    short: Localized
    low: Localized
    high: Localized

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "text": self.text.to_dict(),
            "short": self.short.to_dict(),
            "low": self.low.to_dict(),
            "high": self.high.to_dict(),
        }


@dataclass(frozen=True)
class Template:
    """A validated pulse template; ``version`` identifies its exact content."""

    key: str
    audience: Audience
    title: Localized
    questions: tuple[Question, ...]
    comment_prompt: Localized
    version: str

    @property
    def question_keys(self) -> tuple[str, ...]:
        return tuple(question.key for question in self.questions)

    def question(self, key: str) -> Question:
        """The question with ``key``; ``KeyError`` when the template has none."""
        for question in self.questions:
            if question.key == key:
                return question
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        """The normalised content (without ``version``): what the version is computed from."""
        return {
            "key": self.key,
            "audience": self.audience,
            "title": self.title.to_dict(),
            "questions": [question.to_dict() for question in self.questions],
            "comment_prompt": self.comment_prompt.to_dict(),
        }


def canonical_yaml(content: Mapping[str, Any]) -> str:
    """``content`` as YAML with sorted keys: the same content always gives the same text."""
    return yaml.safe_dump(
        dict(content), allow_unicode=True, sort_keys=True, default_flow_style=False, width=1000
    )


def content_version(content: Mapping[str, Any]) -> str:
    """The short content hash used as a template version."""
    digest = hashlib.sha256(canonical_yaml(content).encode("utf-8")).hexdigest()
    return digest[:12]


class _Problems:
    """Collects every problem of one file so an admin can fix them all in one go."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}" if where else message)


def _localized(
    node: object, where: str, field: str, problems: _Problems, *, required: bool = True
) -> Localized | None:
    if node is None:
        if required:
            problems.add(where, "missing (needs sv and en)")
        return None
    if not isinstance(node, Mapping):
        problems.add(where, "must have the texts 'sv' and 'en'")
        return None
    texts: dict[str, str] = {}
    for lang in LANGUAGES:
        value = node.get(lang)
        if not isinstance(value, str) or not value.strip():
            problems.add(f"{where}.{lang}", "missing or empty text")
            continue
        text = " ".join(value.split())
        if len(text) > _MAX_LEN[field]:
            problems.add(f"{where}.{lang}", f"too long ({len(text)} > {_MAX_LEN[field]} chars)")
        texts[lang] = text
    unknown = sorted(str(lang) for lang in node if lang not in LANGUAGES)
    if unknown:
        problems.add(where, f"unknown language(s) {', '.join(unknown)} (use sv and en)")
    if len(texts) != len(LANGUAGES):
        return None
    return Localized(sv=texts["sv"], en=texts["en"])


def _question(
    node: object,
    where: str,
    defaults: Mapping[str, Localized | None],
    problems: _Problems,
) -> Question | None:
    if not isinstance(node, Mapping):
        problems.add(where, "must be a mapping with key, text and scale labels")
        return None
    unknown = sorted(str(name) for name in node if name not in _QUESTION_FIELDS)
    if unknown:
        problems.add(where, f"unknown field(s) {', '.join(unknown)}")
    key = node.get("key")
    if not isinstance(key, str) or not _QUESTION_KEY.fullmatch(key):
        problems.add(
            f"{where}.key", "must be 1–16 characters a–z, 0–9 or _, starting with a letter"
        )
        key = None
    text = _localized(node.get("text"), f"{where}.text", "text", problems)
    short = _localized(node.get("short"), f"{where}.short", "short", problems, required=False)
    labels: dict[str, Localized | None] = {}
    for end in ("low", "high"):
        own = _localized(node.get(end), f"{where}.{end}", end, problems, required=False)
        labels[end] = own or defaults.get(end)
        if labels[end] is None and end not in node:
            problems.add(f"{where}.{end}", "missing scale label (set it here or in scale.{end})")
    low, high = labels["low"], labels["high"]
    if key is None or text is None or low is None or high is None:
        return None
    if short is None and "short" in node:
        return None
    if short is None:
        short = Localized(sv=_shorten(text.sv), en=_shorten(text.en))
    return Question(key=key, text=text, short=short, low=low, high=high)


def _shorten(text: str) -> str:
    limit = _MAX_LEN["short"]
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _scale_defaults(node: object, problems: _Problems) -> dict[str, Localized | None]:
    if node is None:
        return {"low": None, "high": None}
    if not isinstance(node, Mapping):
        problems.add("scale", "must have 'low' and 'high'")
        return {"low": None, "high": None}
    unknown = sorted(str(name) for name in node if name not in ("low", "high"))
    if unknown:
        problems.add("scale", f"unknown field(s) {', '.join(unknown)}")
    return {
        end: _localized(node.get(end), f"scale.{end}", end, problems, required=False)
        for end in ("low", "high")
    }


def _questions(
    node: object, defaults: Mapping[str, Localized | None], problems: _Problems
) -> list[Question]:
    if not isinstance(node, list):
        problems.add("questions", f"must be a list of {MIN_QUESTIONS}–{MAX_QUESTIONS} questions")
        return []
    if not MIN_QUESTIONS <= len(node) <= MAX_QUESTIONS:
        problems.add(
            "questions", f"has {len(node)} questions, needs {MIN_QUESTIONS}–{MAX_QUESTIONS}"
        )
    questions: list[Question] = []
    seen: set[str] = set()
    for index, item in enumerate(node, start=1):
        question = _question(item, f"questions[{index}]", defaults, problems)
        if question is None:
            continue
        if question.key in seen:
            problems.add(f"questions[{index}].key", f"duplicate question key {question.key!r}")
        seen.add(question.key)
        questions.append(question)
    return questions


def template_from_dict(data: object, *, expected_key: str | None = None) -> Template:
    """Validate parsed template content (a file's YAML, a stored snapshot, CLI input).

    Raises :class:`TemplateError` listing every problem found.
    """
    problems = _Problems()
    if not isinstance(data, Mapping):
        raise TemplateError("a template must be a YAML mapping (key: value lines)")
    unknown = sorted(str(name) for name in data if name not in _TOP_LEVEL)
    if unknown:
        problems.add("", f"unknown field(s) {', '.join(unknown)}")
    key = data.get("key")
    if not isinstance(key, str) or not _TEMPLATE_KEY.fullmatch(key):
        problems.add("key", "must be 1–24 characters a–z, 0–9 or _, starting with a letter")
        key = None
    elif expected_key is not None and key != expected_key:
        problems.add("key", f"is {key!r} but the file is named {expected_key}.yaml")
    audience = data.get("audience")
    if audience not in _AUDIENCES:
        problems.add("audience", f"must be one of {', '.join(_AUDIENCES)}")
    title = _localized(data.get("title"), "title", "title", problems)
    prompt = _localized(data.get("comment_prompt"), "comment_prompt", "comment_prompt", problems)
    defaults = _scale_defaults(data.get("scale"), problems)
    questions = _questions(data.get("questions"), defaults, problems)
    if problems.items or key is None or title is None or prompt is None:
        raise TemplateError("; ".join(problems.items) or "invalid template")
    content = {
        "key": key,
        "audience": audience,
        "title": title.to_dict(),
        "questions": [question.to_dict() for question in questions],
        "comment_prompt": prompt.to_dict(),
    }
    return Template(
        key=key,
        audience="family" if audience == "family" else "staff",
        title=title,
        questions=tuple(questions),
        comment_prompt=prompt,
        version=content_version(content),
    )


def validate_template_file(path: Path | str) -> Template:
    """Load and validate one template file; :class:`TemplateError` names the file and problems."""
    file = Path(path)
    try:
        raw = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{file.name}: cannot read the file ({exc})") from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise TemplateError(f"{file.name}: not valid YAML{where} ({problem})") from exc
    try:
        return template_from_dict(data, expected_key=file.stem)
    except TemplateError as exc:
        raise TemplateError(f"{file.name}: {exc}") from exc


def load_templates(folder: Path | str = TEMPLATES_DIR) -> dict[str, Template]:
    """Every ``*.yaml`` template in ``folder``, keyed by template key, in file-name order."""
    directory = Path(folder)
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise TemplateError(f"no pulse templates (*.yaml) in {directory}")
    templates: dict[str, Template] = {}
    for path in paths:
        template = validate_template_file(path)
        if template.key in templates:
            raise TemplateError(f"{path.name}: duplicate template key {template.key!r}")
        templates[template.key] = template
    return templates


def site_templates_dir(data_dir: Path | str) -> Path:
    """Where ``dalsbot pulse templates add`` puts templates added on this server."""
    return Path(data_dir) / "pulse_templates"


def load_all_templates(extra: Path | str | None = None) -> dict[str, Template]:
    """The repository's templates plus those in ``extra`` (a server's own folder).

    A file in ``extra`` with the key of a repository template replaces it: that is how an
    admin edits a template on a server without changing the repository. Pulses already
    opened keep the version they were opened with.
    """
    templates = load_templates(TEMPLATES_DIR)
    folder = Path(extra) if extra is not None else None
    if folder is not None and folder.is_dir() and any(folder.glob("*.yaml")):
        templates.update(load_templates(folder))
    return templates
