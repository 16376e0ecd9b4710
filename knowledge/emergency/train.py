"""Train the learned second opinion (``model.npz``) from the labelled evaluation sets.

Run from the repository root after a labelled set is added or changed:
``python -m knowledge.emergency.train``. Training is deterministic (full-batch gradient
descent from zeros), so the same sets always give the same model; a test checks that the
shipped model is the one these sets give. The newest blind set is never in TRAINING_SETS
(``knowledge/training.py``) until it has been measured once (see the README's evaluation
section).
"""

from __future__ import annotations

import sys
from pathlib import Path

from knowledge.emergency.model import MODEL_PATH, EmergencyModel, fit
from knowledge.training import SETS_DIR, TRAINING_SETS, labelled_items, run

# Chosen on R4 while R4 was not yet training data (see the README): a model probability of
# CLEAR_THRESHOLD or more is an emergency even where no signal names it; below
# VETO_THRESHOLD a signal's alarm becomes a footer; POSSIBLE_THRESHOLD adds the footer.
CLEAR_THRESHOLD = 0.7
VETO_THRESHOLD = 0.2
POSSIBLE_THRESHOLD = 0.3


def train(sets: tuple[str, ...] = TRAINING_SETS, directory: Path = SETS_DIR) -> EmergencyModel:
    """Fit the model on ``sets`` (emergency items are the positives)."""
    items = labelled_items(sets, directory)
    weights, bias = fit([item.question for item in items], [item.emergency for item in items])
    return EmergencyModel(weights, bias, CLEAR_THRESHOLD, POSSIBLE_THRESHOLD, sets, VETO_THRESHOLD)


def main() -> int:
    """Train and write ``model.npz``."""
    return run(train, MODEL_PATH, lambda model: f"trained on {len(model.trained_on)} sets")


if __name__ == "__main__":
    sys.exit(main())
