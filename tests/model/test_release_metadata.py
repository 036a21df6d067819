"""The release's metadata record: what deploy writes comes back the same, old packages load, bad fields are named."""

from __future__ import annotations

import json
import math
import tarfile
from pathlib import Path

import pytest
from pydantic import ValidationError

from mlci.core.errors import ReleaseError
from mlci.core.io import write_json
from mlci.model.release_metadata import ReleaseMetadata, parse_metadata

ROOT = Path(__file__).resolve().parents[2]
OLD_ARCHIVE = ROOT / "tests/fixtures/release_before_model_package/lightgbm-demo-v1.0.0.tar.gz"
MINIMAL = {"version": "1.0.0", "threshold": 0.5, "class_labels": {"0": "legit", "1": "fraud"}}


def full() -> dict:
    """Every key `deploy` writes, with the kinds of values it writes (ints among floats, nulls, nested objects)."""
    return {
        "name": "fraud-model",
        "version": "1.1.0",
        "tag": "fraud-model@v1.1.0",
        "bump": {"level": "minor", "reasons": ["field 'country' added"]},
        "git_sha": "a" * 40,
        "commit_time": "2026-01-02T03:04:05+00:00",
        "uncommitted_changes": False,
        "threshold": 0.4,
        "class_labels": {"0": "False", "1": "True"},
        "segment_column": None,
        "features": ["amount", "channel"],
        "params": {"train": {"model": "hist_gradient_boosting", "seed": 42}, "evaluate": {"threshold": 0.4}},
        "libraries": {"python": "3.11.7", "scikit-learn": "1.5.0"},
        "training": {"rows": 1600, "trained_at": "2026-01-02T03:04:05+00:00"},
        "lineage": {
            "source": {},
            "data": {"data/raw/data.parquet": "d" * 32},
            "model": {"models/model.skops": "m" * 32},
        },
        "challenge": {
            "passed": True,
            "verdict": "gate passed: floors met (roc_auc) on 200 test rows; no production model yet",
            "rows": 200,
            "challenger": {"roc_auc": 0.91, "f1": 0.5},
            "champion": None,
            "champion_version": None,
            "note": "no production model yet: only the floors apply",
            "reasons": [],
            "comparison": None,
        },
        "model": {
            "model": "hist_gradient_boosting",
            "hyperparameters": {"max_iter": 30, "learning_rate": 0.1, "early_stopping": True},
            "seed": 42,
            "class_weight": None,
            "features": {"numeric": ["amount"], "categorical": ["channel"]},
            "target": "is_fraud",
            "class_labels": {"0": "False", "1": "True"},
            "train_rows": 1600,
            "train_positive_rate": 0.05,
            "versions": {"package": "0.1.0", "scikit-learn": "1.5.0"},
        },
        "metrics": {"roc_auc": 0.91, "average_precision": 0.6, "log_loss": 0.2, "brier": 1},
        "segments": {"web": {"rows": 120, "roc_auc": 0.9, "f1": None}},
        "data_profile": {"rows": 2000, "positive_rate": 0.05, "null_rates": {"age": 0.1}},
    }


def test_to_json__what_deploy_writes_comes_back_the_same_bytes(tmp_path: Path) -> None:
    written = full()

    record = parse_metadata(written)
    write_json(tmp_path / "direct.json", written)
    write_json(tmp_path / "through.json", record.to_json())

    assert record.to_json() == written
    assert (tmp_path / "through.json").read_bytes() == (tmp_path / "direct.json").read_bytes()
    assert parse_metadata(json.loads((tmp_path / "through.json").read_text())) == record


def test_parse_metadata__typed_fields() -> None:
    record = parse_metadata(full())

    assert (record.version, record.threshold, record.class_labels["1"]) == ("1.1.0", 0.4, "True")
    assert record.bump.level == "minor" and record.challenge.passed and record.challenge.champion is None
    assert record.model.features.categorical == ["channel"] and record.model.train_rows == 1600
    assert record.lineage.model == {"models/model.skops": "m" * 32} and record.training.rows == 1600
    assert record.metrics["brier"] == 1 and isinstance(record.metrics["brier"], int), "an int stays an int"


