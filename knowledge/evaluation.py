"""Evaluation of retrieval against a labelled question set (tests and benchmarks share it).

A *system* is any function ``(question, preferred_lang) -> Prediction``; Dalsbot's own
system wraps ``KnowledgeBase.answer``. ``evaluate`` returns the metrics the test suite
and ``benchmarks/kb_eval.py`` report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.service import KnowledgeBase


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One labelled question."""

    question: str
    preferred: str
    expect: str | None
    lang: str
    emergency: bool = False
    short: bool = False
    foreign: bool = False
    # Realistic sets: the writer's label ("smalltalk", "case", "meta-routine" ...), the
    # category of an emergency, the article of a second question in the same message, and
    # whether the item is one of the alarming-but-safe messages.
    kind: str | None = None
    category: str | None = None
    also: str | None = None
    alarming: bool = False

    @property
    def in_scope(self) -> bool:
        """An ordinary question the knowledge base should answer (not an emergency)."""
        return self.expect is not None and not self.emergency and not self.alarming


@dataclass(frozen=True, slots=True)
class Prediction:
    """What a system answered: best id (None = abstained), top ids, language, emergency."""

    article_id: str | None
    ranked: list[str]
    lang: str
    emergency: bool = False
    safety_note: bool = False


@dataclass(slots=True)
class EvalReport:
    """Metrics over an evaluation set, plus the items each metric got wrong."""

    n_in_scope: int = 0
    n_off_topic: int = 0
    n_emergency: int = 0
    top1: float = 0.0
    recall_at_3: float = 0.0
    answered: float = 0.0
    abstention_recall: float = 0.0
    abstention_precision: float = 0.0
    language: float = 0.0
    emergency: float = 0.0
    n_safe: int = 0
    false_alarm: float = 0.0
    false_alarm_alarming: float = 0.0
    safety_net: float = 0.0
    failures: dict[str, list[str]] = field(default_factory=dict)


System = Callable[[str, str], Prediction]


# The bot answers Norwegian and Danish in Swedish (see knowledge.language).
_ANSWER_LANG = {"no": "sv", "nb": "sv", "nn": "sv", "da": "sv"}
_ALARMING_KINDS = frozenset(
    ("meta-routine", "training", "past-handled", "negated", "hypothetical", "procedural-concern")
)


def load_eval_set(path: Path) -> list[EvalItem]:
    """Read the YAML question set at ``path``.

    ``lang`` is the language the answer must be in; the realistic sets give the language
    the message is written in (``no`` and ``da`` are answered in Swedish).
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = []
    for raw in data["questions"]:
        written = "no" if raw["lang"] is False else str(raw["lang"])
        kind = raw.get("kind")
        items.append(
            EvalItem(
                question=str(raw["q"]),
                preferred=str(raw.get("pref", "sv")),
                expect=raw.get("expect"),
                lang=_ANSWER_LANG.get(written, written),
                emergency=bool(raw.get("emergency", False)),
                short=bool(raw.get("short", False)),
                foreign=bool(raw.get("foreign", False)),
                kind=kind,
                category=raw.get("category"),
                also=raw.get("also"),
                alarming=kind in _ALARMING_KINDS,
            )
        )
    return items


def dalsbot_system(kb: KnowledgeBase) -> System:
    """Dalsbot's full answer pipeline as an evaluation system."""

    def predict(question: str, preferred: str) -> Prediction:
        answer = kb.answer(question, preferred)
        ranked = [doc_id for doc_id, _ in kb.index.search(question, answer.lang).ranked]
        if answer.article_id and answer.article_id in ranked:
            ranked.remove(answer.article_id)
        if answer.article_id:
            ranked.insert(0, answer.article_id)
        return Prediction(
            answer.article_id, ranked, answer.lang, answer.emergency, answer.safety_note
        )

    return predict


def evaluate(items: list[EvalItem], system: System) -> EvalReport:
    """Run ``system`` on every item and compute the report."""
    report = EvalReport(
        failures={key: [] for key in ("top1", "abstain", "lang", "emergency", "false_alarm")}
    )
    hits = recall = answered = abstained_off = abstained_total = lang_ok = emerg_ok = 0
    alarms = alarms_alarming = n_alarming = netted = 0
    for item in items:
        pred = system(item.question, item.preferred)
        if not item.emergency:
            report.n_safe += 1
            if pred.emergency:
                alarms += 1
                report.failures["false_alarm"].append(repr(item.question))
            if item.alarming:
                n_alarming += 1
                alarms_alarming += pred.emergency
        if pred.lang == item.lang:
            lang_ok += 1
        else:
            report.failures["lang"].append(f"{item.question!r}: {pred.lang} != {item.lang}")
        if pred.article_id is None:
            abstained_total += 1
        if item.emergency:
            report.n_emergency += 1
            netted += pred.emergency or pred.safety_note
            if pred.emergency and pred.article_id == (item.expect or "akut-lage"):
                emerg_ok += 1
            else:
                report.failures["emergency"].append(repr(item.question))
        elif item.alarming:
            continue
        elif item.expect is None:
            report.n_off_topic += 1
            if pred.article_id is None:
                abstained_off += 1
            else:
                report.failures["abstain"].append(f"{item.question!r} -> {pred.article_id}")
        else:
            report.n_in_scope += 1
            hits += pred.article_id == item.expect
            recall += item.expect in pred.ranked[:3]
            answered += pred.article_id is not None
            if pred.article_id != item.expect:
                report.failures["top1"].append(
                    f"{item.question!r}: got {pred.article_id}, want {item.expect} "
                    f"(top3 {pred.ranked[:3]})"
                )
    report.top1 = _ratio(hits, report.n_in_scope)
    report.recall_at_3 = _ratio(recall, report.n_in_scope)
    report.answered = _ratio(answered, report.n_in_scope)
    report.abstention_recall = _ratio(abstained_off, report.n_off_topic)
    report.abstention_precision = _ratio(abstained_off, abstained_total)
    report.language = _ratio(lang_ok, len(items))
    report.emergency = _ratio(emerg_ok, report.n_emergency)
    report.safety_net = _ratio(netted, report.n_emergency)
    report.false_alarm = alarms / report.n_safe if report.n_safe else 0.0
    report.false_alarm_alarming = alarms_alarming / n_alarming if n_alarming else 0.0
    return report


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0
