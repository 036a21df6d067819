"""The release's pipeline applied to request columns, with scikit-learn's per-call pandas overhead skipped.

A one-row `predict_proba` through the pipeline costs ~4.5 ms, ~3 ms of it in the `ColumnTransformer` handling a
pandas frame (column selection by name, dataframe detection, feature-name checks), not in the model. For the shape
our pipelines have (`model.pipeline.build_pipeline`: a `ColumnTransformer` over named columns, then one estimator),
`Predictor` runs the same fitted objects in the same order on NumPy arrays: each fitted column transformer's own
`transform` on its columns (or the columns themselves, for "passthrough"), joined in the transformer's output order,
then the estimator's `predict_proba`. Nothing is re-implemented or re-fitted, so the numbers are the pipeline's own
(the serving tests check it against `predict_proba` on the test split to 1e-12, for every model family). Any other
shape (sparse output, pandas output, a remainder, a custom step) goes through the pipeline with a pandas frame.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

# The fitted column transformers were fitted on a frame; given arrays, scikit-learn warns once that they have no
# column names. The arrays hold exactly the columns each transformer was fitted on, in its order.
_NO_NAMES = "X does not have valid feature names"


class Predictor:
    """`positive_probabilities(columns)`: the probability of the positive class for each row of the columns."""

    def __init__(self, model: Any, numeric: list[str]) -> None:
        self.model = model
        self.numeric = set(numeric)
        self.steps = _direct_steps(model)
        if self.steps is not None:
            warnings.filterwarnings("ignore", message=_NO_NAMES, category=UserWarning)

    @property
    def direct(self) -> bool:
        return self.steps is not None

    def positive_probabilities(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        if self.steps is None:
            return self.model.predict_proba(self.frame(columns))[:, 1]
        parts, estimator = self.steps
        blocks = []
        for transformer, names in parts:
            dtype = np.float64 if all(name in self.numeric for name in names) else object
            block = np.column_stack([columns[name] for name in names]).astype(dtype, copy=False)
            if transformer is not None:
                block = transformer.transform(block)
                block = block.toarray() if hasattr(block, "toarray") else block  # as ColumnTransformer densifies
            blocks.append(block)
        return estimator.predict_proba(np.hstack(blocks))[:, 1]

    @staticmethod
    def frame(columns: dict[str, np.ndarray]):
        import pandas as pd

        return pd.DataFrame(columns, copy=False)


def _direct_steps(model: Any) -> tuple[list[tuple[Any, list[str]]], Any] | None:
    """(each fitted column transformer or None for passthrough, with its columns; the estimator), or None."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        return None
    (_, columns), (_, estimator) = model.steps
    if not isinstance(columns, ColumnTransformer) or not hasattr(columns, "transformers_"):
        return None
    if getattr(columns, "sparse_output_", True) or getattr(columns, "_sklearn_output_config", {}).get("transform"):
        return None
    parts = []
    for _, transformer, names in columns.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
            return None
        if isinstance(transformer, str):
            if transformer != "passthrough":
                return None
            parts.append((None, names))
        elif isinstance(transformer, FunctionTransformer) and transformer.func is None:
            parts.append((None, names))  # how a fitted ColumnTransformer holds "passthrough"
        elif getattr(transformer, "_sklearn_output_config", {}).get("transform"):
            return None
        else:
            parts.append((transformer, names))
    return parts, estimator
