"""The learned second opinion: features, training, the shipped model and how it combines."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from knowledge.emergency import Tier, assess
from knowledge.emergency.model import BUCKETS, default_model, features, fit, load_model
from knowledge.emergency.train import train
from knowledge.training import TRAINING_SETS


def test_features_are_folded_hashed_and_stable() -> None:
    """The same words with or without å/ä/ö give the same buckets, always in range."""
    assert features("Hon vågar inte gå hem") == features("hon vagar inte ga hem")
    assert all(0 <= bucket < BUCKETS for bucket in features("eleven har skurit sig"))
    assert features("") == []


def test_fit_learns_a_separable_toy_problem() -> None:
    """Words seen only with emergencies get positive weight, the others negative."""
    texts = ["barnet blöder nu", "blöder mycket", "vem kallar till sip", "sip kallelse"] * 5
    labels = [True, True, False, False] * 5
    weights, bias = fit(texts, labels, epochs=200)
    score = lambda text: bias + float(weights[features(text)].sum())  # noqa: E731
    assert score("hon blöder") > 0 > score("kallelse till sip")


def test_the_shipped_model_is_what_the_listed_sets_train() -> None:
    """Training is deterministic: the committed model.npz is reproducible from the sets."""
    shipped = load_model()
    assert shipped is not None
    assert shipped.trained_on == TRAINING_SETS
    fresh = train()
    assert np.allclose(fresh.weights, shipped.weights, atol=1e-3)
    assert abs(fresh.bias - shipped.bias) < 1e-6


def test_the_newest_blind_set_is_not_training_data() -> None:
    """The set that measures the model must not be one it learned from."""
    assert not any(name.startswith("realistic10") for name in TRAINING_SETS)


@given(st.text(max_size=300))
def test_probability_is_a_probability(text: str) -> None:
    """Any text gets a probability in [0, 1]."""
    model = default_model()
    assert model is not None
    assert 0.0 <= model.probability(text) <= 1.0


def test_the_model_catches_a_phrasing_no_signal_names() -> None:
    """An unseen indirect phrasing is raised by the model, a calm or meta one is not."""
    text = "hon står uppe på räcket vid bron och vill inte prata med någon, jag står bredvid"
    assert assess(text).tier is Tier.CLEAR
    calm = "ingen akut fara, men förra året stod en elev på räcket vid bron"
    assert assess(calm).tier is not Tier.CLEAR


def test_signals_work_without_the_model() -> None:
    """With no model the signals decide alone (a deployment may remove the file)."""
    assert assess("eleven har skurit sig och sitter hos mig nu", model=False).tier is Tier.CLEAR
    assert assess("vem kallar till sip", model=False).tier is Tier.NONE
