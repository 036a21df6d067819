"""What `test_gate` and `test_report` share.

The two recorded pipeline runs, the gate they were judged by, and a git environment that reads no user or system
configuration.
"""

from __future__ import annotations

import json
import os
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
GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
