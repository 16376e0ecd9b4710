"""Small learned models over hashed n-grams: the shared features and the fitting routine.

Two models use them: the emergency second opinion (``knowledge/emergency/model.py``) and
the topic model (``knowledge/topic_model.py``). Both are logistic regressions over the same
features of the folded text (``knowledge.patterns.fold``: lower case, no å/ä/ö): words, word
pairs and character 3–5-grams inside words, hashed with CRC-32 into a fixed number of
buckets. Fitting is full-batch gradient descent from zeros in numpy, so the same data always
gives the same weights (the tests rely on it). Both are shipped the same way: their arrays
and a JSON ``meta`` record in one compressed ``.npz`` file (``save`` and ``load``).

numpy is imported by the functions that use it, not with the module: the bot imports the
knowledge modules before it fetches updates and loads the models after (numpy is about 50 ms
of a start).
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from knowledge.patterns import WORD, fold

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray: TypeAlias = npt.NDArray[np.float64]
    IntArray: TypeAlias = npt.NDArray[np.int64]

CHAR_NGRAMS = (3, 4, 5)
Meta = dict[str, Any]
Model = TypeVar("Model")


def features(text: str, buckets: int) -> list[int]:
    """The hashed feature buckets of ``text`` (each once), in ``range(buckets)``."""
    return sorted({code % buckets for code in _hashes(text)})


@functools.lru_cache(maxsize=1)
def _hashes(text: str) -> tuple[int, ...]:
    """The CRC-32 of each feature of ``text``: both models look at the same question, one
    after the other (the last text is kept, so it is hashed once; see ``fold``)."""
    words = WORD.findall(fold(text))
    keys: set[str] = set()
    for i, word in enumerate(words):
        keys.add(f"w:{word}")
        if i + 1 < len(words):
            keys.add(f"b:{word} {words[i + 1]}")
        padded = f"<{word}>"
        for n in CHAR_NGRAMS:
            keys.update(f"c:{padded[j : j + n]}" for j in range(len(padded) - n + 1))
    return tuple(zlib.crc32(key.encode()) for key in keys)


class Design:
    """The feature rows of a training set, flattened once for every model fitted on it.

    ``rows``: the texts' feature rows already computed (``features(text, buckets)`` each), so
    a fixed part of a training set is hashed once and joined to a changing part.
    """

    def __init__(
        self, texts: Sequence[str], buckets: int, rows: Sequence[list[int]] | None = None
    ) -> None:
        import numpy as np

        if rows is None:
            rows = [features(text, buckets) for text in texts]
        self.buckets = buckets
        self.lengths = np.array([len(row) for row in rows], dtype=np.int64)
        total = int(self.lengths.sum())
        self.flat = np.fromiter((i for row in rows for i in row), dtype=np.int64, count=total)
        self.starts = np.concatenate(([0], np.cumsum(self.lengths)[:-1])).astype(np.int64)

    def scores(self, weights: FloatArray, bias: float) -> FloatArray:
        """Each row's score under ``weights`` and ``bias``."""
        import numpy as np

        sums = np.zeros(len(self.starts), dtype=np.float64)
        nonempty = self.lengths > 0
        if self.flat.size:
            sums[nonempty] = np.add.reduceat(weights[self.flat], self.starts[nonempty])
        return sums + bias


def fit(
    design: Design,
    labels: Sequence[bool],
    *,
    epochs: int = 300,
    rate: float = 0.5,
    l2: float = 1e-4,
    start: tuple[FloatArray, float] | None = None,
    row_weights: FloatArray | None = None,
) -> tuple[FloatArray, float]:
    """Fit a binary logistic regression, the two classes weighted equally.

    ``start``: weights and bias to go on from (a warm start) instead of zeros.
    ``row_weights``: each row counts that many times within its class (default 1).
    """
    import numpy as np

    y = np.array(labels, dtype=np.float64)
    positives = max(1.0, float(y.sum()))
    negatives = max(1.0, float(len(y) - y.sum()))
    sample_weight = np.where(y > 0, len(y) / (2 * positives), len(y) / (2 * negatives))
    if row_weights is not None:
        sample_weight = sample_weight * row_weights
    if start is None:
        weights = np.zeros(design.buckets, dtype=np.float64)
        bias = 0.0
    else:
        weights = np.array(start[0], dtype=np.float64)
        bias = float(start[1])
    for _ in range(epochs):
        error = (1.0 / (1.0 + np.exp(-design.scores(weights, bias))) - y) * sample_weight / len(y)
        gradient = np.bincount(
            design.flat, weights=np.repeat(error, design.lengths), minlength=design.buckets
        )
        weights -= rate * (gradient + l2 * weights)
        bias -= rate * float(error.sum())
    return weights, bias


def save(path: Path, meta: Meta, **arrays: npt.NDArray[Any]) -> None:
    """Write ``arrays`` (in their own dtypes) and ``meta`` (as JSON) to ``path``."""
    import numpy as np

    with path.open("wb") as handle:
        np.savez_compressed(handle, allow_pickle=False, **arrays, meta=np.array(json.dumps(meta)))


def load(
    path: Path,
    fits: Callable[[Meta, FloatArray], bool],
    build: Callable[[Meta, dict[str, FloatArray]], Model],
) -> Model | None:
    """The model ``save`` wrote to ``path``, or None when there is no such file.

    The arrays are read as float64. ``fits(meta, weights)`` says whether the model was built
    for the present feature size (ValueError when not); ``build(meta, arrays)`` makes it.
    """
    if not path.exists():
        return None
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        arrays = {name: data[name].astype(np.float64) for name in data.files if name != "meta"}
    if not fits(meta, arrays["weights"]):
        raise ValueError(f"{path.name}: built for another feature size; retrain it")
    return build(meta, arrays)
