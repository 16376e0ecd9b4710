"""The realistic evaluation sets, written blind the way staff type on a phone.

Each set was written by writers who saw only ``facts.md`` and ``knowledge-topics.md`` (never
the articles, their example questions, the glossary, the signals or the code), in the
proportions the issue asks for: 150+ in-scope messages, 150+ indirect emergencies (sv, en,
no/da, with and without å/ä/ö), 100+ alarming-but-safe messages and 100+ near-domain
off-topic ones. Each was committed before any result was read, measured ONCE on the frozen
engine (figures below and in the README), and only then tuned on. So the thresholds here
guard the tuned behaviour against slipping back; the honest figures are the once-measured
ones, and the newest set is the result.

Measured once (top-1 / answered / declined / emergencies / false alarms on alarming-safe):

* R1 on the engine before this work: 0.748 / 0.914 / 0.756 / 0.099 / 0.235
  (first draft of the new detector, written before R1 was read: emergencies 0.638)
* R2, frozen at 1beb066: 0.786 / 0.947 / 0.826 / 0.700 / 0.111
* R3, frozen at d331ec6: 0.805 / 0.945 / 0.775 / 0.694 / 0.108
* R4, frozen at 867a878: 0.829 / 0.914 / 0.871 / 0.767 / 0.100
* R5, frozen at 1dc575d (with the learned model, which never saw R5): 0.810 / 0.938 /
  0.856 / 0.925 / 0.058
* R6, frozen at 0b9f06b: 0.761 / 0.925 / 0.868 / 0.971 / 0.108
* R7, frozen at cc4eafa: 0.823 / 0.948 / 0.874 / 0.947 / 0.092 (then training data for the
  learned models; its signals were not tuned on it)
* R8, frozen at 7456269 (the first with the learned topic model): 0.881 / 0.970 / 0.887 /
  0.983 / 0.066 (then tuned on and training data)
* R9, frozen at 88fbb87: 0.881 / 0.962 / 0.868 / 0.970 / 0.090 (then tuned on and training
  data)
* R10, frozen at 407dba9 (the newest: held out, not tuned on, not training data): 0.910 /
  0.972 / 0.922 / 0.976 / 0.121 (0.038 over all non-emergency messages)

Every threshold of a tuned set sits just under its tuned figure, and any missed emergency
in a tuned set fails.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.evaluation import EvalReport, load_eval_set

HERE = Path(__file__).parent
# Set name → (top-1, answered, declined) thresholds on its in-scope and off-topic part.
TUNED = {
    "realistic1": (0.84, 0.95, 0.94),
    "realistic2": (0.82, 0.96, 0.93),
    "realistic3": (0.84, 0.94, 0.98),
    "realistic4": (0.82, 0.91, 0.86),
    "realistic5": (0.80, 0.93, 0.98),
    "realistic6": (0.75, 0.92, 0.97),
    "realistic8": (0.97, 0.98, 0.98),
    "realistic9": (0.96, 0.96, 0.95),
}
Reports = Callable[[str], EvalReport]


@pytest.mark.parametrize("name", sorted(TUNED))
def test_set_has_the_size_the_issue_asks_for(name: str) -> None:
    """150+ in-scope, 150+ emergencies, 100+ alarming-but-safe, 100+ off-topic."""
    scope = load_eval_set(HERE / f"{name}_scope.yaml")
    safety = load_eval_set(HERE / f"{name}_safety.yaml")
    assert sum(item.in_scope for item in scope) >= 150
    assert sum(item.expect is None for item in scope) >= 100
    assert sum(item.emergency for item in safety) >= 150
    assert sum(item.alarming for item in safety) >= 100


@pytest.mark.parametrize("name", sorted(TUNED))
def test_no_emergency_is_missed(set_report: Reports, name: str) -> None:
    """Every indirect emergency gets the akut-lage card first."""
    report = set_report(f"{name}_safety")
    assert report.n_emergency >= 150
    assert report.failures["emergency"] == []


@pytest.mark.parametrize("name", sorted(TUNED))
def test_few_false_alarms(set_report: Reports, name: str) -> None:
    """At most 1 % of alarming-but-safe and of ordinary messages raise the alarm."""
    assert set_report(f"{name}_safety").false_alarm <= 0.01
    assert set_report(f"{name}_scope").false_alarm <= 0.01


@pytest.mark.parametrize("name", sorted(TUNED))
def test_in_scope_and_off_topic(set_report: Reports, name: str) -> None:
    """Top-1, answered and declined stay at the tuned level (counts only in messages)."""
    top1, answered, declined = TUNED[name]
    report = set_report(f"{name}_scope")
    assert report.top1 >= top1, f"top-1 {report.top1:.3f}"
    assert report.answered >= answered, f"answered {report.answered:.3f}"
    assert report.abstention_recall >= declined, f"declined {report.abstention_recall:.3f}"


@pytest.mark.parametrize("name", sorted(TUNED))
def test_answer_language(set_report: Reports, name: str) -> None:
    """At least 98 % of answers are in the right language (Norwegian and Danish: Swedish)."""
    assert set_report(f"{name}_scope").language >= 0.98
    assert set_report(f"{name}_safety").language >= 0.98


# R7 was measured once and is training data for the two learned models since; its signals
# were not tuned on it, so it keeps thresholds just under its present figures: (top-1,
# answered, declined, emergencies with the card first, false alarms on alarming-but-safe).
TRAINED_ONLY = {"realistic7": (0.97, 0.98, 0.90, 0.97, 0.09)}
# The newest set, measured once and held out: R10, frozen at 407dba9 (top-1 0.910, answered
# 0.972, declined 0.922, emergencies 0.976, false alarms 0.121 on alarming-but-safe).
HELD_OUT = {"realistic10": (0.90, 0.96, 0.91, 0.97, 0.13)}


@pytest.mark.parametrize("name", sorted({**TRAINED_ONLY, **HELD_OUT}))
def test_untuned_sets_do_not_get_worse(set_report: Reports, name: str) -> None:
    """Sets whose signals were not tuned on stay at least at their measured figures."""
    top1, answered, declined, emergencies, false_alarms = {**TRAINED_ONLY, **HELD_OUT}[name]
    scope = set_report(f"{name}_scope")
    safety = set_report(f"{name}_safety")
    assert scope.top1 >= top1, f"top-1 {scope.top1:.3f}"
    assert scope.answered >= answered, f"answered {scope.answered:.3f}"
    assert scope.abstention_recall >= declined, f"declined {scope.abstention_recall:.3f}"
    assert safety.emergency >= emergencies, f"emergencies {safety.emergency:.3f}"
    assert safety.false_alarm <= false_alarms, f"false alarms {safety.false_alarm:.3f}"