def test_parse_metadata__a_not_a_number_metric_is_kept(tmp_path: Path) -> None:
    written = full() | {"metrics": {"roc_auc": math.nan}}
    write_json(tmp_path / "direct.json", written)
    write_json(tmp_path / "through.json", parse_metadata(written).to_json())

    assert (tmp_path / "through.json").read_bytes() == (tmp_path / "direct.json").read_bytes()


def test_parse_metadata__the_metadata_of_a_package_built_before_the_record(tmp_path: Path) -> None:
    with tarfile.open(OLD_ARCHIVE) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/metadata.json"))
        raw = json.loads(tar.extractfile(member).read())  # type: ignore[union-attr]

    record = parse_metadata(raw)

    assert sorted(raw) == ["class_labels", "git_sha", "metrics", "name", "threshold", "version"]
    assert (record.name, record.version, record.threshold, record.metrics) == (
        "lightgbm-demo",
        "1.0.0",
        0.5,
        {"roc_auc": 0.0},
    )
    assert record.model is None and record.challenge is None and record.segments == {} and record.features is None
    assert record.to_json() == raw, "written again, it stays as it was: no keys added"


def test_parse_metadata__unknown_keys_are_kept_and_written_again() -> None:
    """A package from a newer deploy loads here, and nothing it says is lost."""
    written = MINIMAL | {"drift_reference": {"rows": 5}, "challenge": {"passed": True, "verdict": "v", "speed": 2}}

    record = parse_metadata(written)

    assert record.model_extra == {"drift_reference": {"rows": 5}}
    assert record.challenge.model_extra == {"speed": 2}
    assert record.to_json() == written


def test_release_metadata__is_frozen() -> None:
    record = parse_metadata(MINIMAL)

    with pytest.raises(ValidationError, match="frozen"):
        record.version = "2.0.0"  # type: ignore[misc]


BAD = [
    pytest.param({"version": None}, 'metadata.json version must be a version such as "1.2.0"; got None', id="version"),
    pytest.param({"version": ""}, "metadata.json version must be a version such as \"1.2.0\"; got ''", id="empty"),
    pytest.param({"threshold": 1}, "metadata.json threshold must be a number between 0 and 1; got 1", id="threshold"),
    pytest.param(
        {"threshold": True}, "metadata.json threshold must be a number between 0 and 1; got True", id="bool-threshold"
    ),
    pytest.param(
        {"class_labels": {"0": "legit", "1": 1}},
        """metadata.json class_labels must map "0" and "1" to labels; got {'0': 'legit', '1': 1}""",
        id="label-type",
    ),
    pytest.param(
        {"bump": {"level": "huge", "reasons": []}},
        "metadata.json bump.level must be 'first', 'major', 'minor' or 'patch'; got 'huge'",
        id="choice",
    ),
    pytest.param({"model": {"seed": 42}}, "metadata.json model.model is required", id="missing-nested"),
    pytest.param({"lineage": ["a"]}, "metadata.json lineage must be a JSON object; got ['a']", id="not-a-mapping"),
    pytest.param(
        {"challenge": {"passed": True, "verdict": "v", "champion": {"roc_auc": "high"}}},
        "metadata.json challenge.champion.roc_auc must be a valid number; got 'high'",
        id="number-said-once",
    ),
    pytest.param(
        {"uncommitted_changes": "no", "features": "amount"},
        "metadata.json uncommitted_changes must be a valid boolean; got 'no'; "
        "metadata.json features must be a valid list; got 'amount'",
        id="each-field",
    ),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_parse_metadata__a_bad_field_is_named_with_what_it_must_be(change: dict, message: str) -> None:
    with pytest.raises(ReleaseError) as raised:
        parse_metadata(MINIMAL | change)

    assert str(raised.value) == message


def test_parse_metadata__names_where_it_came_from() -> None:
    with pytest.raises(ReleaseError, match=r"^the release metadata training\.rows must be a valid integer; got 1\.5$"):
        parse_metadata(MINIMAL | {"training": {"rows": 1.5}}, where="the release metadata")


@pytest.mark.parametrize("raw", [[], "1.0.0", None])
def test_parse_metadata__not_an_object(raw: object) -> None:
    with pytest.raises(ReleaseError, match=r"^metadata\.json is not a JSON object$"):
        parse_metadata(raw)


def test_release_metadata__documents_every_key_deploy_writes() -> None:
    assert set(full()) <= set(ReleaseMetadata.model_fields), "a key deploy writes has no field: add it to the record"
