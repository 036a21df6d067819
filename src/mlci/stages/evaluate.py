"""Stage `evaluate`: score the model on the test split.

Reads `models/model.skops`, `data/split/test.parquet`, the schema and the `evaluate` params. Writes, in dvclive's
layout under `reports/eval/` (small, git-tracked, so any revision can be compared without a DVC remote):
- `metrics.json`: ROC AUC, average precision, precision/recall/F1 at `evaluate.threshold`, log loss, Brier;
- `segments.json`: the same per value of `data.segment_column`;
- `plots/sklearn/{roc,precision_recall,calibration,confusion_matrix}.json` and `plots/feature_importance.json`
  (permutation importance on a bounded sample), all declared under `plots:` in `dvc.yaml`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from mlci.core import cli, paths
from mlci.core.frames import read_split
from mlci.core.io import write_json
from mlci.core.params import EvaluateParams, load_params
from mlci.core.schema import Schema
from mlci.evaluation import predictions
from mlci.evaluation.metrics import (
    DIGITS,
    calibration_points,
    confusion_counts,
    pr_points,
    roc_points,
    scores,
    segment_scores,
    segment_values,
)
from mlci.model.pipeline import SMALL_PREDICT_THREADS, columnwise_parts, load_model, set_openmp_wait_policy


def evaluate(model, X, y, segments, params: EvaluateParams, schema: Schema, p=None) -> dict[str, object]:
    """Return every output file's content, keyed by its path under `reports/eval/`. Pure: no file I/O.

    `p`: the model's probabilities on `X`, when the caller has them already.
    """
    p = model.predict_proba(X)[:, 1] if p is None else p
    outputs: dict[str, object] = {
        _name(paths.METRICS): scores(y, p, params.threshold),
        _name(paths.ROC_PLOT): {"roc": roc_points(y, p, params.curve_points)},
        _name(paths.PR_PLOT): {"precision_recall": pr_points(y, p, params.curve_points)},
        _name(paths.CALIBRATION_PLOT): {"calibration": calibration_points(y, p, params.calibration_bins)},
        _name(paths.CONFUSION_PLOT): confusion_counts(y, p, params.threshold, schema.class_labels),
        _name(paths.IMPORTANCE_PLOT): {"feature_importance": importance(model, X, y, params)},
    }
    by_segment = {}
    if segments is not None:
        by_segment = segment_scores(y, p, segments, params.threshold, params.min_segment_rows, params.max_segments)
    outputs[_name(paths.SEGMENTS)] = by_segment
    return outputs


def _name(path: Path) -> str:
    return path.relative_to(paths.EVAL).as_posix()


def importance(model, X, y, params: EvaluateParams) -> list[dict]:
    """Permutation importance (drop in ROC AUC) of each input column, on at most `importance_rows` test rows."""
    import numpy as np
    from sklearn.inspection import permutation_importance
    from threadpoolctl import threadpool_limits

    rows = np.random.default_rng(params.seed).permutation(len(y))[: params.importance_rows]
    rows.sort()
    if len(np.unique(y[rows])) < 2:
        return []
    sample, estimator = X.iloc[rows], model
    with threadpool_limits(limits=SMALL_PREDICT_THREADS):  # dozens of predictions on a few thousand rows
        parts = columnwise_parts(model, list(X.columns))
        if parts is not None:  # preprocess the rows once, not once per shuffle: the same scores (see columnwise_parts)
            preprocess, estimator = parts
            sample = preprocess.transform(sample)
        result = permutation_importance(
            estimator,
            sample,
            y[rows],
            scoring="roc_auc",
            n_repeats=params.importance_repeats,
            random_state=params.seed,
        )
    found = [
        {"feature": name, "importance": round(float(mean), DIGITS), "std": round(float(std), DIGITS)}
        for name, mean, std in zip(X.columns, result.importances_mean, result.importances_std, strict=True)
    ]
    return sorted(found, key=lambda item: (-item["importance"], item["feature"]))


@cli.command("evaluate")
def main(argv: Sequence[str] = ()) -> int:
    cli.no_options(argv, "mlci.stages.evaluate", __doc__)
    set_openmp_wait_policy()  # before scikit-learn loads its OpenMP library

    params = load_params().evaluate
    schema = Schema.load(paths.SCHEMA)
    model = load_model(paths.MODEL)
    X, y, frame = read_split(paths.TEST_SPLIT, schema, extra=(schema.segment_column,))
    segments = segment_values(frame[schema.segment_column]) if schema.segment_column else None
    p = model.predict_proba(X)[:, 1]
    for name, content in evaluate(model, X, y, segments, params, schema, p).items():
        write_json(paths.EVAL / name, content)
    predictions.save(p, paths.MODEL, paths.TEST_SPLIT)  # for the gate, which scores the base model on these rows
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
