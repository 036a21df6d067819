"""The metrics `evaluate` writes, each with its direction: the gate, its params and the report all read this list."""

from __future__ import annotations

from typing import Literal

HIGHER_IS_BETTER = {
    "roc_auc": True,
    "average_precision": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "log_loss": False,
    "brier": False,
}
MetricName = Literal[tuple(HIGHER_IS_BETTER)]  # type: ignore[valid-type]  # one list, also a type for params
SEGMENT_METRICS = ("roc_auc", "average_precision", "f1")  # the per-segment columns of the report
