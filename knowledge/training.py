"""What the two learned models are trained on, and how their trainers write them.

The emergency model (``python -m knowledge.emergency.train``) and the topic model
(``python -m knowledge.topic_train``) learn from the same labelled sets, ``TRAINING_SETS``,
so the newest blind set stays out of both: it is never listed until it has been measured
once (see the README's evaluation section).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from knowledge.evaluation import EvalItem, load_eval_set

SETS_DIR = Path(__file__).resolve().parents[1] / "tests" / "knowledge"
TRAINING_SETS: tuple[str, ...] = (
    "eval_questions",
    "holdout_questions",
    "holdout2_questions",
    "holdout3_questions",
    "offtopic_dev_questions",
    "reviewer_questions",
    "realistic1_scope",
    "realistic1_safety",
    "realistic2_scope",
    "realistic2_safety",
    "realistic3_scope",
    "realistic3_safety",
    "realistic4_scope",
    "realistic4_safety",
    "realistic5_scope",
    "realistic5_safety",
    "realistic6_scope",
    "realistic6_safety",
    "realistic7_scope",
    "realistic7_safety",
    "realistic8_scope",
    "realistic8_safety",
    "realistic9_scope",
    "realistic9_safety",
)


class Saveable(Protocol):
    """A trained model that can write itself to a file."""

    def save(self, path: Path) -> None: ...


Trained = TypeVar("Trained", bound=Saveable)


def labelled_items(sets: tuple[str, ...], directory: Path) -> list[EvalItem]:
    """Every labelled item of ``sets`` (``<name>.yaml`` in ``directory``), in order."""
    return [item for name in sets for item in load_eval_set(directory / f"{name}.yaml")]


def run(train: Callable[[], Trained], path: Path, summary: Callable[[Trained], str]) -> int:
    """Train a model, write it to ``path`` and say so with ``summary(model)``; returns 0."""
    model = train()
    model.save(path)
    print(f"Wrote {path.name}: {summary(model)}")
    return 0
