"""Paired intervals of a change: point estimates equal scikit-learn's, the two methods agree, seeds reproduce."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from mlci.core.metric_names import METRIC_NAMES
from mlci.evaluation import paired
from mlci.evaluation.metrics import scores
from mlci.evaluation.paired import delong, intervals


def two_models(n: int, seed: int = 0, lift: float = 0.02, digits: int = 3):
    """Scores of a base model and a slightly better head on `n` rows (about 3% positive); rounding makes ties."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.03).astype(int)
    base = np.clip(rng.normal(0.3 + 0.3 * y, 0.2), 0, 1).round(digits)
    head = np.clip(base + rng.normal(lift * y, 0.05), 0, 1).round(digits)
    return y, head, base


def test_intervals__point_estimates_are_the_metrics_of_each_model():
    y, head, base = two_models(5_000)

    found = intervals(y, head, base, (0.5, 0.4), METRIC_NAMES, 0.95)

    new, old = scores(y, head, 0.5), scores(y, base, 0.4)
    for name in METRIC_NAMES:
        assert found[name].delta == pytest.approx(new[name] - old[name], abs=1e-4), name  # scores() rounds to 4


@pytest.mark.parametrize("method", ["analytic", "bootstrap"])
def test_intervals__the_change_lies_inside_its_interval(method):
    y, head, base = two_models(5_000)

    for name, interval in intervals(y, head, base, (0.5, 0.5), METRIC_NAMES, 0.95, method, 500, 1).items():
        assert interval.low <= interval.delta <= interval.high, name


def test_weighted_average_precision__equals_scikit_learn_with_sample_weights():
    y, head, _ = two_models(2_000, digits=2)  # many ties
    counts = np.random.default_rng(5).integers(0, 3, size=(4, len(y))).astype(np.float32)
    scored = paired._Scored(y.astype(np.int8), head, 0.5)

    ours = paired._average_precision(scored, counts[:, scored.order].copy())

    expected = [average_precision_score(y, head, sample_weight=w) for w in counts]
    np.testing.assert_allclose(ours, expected, rtol=1e-6)


def test_average_precision_influence__is_the_gradient_of_the_weighted_metric():
    y, head, _ = two_models(400, seed=3, digits=1)  # coarse scores: ties across classes
    scored = paired._Scored(y.astype(np.int8), head, 0.5)
    gradient = scored.influence("average_precision")
    step = 1e-6

    for row in (0, 7, int(np.flatnonzero(y)[0]), 399):
        weights = np.ones(len(y))
        weights[row] += step
        numeric = (average_precision_score(y, head, sample_weight=weights) - average_precision_score(y, head)) / step
        assert gradient[row] == pytest.approx(numeric, rel=1e-4, abs=1e-9), row


def test_intervals__analytic_and_bootstrap_agree_on_a_large_sample():
    y, head, base = two_models(20_000, seed=2)

    analytic = intervals(y, head, base, (0.5, 0.5), METRIC_NAMES, 0.95)
    bootstrap = intervals(y, head, base, (0.5, 0.5), METRIC_NAMES, 0.95, "bootstrap", 1000, 7)

    for name in METRIC_NAMES:
        a, b = analytic[name], bootstrap[name]
        assert a.delta == pytest.approx(b.delta)
        width_a, width_b = a.high - a.low, b.high - b.low
        assert width_a == pytest.approx(width_b, rel=0.15), f"{name}: {a} vs {b}"
    assert bootstrap["roc_auc"].method == "delong", "ROC AUC keeps DeLong's interval under either method"


def test_delong__matches_a_paired_bootstrap_of_the_auc_difference():
    y, head, base = two_models(3_000, seed=4, lift=0.05)
    rng = np.random.default_rng(0)
    differences = []
    for _ in range(400):
        rows = rng.integers(0, len(y), len(y))
        differences.append(roc_auc_score(y[rows], head[rows]) - roc_auc_score(y[rows], base[rows]))

    interval = delong(y, head, base, 0.95)

    assert interval.delta == pytest.approx(roc_auc_score(y, head) - roc_auc_score(y, base))
    assert (interval.high - interval.low) / 2 / 1.96 == pytest.approx(np.std(differences), rel=0.15)


def test_intervals__identical_models_change_nothing():
    y, head, _ = two_models(1_000)

    for name, interval in intervals(y, head, head, (0.5, 0.5), METRIC_NAMES, 0.95).items():
        assert (interval.delta, interval.low, interval.high) == pytest.approx((0, 0, 0), abs=1e-12), name
        assert interval.contains_zero


def test_intervals__bootstrap_is_seeded():
    y, head, base = two_models(3_000)

    def run(seed):
        return intervals(y, head, base, (0.5, 0.5), ["average_precision", "f1"], 0.95, "bootstrap", 300, seed)

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_intervals__one_class_only_gives_none():
    y = np.zeros(100, dtype=int)
    p = np.linspace(0, 1, 100)

    assert intervals(y, p, p[::-1], (0.5, 0.5), METRIC_NAMES, 0.95) == {}


def test_intervals__bootstrap_blocks_cover_every_resample(monkeypatch):
    monkeypatch.setattr(paired, "BLOCK_CELLS", 1_000)  # blocks of one resample of 1,000 rows
    y, head, base = two_models(1_000)

    small_blocks = intervals(y, head, base, (0.5, 0.5), ["brier"], 0.95, "bootstrap", 200, 3)
    monkeypatch.setattr(paired, "BLOCK_CELLS", 10**9)

    one_block = intervals(y, head, base, (0.5, 0.5), ["brier"], 0.95, "bootstrap", 200, 3)
    # The same draws; only the order of float32 sums differs between block shapes.
    assert (small_blocks["brier"].low, small_blocks["brier"].high) == pytest.approx(
        (one_block["brier"].low, one_block["brier"].high), rel=1e-5
    )
