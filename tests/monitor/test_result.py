"""The drift check's result: `drift.json` key for key, and read back as it was written."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlci.core.errors import DataError
from mlci.monitor import drift
from mlci.monitor.params import MonitorParams
from mlci.monitor.result import (
    Decay,
    DriftResult,
    Fairness,
    FeatureDrift,
    MetricDecay,
    MetricGap,
    Rows,
    ScoreDrift,
    read,
)
from mlci.stages.helpers.demo import generate


def judged() -> DriftResult:
    """A result with every part judged: a categorical feature that drifted, decay, and a flagged gap."""
    return DriftResult(
        features=[
            FeatureDrift("channel", "categorical", 3, ["kiosk"], 0.31, 412.5, 1e-9, 1e-8, True, "major", 0.1),
            FeatureDrift("amount", "numeric", 10, None, 0.02, 9.1, 0.43, 0.57, False, "none", 0.1),
        ],
        score=ScoreDrift(
            psi=0.12, ks=0.08, p_value=1e-5, p_adjusted=2e-5, drifted=True, severity="moderate", threshold=0.1
        ),
        decay=Decay(
            rows=5000,
            positives=140,
            confidence=0.95,
            metrics={"roc_auc": MetricDecay(0.91, 0.8, 0.77, 0.83, 0.11, 0.07, 0.15, 0.05, True)},
        ),
        fairness=Fairness(
            column="channel",
            confidence=0.95,
            metrics={
                "recall": MetricGap(
                    0.05, 0.2, 0.15, 0.08, 0.22, 0.05, {"online": 0.5, "in_store": 0.7}, {"online": 0.6}, True
                )
            },
        ),
        rows=Rows(batch=5000, scored=5000, reference=16000, unlabelled=12),
        params=MonitorParams(),
        seconds=1.25,
        batch="incoming.parquet",
    )


def test_to_json__the_keys_of_drift_json_in_their_order() -> None:
    data = judged().to_json()

    assert list(data) == [
        "features", "score", "decay", "fairness", "drifted_features", "verdict", "retrain", "rows", "thresholds",
        "seconds", "batch",
    ]  # fmt: skip
    categorical, numeric = data["features"]
    assert list(categorical) == [
        "feature", "kind", "bins", "unseen", "psi", "chi2", "p_value", "p_adjusted", "drifted", "severity", "threshold"
    ]  # fmt: skip
    assert "unseen" not in numeric
    assert list(data["score"]) == ["psi", "test", "ks", "p_value", "p_adjusted", "drifted", "severity", "threshold"]
    assert data["score"]["test"] == "kolmogorov_smirnov"
    assert list(data["decay"]) == ["computed", "rows", "positives", "confidence", "metrics", "decayed"]
    assert list(data["fairness"]) == ["computed", "column", "confidence", "metrics", "flagged"]
    assert list(data["rows"]) == ["batch", "scored", "reference", "unlabelled"]
    assert set(data["thresholds"]) == {"max_rows", "seed", "drift", "decay", "fairness"}
    assert (data["drifted_features"], data["verdict"], data["retrain"]) == (["channel"], "drift and decay", True)
    assert data["decay"]["decayed"] and data["fairness"]["flagged"]


def test_to_json__what_was_not_judged_says_why() -> None:
    no_labels = "the batch has no labels"
    result = replace(
        judged(), decay=Decay(reason=no_labels), fairness=Fairness(reason=no_labels), seconds=None, batch=None
    )

    data = result.to_json()

    assert data["decay"] == {"computed": False, "reason": "the batch has no labels", "decayed": False}
    assert data["fairness"] == {"computed": False, "reason": "the batch has no labels", "flagged": False}
    assert "seconds" not in data and "batch" not in data, "set only once the check has run on a file"
    assert data["verdict"] == "drift" and result.alarms == ["drift"]


def test_from_json__reads_back_what_it_wrote() -> None:
    result = judged()

    assert DriftResult.from_json(json.loads(json.dumps(result.to_json()))) == result


def test_read__the_file_the_check_wrote(monitored: Path) -> None:
    pq.write_table(pa.concat_tables(generate(3000, 21, "holiday")), "batch.parquet")
    assert drift.main(["--batch", "batch.parquet"]) == 1
    path = monitored / "reports/drift/drift.json"

    result = read(path)

    assert result.to_json() == json.loads(path.read_text())
    assert result.retrain and result.decay.computed and result.fairness.computed and result.batch == "batch.parquet"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "drift.json not found; run the drift check (python -m mlci.monitor.drift) first"),
        ("{not json", "drift.json is not JSON (Expecting property name"),
        ("[]", "drift.json is not a report of the drift check (list indices must be integers"),
        ('{"features": []}', "drift.json is not a report of the drift check (no 'score'); run the check again"),
    ],
    ids=["missing", "not-json", "not-a-mapping", "incomplete"],
)
def test_read__not_a_report_of_the_check(tmp_dir: Path, text: str | None, message: str) -> None:
    if text is not None:
        (tmp_dir / "drift.json").write_text(text)

    with pytest.raises(DataError) as caught:
        read(tmp_dir / "drift.json")

    assert message in str(caught.value)


def test_read__a_score_of_another_test(tmp_dir: Path) -> None:
    data = judged().to_json()
    data["score"]["test"] = "anderson_darling"
    (tmp_dir / "drift.json").write_text(json.dumps(data))

    with pytest.raises(DataError, match=r"\(score test 'anderson_darling', not 'kolmogorov_smirnov'\)"):
        read(tmp_dir / "drift.json")
