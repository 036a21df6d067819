"""What `test_gate` and `test_report` share.

The two recorded pipeline runs and the gate they were judged by.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlci.core.params import GateParams

FIXTURES = Path(__file__).parent / "fixtures" / "report"
BASE_METRICS = json.loads((FIXTURES / "base/reports/eval/metrics.json").read_text())
HEAD_METRICS = json.loads((FIXTURES / "head/reports/eval/metrics.json").read_text())
# The gate section of the project's params.yaml when the fixtures were made.
PROJECT_GATE = GateParams(
    floors={"roc_auc": 0.8, "average_precision": 0.3},
    max_regression={"roc_auc": 0.01, "average_precision": 0.02},
    noise_tolerance=0.002,
)
