"""Time the pulse aggregation on 100,000 answers: ``python benchmarks/pulse_aggregate.py``.

Two paths are measured on the same synthetic answers (five questions, about one in ten
skipped):

- ``aggregate_counts``: the production path. Storage runs ``GROUP BY question_key, score``
  and hands the (at most 25) rows over; the figures here cover turning those rows into
  results. The database part is timed by ``benchmarks/pulse.py``.
- ``aggregate``: the same results computed from 100,000 answer mappings in Python.

The rendering that follows an aggregation (text and PNG) is timed too, since it is part of
what the organiser waits for. Exits with status 1 when a path breaks its budget.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handlers.pulse.render import ResultsCard, render_results_png, results_details
from storage.pulse.logic import aggregate, aggregate_counts, histograms_from_rows
from storage.pulse.templates import load_templates

BUDGET_MS = 200.0


def _answers(questions: tuple[str, ...], count: int, seed: int) -> list[dict[str, int | None]]:
    rng = random.Random(seed)
    weights = (1, 2, 4, 6, 5)
    answers: list[dict[str, int | None]] = []
    for _ in range(count):
        answers.append(
            {
                key: None if rng.random() < 0.1 else rng.choices((1, 2, 3, 4, 5), weights)[0]
                for key in questions
            }
        )
    return answers


def _group_by(answers: list[dict[str, int | None]]) -> list[tuple[str, int, int]]:
    """What ``SELECT question_key, score, count(*) ... GROUP BY question_key, score`` returns."""
    counter: Counter[tuple[str, int]] = Counter()
    for answer in answers:
        for key, score in answer.items():
            if score is not None:
                counter[key, score] += 1
    return [(key, score, number) for (key, score), number in sorted(counter.items())]


def _time_ms(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        timings.append((time.perf_counter() - start) * 1000)
    return min(timings), statistics.median(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    template = load_templates()["barnteam"]
    questions = template.question_keys
    answers = _answers(questions, args.answers, seed=2026)
    rows = _group_by(answers)
    results = aggregate_counts(questions, histograms_from_rows(rows), len(answers), k=3)
    assert results == aggregate(questions, answers, k=3), "the two paths disagree"

    figures = {
        "aggregate_counts (GROUP BY rows -> results)": _time_ms(
            lambda: aggregate_counts(questions, histograms_from_rows(rows), len(answers), 3),
            args.repeat * 20,
        ),
        f"aggregate ({len(answers):,} answer mappings)": _time_ms(
            lambda: aggregate(questions, answers, 3), args.repeat
        ),
        "results_details (200 comments, last page)": _time_ms(
            lambda: results_details(
                ResultsCard(results, template, "Möte", None), ["Bra möte."] * 200, "sv", 99
            ),
            args.repeat,
        ),
        "render_results_png": _time_ms(
            lambda: render_results_png(results, template, "sv"), args.repeat
        ),
    }
    print(f"pulse aggregation, {len(answers):,} answers, {len(questions)} questions")
    for name, (best, median) in figures.items():
        print(f"  {name:<48} best {best:8.2f} ms   median {median:8.2f} ms")
    slow = [
        name
        for name, (_, median) in figures.items()
        if name.startswith("aggregate") and median > BUDGET_MS
    ]
    if slow:
        print(f"over the {BUDGET_MS:.0f} ms budget: {', '.join(slow)}")
        return 1
    print(f"both aggregation paths within the {BUDGET_MS:.0f} ms budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
