"""Same rows, end to end: real pipeline runs in temporary repositories, judged by `same_rows`, the gate and the report.

Base: the demo at 4,000 rows, reproduced and committed. Heads:
- the holiday retrain (a 2,000-row holiday batch taken in): new test rows the base never saw; the retrained model is
  judged against the base model on them and passes, where the committed numbers say it lost ROC AUC;
- a much weaker model (`max_iter: 5`): fails on the same rows;
- a dropped feature: the base model cannot read the head's rows, so the gate falls back and says why;
- copies of the holiday head with the base model tampered with, missing (no cache, no remote), or only on a remote.
And a second base with a random split, whose head only reshuffles the split: the rows the base model trained on are
left out, and what remains is noise, not a regression.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from mlci.core import paths
from mlci.core.params import load_params
from mlci.evaluation import baseline
from mlci.evaluation.samerows import Committed, SameRows, compare, same_rows
from projectkit import clone, commit, dvc, edit_params, new_project, run

pytestmark = pytest.mark.slow
SMALL = {
    "demo": {"n_rows": 4000},
    "evaluate": {"importance_rows": 500, "importance_repeats": 1},
    "gate": {"floors": {"roc_auc": 0.5, "average_precision": 0.1}},  # at this size only the regressions are judged
}


def reproduce(root: Path) -> None:
    dvc(root, "repro", "--quiet")


def judge_here(root: Path, monkeypatch: pytest.MonkeyPatch):
    """`same_rows` against HEAD, run in `root` as the gate runs it."""
    monkeypatch.chdir(root)
    params = load_params()
    return same_rows(run(root, "git", "rev-parse", "HEAD").stdout.strip(), params.gate, params.evaluate)


def cached_model(root: Path) -> Path:
    """The base model's file in the DVC cache (the one HEAD's dvc.lock records)."""
    lock = run(root, "git", "show", "HEAD:dvc.lock").stdout
    md5 = baseline.locked_outputs(lock)[str(paths.MODEL)]
    return root / ".dvc/cache/files/md5" / md5[:2] / md5[2:]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = new_project(tmp_path_factory.mktemp("base") / "project", params=SMALL, message="project")
    reproduce(root)
    commit(root, "base run")
    return root


@pytest.fixture(scope="module")
def holiday(base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base plus a holiday batch taken in and reproduced (uncommitted, as CI sees a pull request)."""
    root = clone(base, tmp_path_factory.mktemp("holiday") / "project")
    batch = "data/incoming/batch.parquet"
    batch_args = ["--season", "holiday", "--rows", "2000", "--seed", "7", "--out", batch]
    run(root, "python", "-m", "mlci.stages.helpers.batch", *batch_args)
    run(root, "python", "-m", "mlci.monitor.intake", "--batch", batch)
    reproduce(root)
    return root


def test_holiday_retrain__judged_on_the_same_new_rows(holiday, monkeypatch):
    result = judge_here(holiday, monkeypatch)

    assert isinstance(result, SameRows), result
    test_rows = len(pd_read(holiday / paths.TEST_SPLIT))
    assert (result.rows, result.test_rows, result.excluded) == (test_rows, test_rows, 0), "new rows: none left out"
    assert result.base_source == "DVC cache"
    committed = json.loads((holiday / paths.METRICS).read_text())
    assert result.head == committed, "the head model on its own test rows gives its committed metrics"
    base_roc = result.metrics["roc_auc"]
    assert base_roc.interval is not None and base_roc.interval.method == "delong"
    assert base_roc.interval.low <= base_roc.head - base_roc.base <= base_roc.interval.high
    assert set(result.segments) == {"online", "in_store", "mobile"}


def test_holiday_retrain__the_gate_passes_and_the_report_shows_the_same_rows(holiday):
    gate = run(holiday, "python", "-m", "mlci.review.gate", "--base", "HEAD", check=False)
    committed_base = json.loads(run(holiday, "git", "show", "HEAD:reports/eval/metrics.json").stdout)
    committed_head = json.loads((holiday / paths.METRICS).read_text())

    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "base and head models scored on the same" in gate.stdout
    assert committed_head["roc_auc"] < committed_base["roc_auc"], "on other rows the committed numbers disagree"

    run(holiday, "python", "-m", "mlci.review.report", "--base", "HEAD", "--no-png")
    text = (holiday / "report/report.md").read_text()
    verdict = json.loads((holiday / "report/gate.json").read_text())
    assert "**Quality gate: passed.**" in text
    assert "### Metrics on the same rows" in text and "### Segments on the same rows" in text
    assert text.index("### Metrics on the same rows") < text.index("### Committed metrics")
    assert "**measured on other rows**: the data it splits changed" in text
    assert verdict["comparison"]["kind"] == "same_rows" and verdict["comparison"]["reason"] is None
    assert verdict["comparison"]["metrics"]["roc_auc"]["interval"]["method"] == "delong"


