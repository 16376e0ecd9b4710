"""A learned second opinion on acute danger: logistic regression over hashed n-grams.

The reviewed signals (``signals/*.yaml``) catch the phrasings people have written down; new
writers keep finding new ones ("hon står på taket", "he's getting into the driver's seat").
This model learns from the labelled, blind-written evaluation sets which *words and word
pieces* tend to come with an emergency, so that an unseen phrasing of a known danger still
scores high. It is small (a weight per hashed feature, no external model files), trained
in seconds with numpy by ``python -m knowledge.emergency.train`` and shipped as
``model.npz`` with the list of sets it was trained on.

Features (``knowledge.learning``), on the folded text: words, word pairs, and character
3–5-grams inside words (so "skurit", "skuret" and "skuri" share pieces), each hashed with
CRC-32 into ``BUCKETS`` buckets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge import learning

if TYPE_CHECKING:
    from knowledge.learning import FloatArray

MODEL_PATH = Path(__file__).with_name("model.npz")
BUCKETS = 1 << 16


def features(text: str) -> list[int]:
    """The hashed feature buckets of ``text`` (each once)."""
    return learning.features(text, BUCKETS)


@dataclass(frozen=True, slots=True)
class EmergencyModel:
    """Weights, bias and the two decision thresholds, with the sets it was trained on."""

    weights: FloatArray
    bias: float
    clear_threshold: float
    possible_threshold: float
    trained_on: tuple[str, ...]
    veto_threshold: float = 0.0

    def probability(self, text: str) -> float:
        """The model's probability that ``text`` describes a child in acute danger."""
        index = features(text)
        score = self.bias + float(self.weights[index].sum()) if index else self.bias
        return 1.0 / (1.0 + math.exp(-score))

    def save(self, path: Path = MODEL_PATH) -> None:
        """Write the model (weights as float32, metadata as JSON) to ``path``."""
        meta = {
            "bias": self.bias,
            "clear_threshold": self.clear_threshold,
            "possible_threshold": self.possible_threshold,
            "veto_threshold": self.veto_threshold,
            "trained_on": list(self.trained_on),
            "buckets": BUCKETS,
        }
        learning.save(path, meta, weights=self.weights.astype("float32"))


def load_model(path: Path = MODEL_PATH) -> EmergencyModel | None:
    """The model at ``path``, or None when there is none (the signals then work alone)."""
    return learning.load(
        path,
        lambda meta, weights: meta.get("buckets") == BUCKETS and weights.shape == (BUCKETS,),
        lambda meta, arrays: EmergencyModel(
            weights=arrays["weights"],
            bias=float(meta["bias"]),
            clear_threshold=float(meta["clear_threshold"]),
            possible_threshold=float(meta["possible_threshold"]),
            trained_on=tuple(meta["trained_on"]),
            veto_threshold=float(meta.get("veto_threshold", 0.0)),
        ),
    )


@lru_cache(maxsize=1)
def default_model() -> EmergencyModel | None:
    """The model shipped with Dalsbot (loaded once)."""
    return load_model()


def fit(
    texts: Sequence[str], labels: Sequence[bool], *, epochs: int = 300
) -> tuple[FloatArray, float]:
    """Fit the model's logistic regression on ``texts`` (emergencies are the positives)."""
    return learning.fit(learning.Design(texts, BUCKETS), labels, epochs=epochs)


def probabilities(weights: FloatArray, bias: float, texts: Iterable[str]) -> list[float]:
    """The probability of each text under ``weights`` and ``bias``."""
    model = EmergencyModel(weights, bias, 1.0, 1.0, ())
    return [model.probability(text) for text in texts]
