"""The artifact layout: where each stage writes what the next one reads, spelled once.

`dvc.yaml` lists the same paths (a test checks that they agree); everything here is relative to the project root.
"""

from __future__ import annotations

from pathlib import Path

PARAMS = Path("params.yaml")
LOCK = Path("dvc.lock")

DEMO_DATA = Path("data/demo/transactions.parquet")
RAW = Path("data/raw/data.parquet")
VALIDATED = Path("data/validated/data.parquet")
SCHEMA = Path("data/validated/schema.json")
PROFILE = Path("reports/data_profile.json")
TRAIN_SPLIT = Path("data/split/train.parquet")
TEST_SPLIT = Path("data/split/test.parquet")
MODEL = Path("models/model.skops")
MODEL_METADATA = Path("models/metadata.json")

EVAL = Path("reports/eval")
METRICS = EVAL / "metrics.json"
SEGMENTS = EVAL / "segments.json"
PLOTS = EVAL / "plots"
ROC_PLOT = PLOTS / "sklearn/roc.json"
PR_PLOT = PLOTS / "sklearn/precision_recall.json"
CALIBRATION_PLOT = PLOTS / "sklearn/calibration.json"
CONFUSION_PLOT = PLOTS / "sklearn/confusion_matrix.json"
IMPORTANCE_PLOT = PLOTS / "feature_importance.json"

DIST = Path("dist")  # release packages: dist/<model>-v<version>/ and its .tar.gz
