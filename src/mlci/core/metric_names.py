"""The metrics `evaluate` writes, each with its direction: the gate, its params and the report all read this list."""

from __future__ import annotations

from typing import Literal, get_args

# A type for params (pydantic names the choices in this order); tests/core/test_metric_names.py holds it equal to the
# keys of HIGHER_IS_BETTER.
MetricName = Literal["roc_auc", "average_precision", "precision", "recall", "f1", "log_loss", "brier"]
METRIC_NAMES: tuple[MetricName, ...] = get_args(MetricName)
HIGHER_IS_BETTER: dict[str, bool] = {
    "roc_auc": True,
    "average_precision": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "log_loss": False,
    "brier": False,
}
# The headline metrics: the per-segment columns of the report and the model card, the registry's listing, a release's
# metadata.
KEY_METRICS: tuple[MetricName, ...] = ("roc_auc", "average_precision", "f1")