def test_weaker_model__still_fails_on_the_same_rows(base, tmp_path):
    # At the demo's 50,000 rows `max_iter: 5` is enough; on 800 test rows only a clearly worse model is beyond noise.
    root = clone(base, tmp_path / "project")
    stump = {"max_iter": 1, "max_leaf_nodes": 2, "early_stopping": False}  # one split on one feature
    edit_params(root, {"train": {"hist_gradient_boosting": stump}})
    reproduce(root)

    gate = run(root, "python", "-m", "mlci.review.gate", "--base", "HEAD", check=False)

    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "fell by" in gate.stdout and "vs base on the same" in gate.stdout


def test_dropped_field__falls_back_to_the_committed_metrics_and_says_why(base, tmp_path, monkeypatch):
    root = clone(base, tmp_path / "project")
    edit_params(root, {"data": {"drop_columns": ["account_age_days"]}})
    reproduce(root)

    result = judge_here(root, monkeypatch)

    assert result == Committed(
        "the base model reads fields the head's test split no longer has (account_age_days)", cause="fields"
    )
    gate = run(root, "python", "-m", "mlci.review.gate", "--base", "HEAD", check=False)
    assert "compared with the base's committed metrics, measured on its own test rows: the base model reads" in (
        gate.stdout
    )


def test_tampered_base_model__is_refused_not_loaded(holiday, tmp_path, monkeypatch):
    root = clone(holiday, tmp_path / "project")
    model = cached_model(root)
    model.chmod(0o644)
    model.write_bytes(model.read_bytes()[:-10] + b"0123456789")

    def never(*args):
        raise AssertionError("a model whose bytes do not match dvc.lock was loaded")

    monkeypatch.setattr(baseline, "_load", never)
    result = judge_here(root, monkeypatch)

    assert isinstance(result, Committed) and result.cause == "mismatch"
    assert result.reason.startswith("models/model.skops from the DVC cache does not match the base's dvc.lock")
    assert result.reason.endswith("refused, not loaded")


def test_no_cache_and_no_remote__falls_back_with_one_line(holiday, tmp_path, monkeypatch):
    root = clone(holiday, tmp_path / "project")
    shutil.rmtree(root / ".dvc/cache")

    result = judge_here(root, monkeypatch)

    assert isinstance(result, Committed) and result.cause == "not-found"
    assert result.reason.startswith("models/model.skops at the base (md5 ")
    assert result.reason.endswith("is not in the DVC cache and no DVC remote is configured")
    gate = run(root, "python", "-m", "mlci.review.gate", "--base", "HEAD", check=False)
    data = [line for line in gate.stdout.splitlines() if "committed metrics" in line]
    assert len(data) == 1, gate.stdout


def test_base_model_only_on_the_remote__is_fetched_and_verified(holiday, tmp_path, monkeypatch):
    root = clone(holiday, tmp_path / "project")
    store = tmp_path / "remote"
    dvc(root, "remote", "add", "--local", "--default", "store", str(store))
    dvc(root, "push", "--quiet", "--all-commits")  # as main's CI pushes main's outputs
    shutil.rmtree(root / ".dvc/cache")

    result = judge_here(root, monkeypatch)

    assert isinstance(result, SameRows), result
    assert result.base_source == "DVC remote 'store'"


@pytest.fixture(scope="module")
def random_split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    params = {**SMALL, "data": {"time_column": None}}
    root = new_project(tmp_path_factory.mktemp("random") / "project", params=params, message="project")
    reproduce(root)
    commit(root, "base run")
    edit_params(root, {"split": {"seed": 7}})
    reproduce(root)
    return root


def test_reshuffled_split__rows_the_base_trained_on_are_left_out_and_the_rest_is_noise(random_split, monkeypatch):
    result = judge_here(random_split, monkeypatch)

    assert isinstance(result, SameRows), result
    assert 0.6 * result.test_rows < result.excluded < 0.95 * result.test_rows, "about 80% were base training rows"
    assert result.rows == result.test_rows - result.excluded
    for name in ("roc_auc", "average_precision"):
        assert result.metrics[name].interval.contains_zero, (name, result.metrics[name])
    gate = run(random_split, "python", "-m", "mlci.review.gate", "--base", "HEAD", check=False)
    assert gate.returncode == 0, gate.stdout
    assert "the base model trained on" in gate.stdout


def test_compare__each_model_at_its_own_threshold():
    import numpy as np

    from mlci.core.params import GateParams
    from mlci.evaluation.metrics import scores

    rng = np.random.default_rng(1)
    y = (rng.random(2_000) < 0.1).astype(int)
    p = np.clip(rng.normal(0.2 + 0.4 * y, 0.2), 0, 1)

    result = compare(y, p, p, (0.5, 0.3), GateParams(), np.array(["a", "b"] * 1_000))

    assert result.head == scores(y, p, 0.5) and result.base == scores(y, p, 0.3)
    assert result.metrics["roc_auc"].interval.delta == 0
    assert {name: s.rows for name, s in result.segments.items()} == {"a": 1_000, "b": 1_000}


def pd_read(path: Path):
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pandas()


def test_params__the_gate_section_documents_its_interval_settings():
    params = yaml.safe_load((Path(__file__).parents[2] / "params.yaml").read_text())

    assert params["gate"]["noise"] == "interval"
    assert params["gate"]["interval"] == {"confidence": 0.95, "method": "analytic", "resamples": 1000, "seed": 42}
