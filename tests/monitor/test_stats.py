"""The drift statistics against values computed by hand on small tables."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import ks_2samp, kstwobign
from sklearn.metrics import roc_auc_score

from mlci.evaluation.metrics import scores
from mlci.monitor import stats


def test_psi__matches_the_hand_computed_value() -> None:
    # shares (0.5, 0.3, 0.2) -> (0.3, 0.3, 0.4): -0.2 ln(0.6) + 0 + 0.2 ln(2)
    expected = -0.2 * math.log(0.6) + 0.2 * math.log(2)
    assert stats.psi(np.array([50, 30, 20]), np.array([30, 30, 40])) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.24079, abs=1e-5)


def test_psi__floors_empty_bins() -> None:
    # the reference's empty bin counts as 1e-4: -0.5 ln(0.5) + (0.5 - 1e-4) ln(0.5 / 1e-4)
    expected = -0.5 * math.log(0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert stats.psi(np.array([10, 0]), np.array([5, 5]), floor=1e-4) == pytest.approx(expected, abs=1e-12)


def test_psi__is_zero_for_the_same_shares() -> None:
    assert stats.psi(np.array([10, 20, 30]), np.array([1, 2, 3])) == 0.0


def test_chi_square__matches_the_hand_computed_value() -> None:
    # rows of 100, columns 80/60/60: expected 40/30/30 per row; (10^2/40 + 10^2/30) * 2 = 11.667 on 2 degrees of
    # freedom, whose p-value is exp(-x / 2).
    statistic, p = stats.chi_square(np.array([50, 30, 20]), np.array([30, 30, 40]))
    assert statistic == pytest.approx(35 / 3, abs=1e-9)
    assert p == pytest.approx(math.exp(-35 / 6), rel=1e-9)


def test_chi_square__leaves_out_bins_empty_on_both_sides() -> None:
    assert stats.chi_square(np.array([50, 0, 30, 20]), np.array([30, 0, 30, 40])) == pytest.approx(
        stats.chi_square(np.array([50, 30, 20]), np.array([30, 30, 40]))
    )
    assert stats.chi_square(np.array([5, 0]), np.array([7, 0])) == (0.0, 1.0), "one bin: nothing to test"


def test_quantile_edges_and_numeric_counts__missing_values_get_their_own_bin() -> None:
    edges = stats.quantile_edges(np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, np.nan]), bins=2)
    assert edges.tolist() == [5.0]
    assert stats.numeric_counts(np.array([1.0, 5.0, 6.0, 100.0, np.nan]), edges).tolist() == [1, 3, 1]


def test_quantile_edges__collapse_on_a_binary_feature() -> None:
    edges = stats.quantile_edges(np.array([0.0] * 70 + [1.0] * 30), bins=10)
    assert edges.tolist() == [0.0, 1.0]
    assert stats.numeric_counts(np.array([0.0, 0.0, 1.0]), edges).tolist() == [0, 2, 1, 0]


def test_category_counts__unseen_categories_share_one_bin() -> None:
    names, ref, new, unseen = stats.category_counts({"a": 3, "b": 1}, {"a": 1, "c": 2, "d": 1, None: 1})
    assert names == ["a", "b", stats.MISSING, stats.UNSEEN]
    assert ref.tolist() == [3, 1, 0, 0] and new.tolist() == [1, 0, 1, 3]
    assert unseen == ["c", "d"]


def test_adjust__benjamini_hochberg_and_bonferroni() -> None:
    # sorted 0.01, 0.03, 0.04 -> 0.01*3/1, 0.03*3/2, 0.04*3/3 = 0.03, 0.045, 0.04; then the running minimum from the top
    assert stats.adjust([0.01, 0.04, 0.03], "benjamini_hochberg") == pytest.approx([0.03, 0.04, 0.04])
    assert stats.adjust([0.01, 0.04, 0.5], "bonferroni") == pytest.approx([0.03, 0.12, 1.0])
    assert stats.adjust([], "bonferroni") == []


def test_weighted_scores__equal_scikit_learn_with_unit_weights() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.1).astype(int)
    p = np.round(np.clip(rng.random(3000) * 0.6 + 0.3 * y, 0, 1), 2)  # rounded: many ties
    names = ["roc_auc", "average_precision", "precision", "recall", "f1", "log_loss", "brier"]
    weighted = stats.WeightedScores(y, p, 0.5).scores(np.ones(len(y)), names)
    assert {k: round(v, 4) for k, v in weighted.items()} == scores(y, p, 0.5)


def test_weighted_scores__a_weight_of_two_counts_a_row_twice() -> None:
    y, p = np.array([0, 1, 0, 1, 0]), np.array([0.1, 0.4, 0.35, 0.8, 0.2])
    doubled = stats.WeightedScores(np.r_[y, y[2]], np.r_[p, p[2]], 0.5).scores(np.ones(6), ["roc_auc"])
    weighted = stats.WeightedScores(y, p, 0.5).scores(np.array([1, 1, 2, 1, 1]), ["roc_auc"])
    assert weighted == pytest.approx(doubled)


def test_bootstrap__intervals_cover_the_value_and_shrink_with_rows() -> None:
    rng = np.random.default_rng(1)

    def interval(n: int, max_rows: int) -> tuple[float, float]:
        y = (rng.random(n) < 0.1).astype(int)
        p = rng.random(n) * 0.6 + 0.3 * y
        value, replicates = stats.bootstrap(y, p, 0.5, ["roc_auc"], 200, 3, max_rows)
        assert value["roc_auc"] == pytest.approx(scores(y, p, 0.5)["roc_auc"], abs=5e-5)
        low, high = stats.interval(replicates["roc_auc"], 0.95)
        assert low < scores(y, p, 0.5)["roc_auc"] < high
        return low, high

    small, large = interval(2_000, 2_000), interval(50_000, 5_000)  # the large one from a 5,000-row sample
    assert (large[1] - large[0]) < (small[1] - small[0]) / 3, "sqrt(25) = 5 times narrower, roughly"


def test_ks_two_sample__statistic_by_hand_and_scipys_p_value() -> None:
    # ECDFs of (1, 2, 3, 4) and (3, 4, 5, 6, 7, 8): at x = 4 they are 1 and 2/6, the largest gap.
    reference, batch = np.array([1.0, 2, 3, 4]), np.array([3.0, 4, 5, 6, 7, 8])
    statistic, p = stats.ks_two_sample(reference, batch)
    assert statistic == pytest.approx(1 - 2 / 6)
    assert p == pytest.approx(ks_2samp(reference, batch, method="exact").pvalue, rel=1e-12)


def test_ks_two_sample__large_samples_match_the_asymptotic_distribution() -> None:
    rng = np.random.default_rng(2)
    reference, batch = rng.normal(0, 1, 20_000), rng.normal(0.05, 1, 30_000)
    statistic, p = stats.ks_two_sample(reference, batch)
    grid = np.sort(np.r_[reference, batch])
    gaps = np.abs(
        np.searchsorted(np.sort(reference), grid, side="right") / 20_000
        - np.searchsorted(np.sort(batch), grid, side="right") / 30_000
    )
    assert statistic == pytest.approx(gaps.max(), abs=1e-12)
    effective = 20_000 * 30_000 / 50_000
    assert p == pytest.approx(kstwobign.sf(np.sqrt(effective) * statistic), rel=0.02)
    assert p == pytest.approx(ks_2samp(reference, batch).pvalue, rel=1e-12)
    assert p < 0.01, "a shift of 0.05 standard deviations is clear on 20,000 and 30,000 rows"


def test_ks_two_sample__the_same_sample_and_an_empty_one() -> None:
    scores = np.random.default_rng(3).random(500)
    assert stats.ks_two_sample(scores, scores) == (0.0, 1.0)
    assert stats.ks_two_sample(scores, np.empty(0)) == (0.0, 1.0)


def test_ks_two_sample__ties_keep_the_test_conservative() -> None:
    # A tree model's scores take few values: on such samples from one distribution the test rejects no more often
    # than its level.
    rng = np.random.default_rng(4)
    values = np.array([0.01, 0.02, 0.05, 0.2, 0.7])
    shares = np.array([0.5, 0.25, 0.15, 0.07, 0.03])
    p_values = [
        stats.ks_two_sample(rng.choice(values, 200, p=shares), rng.choice(values, 800, p=shares))[1] for _ in range(400)
    ]
    assert np.mean(np.array(p_values) < 0.05) <= 0.05


def test_gap_bootstrap__values_and_gap_on_all_rows() -> None:
    rng = np.random.default_rng(5)
    groups = []
    for auc_shift in (0.5, 0.2):
        y = (rng.random(2000) < 0.2).astype(int)
        groups.append((y, np.clip(rng.random(2000) * 0.7 + auc_shift * y, 0, 1)))
    values, gaps, replicates = stats.gap_bootstrap(groups, 0.5, ["roc_auc", "recall"], 100, 0)
    for (y, p), value in zip(groups, values, strict=True):
        assert value["roc_auc"] == pytest.approx(roc_auc_score(y, p))
        assert value["recall"] == pytest.approx(scores(y, p, 0.5)["recall"], abs=5e-5)
    assert gaps["roc_auc"] == pytest.approx(abs(values[0]["roc_auc"] - values[1]["roc_auc"]))
    assert len(replicates["roc_auc"]) == 100 and (replicates["roc_auc"] >= 0).all()
    low, high = stats.interval(replicates["roc_auc"], 0.95)
    assert low < gaps["roc_auc"] < high


def test_gap_bootstrap__a_small_group_widens_the_interval() -> None:
    rng = np.random.default_rng(6)

    def group(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = (rng.random(n) < 0.05).astype(int)
        return y, np.clip(rng.random(n) * 0.6 + 0.35 * y, 0, 1)

    def width(groups) -> float:
        low, high = stats.interval(stats.gap_bootstrap(groups, 0.5, ["recall"], 200, 1)[2]["recall"], 0.95)
        return high - low

    assert width([group(20_000), group(200)]) > 3 * width([group(20_000), group(20_000)])
