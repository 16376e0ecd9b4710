"""A learned second opinion on acute danger: logistic regression over hashed n-grams.

The reviewed signals (``signals/*.yaml``) catch the phrasings people have written down; new
writers keep finding new ones ("hon står på taket", "he's getting into the driver's seat").
This model learns from the labelled, blind-written evaluation sets which *words and word
pieces* tend to come with an emergency, so that an unseen phrasing of a known danger still
scores high. It is small (a weight per hashed feature, no external model files), trained
in seconds with numpy by ``python -m knowledge.emergency.train`` and shipped as
``model.npz`` with the list of sets it was trained on.

Features, on the folded text (lower case, no å/ä/ö, see ``knowledge.patterns.fold``):
words, word pairs, and character 3–5-grams inside words (so "skurit", "skuret" and
"skuri" share pieces), each hashed with CRC-32 into ``BUCKETS`` buckets.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from knowledge.patterns import WORD, fold

MODEL_PATH = Path(__file__).with_name("model.npz")
BUCKETS = 1 << 16
CHAR_NGRAMS = (3, 4, 5)
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def features(text: str) -> list[int]:
    """The hashed feature buckets of ``text`` (each once)."""
    words = WORD.findall(fold(text))
    keys: set[str] = set()
    for i, word in enumerate(words):
        keys.add(f"w:{word}")
        if i + 1 < len(words):
            keys.add(f"b:{word} {words[i + 1]}")
        padded = f"<{word}>"
        for n in CHAR_NGRAMS:
            keys.update(f"c:{padded[j : j + n]}" for j in range(len(padded) - n + 1))
    return sorted({zlib.crc32(key.encode()) % BUCKETS for key in keys})


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
        with path.open("wb") as handle:
            np.savez_compressed(
                handle, weights=self.weights.astype(np.float32), meta=np.array(json.dumps(meta))
            )


def load_model(path: Path = MODEL_PATH) -> EmergencyModel | None:
    """The model at ``path``, or None when there is none (the signals then work alone)."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        weights = data["weights"].astype(np.float64)
    if meta.get("buckets") != BUCKETS or weights.shape != (BUCKETS,):
        raise ValueError(f"{path.name}: built for another feature size; retrain it")
    return EmergencyModel(
        weights=weights,
        bias=float(meta["bias"]),
        clear_threshold=float(meta["clear_threshold"]),
        possible_threshold=float(meta["possible_threshold"]),
        trained_on=tuple(meta["trained_on"]),
        veto_threshold=float(meta.get("veto_threshold", 0.0)),
    )


@lru_cache(maxsize=1)
def default_model() -> EmergencyModel | None:
    """The model shipped with Dalsbot (loaded once)."""
    return load_model()


def fit(
    texts: Sequence[str],
    labels: Sequence[bool],
    *,
    epochs: int = 300,
    rate: float = 0.5,
    l2: float = 1e-4,
) -> tuple[FloatArray, float]:
    """Fit logistic regression (full-batch gradient descent, classes weighted equally)."""
    rows = [features(text) for text in texts]
    lengths = np.array([len(row) for row in rows], dtype=np.int64)
    flat = np.fromiter((i for row in rows for i in row), dtype=np.int64, count=int(lengths.sum()))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    y = np.array(labels, dtype=np.float64)
    positives = max(1.0, float(y.sum()))
    negatives = max(1.0, float(len(y) - y.sum()))
    sample_weight = np.where(y > 0, len(y) / (2 * positives), len(y) / (2 * negatives))
    weights = np.zeros(BUCKETS, dtype=np.float64)
    bias = 0.0
    for _ in range(epochs):
        scores = _row_sums(weights[flat], starts, lengths) + bias
        error = (1.0 / (1.0 + np.exp(-scores)) - y) * sample_weight / len(y)
        gradient = np.bincount(flat, weights=np.repeat(error, lengths), minlength=BUCKETS)
        weights -= rate * (gradient + l2 * weights)
        bias -= rate * float(error.sum())
    return weights, bias


def _row_sums(values: FloatArray, starts: IntArray, lengths: IntArray) -> FloatArray:
    sums = np.zeros(len(starts), dtype=np.float64)
    nonempty = lengths > 0
    sums[nonempty] = np.add.reduceat(values, starts[nonempty]) if values.size else 0.0
    return sums


def probabilities(weights: FloatArray, bias: float, texts: Iterable[str]) -> list[float]:
    """The probability of each text under ``weights`` and ``bias``."""
    model = EmergencyModel(weights, bias, 1.0, 1.0, ())
    return [model.probability(text) for text in texts]
