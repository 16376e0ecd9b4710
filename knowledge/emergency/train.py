"""Train the learned second opinion (``model.npz``) from the labelled evaluation sets.

Run from the repository root after a labelled set is added or changed:
``python -m knowledge.emergency.train``. Training is deterministic (full-batch gradient
descent from zeros), so the same sets always give the same model; a test checks that the
shipped model is the one these sets give. The newest blind set is never in TRAINING_SETS
until it has been measured once (see the README's evaluation section).
"""

from __future__ import annotations

import sys
from pathlib import Path

from knowledge.emergency.model import MODEL_PATH, EmergencyModel, fit
from knowledge.evaluation import load_eval_set

SETS_DIR = Path(__file__).resolve().parents[2] / "tests" / "knowledge"
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
# Chosen on R4 while R4 was not yet training data (see the README): a model probability of
# CLEAR_THRESHOLD or more is an emergency even where no signal names it; below
# VETO_THRESHOLD a signal's alarm becomes a footer; POSSIBLE_THRESHOLD adds the footer.
CLEAR_THRESHOLD = 0.7
VETO_THRESHOLD = 0.2
POSSIBLE_THRESHOLD = 0.3


def train(sets: tuple[str, ...] = TRAINING_SETS, directory: Path = SETS_DIR) -> EmergencyModel:
    """Fit the model on ``sets`` (emergency items are the positives)."""
    items = [item for name in sets for item in load_eval_set(directory / f"{name}.yaml")]
    weights, bias = fit([item.question for item in items], [item.emergency for item in items])
    return EmergencyModel(weights, bias, CLEAR_THRESHOLD, POSSIBLE_THRESHOLD, sets, VETO_THRESHOLD)


def main() -> int:
    """Train and write ``model.npz``."""
    model = train()
    model.save(MODEL_PATH)
    print(f"Wrote {MODEL_PATH.name}: trained on {len(model.trained_on)} sets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
