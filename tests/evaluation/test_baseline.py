"""The base model by its dvc.lock hash, and every reason the same-rows comparison falls back, in small hand-made repos.

Each repository here is a git repo whose one commit (the base) holds a `dvc.lock`, and whose DVC cache holds what
the test puts there; the workspace holds a tiny schema, test split and model, as `dvc repro` would leave them.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlci.core import paths
from mlci.core.params import GateParams, TrainParams
from mlci.core.schema import Schema
from mlci.evaluation import baseline
from mlci.evaluation.baseline import BaseModel, Unavailable, fetch_base
from mlci.evaluation.samerows import Committed, SameRows, _new_to_base, _row_hashes, same_rows
from mlci.model.pipeline import build_pipeline, save_model
from projectkit import GIT_ENV

SCHEMA = Schema(target="y", numeric=["amount", "age"], categorical=["channel"], segment_column="channel")


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.normal(50, 20, n)
    return pd.DataFrame(
        {
            "amount": amount,
            "age": rng.normal(40, 10, n).round(),
            "channel": rng.choice(["web", "pos", "app"], n),
            "y": (amount + rng.normal(0, 10, n) > 55).astype(int),
        }
    )


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, env=GIT_ENV, capture_output=True, text=True, check=True)
    return done.stdout


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def cache(root: Path, data: bytes) -> str:
    """Put `data` in the DVC cache under its md5, as DVC does; return the md5."""
    digest = md5(data)
    path = root / ".dvc/cache/files/md5" / digest[:2] / digest[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def lock(outs: dict[str, str]) -> str:
    stage = {"cmd": "python -m stage", "outs": [{"path": p, "hash": "md5", "md5": h} for p, h in outs.items()]}
    return yaml.safe_dump({"schema": "2.0", "stages": {"train": stage}})


def model_bytes(train: pd.DataFrame, tmp: Path) -> bytes:
    pipeline = build_pipeline(TrainParams(model="logistic_regression"), SCHEMA)
    save_model(pipeline.fit(train[SCHEMA.features], train["y"].to_numpy()), tmp / "m.skops")
    return (tmp / "m.skops").read_bytes()


def parquet_bytes(data: pd.DataFrame, tmp: Path) -> bytes:
    data.to_parquet(tmp / "t.parquet", index=False)
    return (tmp / "t.parquet").read_bytes()


@pytest.fixture
def repo(tmp_dir: Path) -> Path:
    """A git repo with `.dvc/`, an empty params.yaml; nothing committed yet."""
    (tmp_dir / ".dvc").mkdir()
    (tmp_dir / ".dvc/config").write_text("[core]\n    analytics = false\n")
    (tmp_dir / "params.yaml").write_text("evaluate:\n  threshold: 0.4\n")
    git(tmp_dir, "init", "-q", "-b", "main")
    return tmp_dir


def commit_base(root: Path, lock_text: str | None) -> str:
    if lock_text is not None:
        (root / "dvc.lock").write_text(lock_text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return git(root, "rev-parse", "HEAD").strip()


def workspace(root: Path, test: pd.DataFrame, head_model: bytes) -> None:
    SCHEMA.save()
    paths.TEST_SPLIT.parent.mkdir(parents=True, exist_ok=True)
    test.to_parquet(paths.TEST_SPLIT, index=False)
    paths.MODEL.parent.mkdir(parents=True, exist_ok=True)
    paths.MODEL.write_bytes(head_model)


def test_fetch_base__from_the_cache_verified_with_its_threshold_and_training_rows(repo, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("scratch")
    train = frame(300, 1)
    model = cache(repo, model_bytes(train, scratch))
    split = cache(repo, parquet_bytes(train, scratch))
    sha = commit_base(repo, lock({str(paths.MODEL): model, str(paths.TRAIN_SPLIT): split}))

    found = fetch_base(sha, "y")

    assert isinstance(found, BaseModel), found
    assert (found.md5, found.source, found.threshold) == (model, "DVC cache", 0.4)
    assert found.features == ["amount", "age", "channel"]
    assert list(found.train.columns) == ["amount", "age", "channel", "y"] and len(found.train) == 300
    assert found.train_note is None


@pytest.mark.parametrize(
    ("lock_text", "kind", "says"),
    [
        (None, "no-lock", "has no dvc.lock, so no model of its own"),
        (lock({"data/split/test.parquet": "0" * 32}), "not-locked", "dvc.lock records no models/model.skops"),
        (lock({"models/model.skops": "ab" * 16}), "not-found", "is not in the DVC cache and no DVC remote"),
    ],
)
def test_fetch_base__unavailable(repo, lock_text, kind, says):
    sha = commit_base(repo, lock_text)

    found = fetch_base(sha, "y")

    assert isinstance(found, Unavailable) and found.kind == kind
    assert says in found.reason


def test_fetch_base__a_remote_without_the_file_names_the_remote(repo, tmp_path):
    (repo / ".dvc/config.local").write_text(f"[core]\n    remote = store\n['remote \"store\"']\n    url = {tmp_path}\n")
    sha = commit_base(repo, lock({"models/model.skops": "ab" * 16}))

    found = fetch_base(sha, "y")

    assert isinstance(found, Unavailable) and found.kind == "not-found"
    assert "is neither in the DVC cache nor on the DVC remote 'store'" in found.reason


def test_fetch_base__bytes_that_are_no_model_are_refused(repo):
    digest = cache(repo, b"PK\x03\x04 not a skops archive")
    sha = commit_base(repo, lock({str(paths.MODEL): digest}))

    found = fetch_base(sha, "y")

    assert isinstance(found, Unavailable) and found.kind == "unreadable"
    assert found.reason.startswith("the base model could not be loaded:")


def test_cache_dir_and_remote__from_the_dvc_config(repo):
    assert baseline.cache_dir() == Path(".dvc/cache") and baseline.default_remote() is None
    (repo / ".dvc/config").write_text("[core]\n    remote = shared\n[cache]\n    dir = ../../dvc-cache\n")

    assert baseline.cache_dir() == Path(".dvc/../../dvc-cache")
    assert baseline.default_remote() == "shared"


@pytest.mark.parametrize(("text", "expected"), [("evaluate:\n  threshold: 0.25\n", 0.25), ("evaluate: [1]\n", 0.5)])
def test_base_threshold(repo, text, expected):
    (repo / "params.yaml").write_text(text)
    sha = commit_base(repo, None)

    assert baseline.base_threshold(sha) == expected


def test_row_hashes__equal_values_match_whatever_the_dtype():
    left = pd.DataFrame(
        {"a": [1, 2, 3], "b": pd.Categorical(["x", "y", None]), "t": pd.to_datetime(["2026-01-01"] * 3)}
    )
    right = pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": ["x", "y", None], "t": pd.to_datetime(["2026-01-01"] * 3)}).astype(
        {"b": object}
    )

    assert list(_row_hashes(left) == _row_hashes(right)) == [True, True, False]


def test_new_to_base__leaves_out_the_rows_the_base_trained_on():
    test = frame(100, 3)
    train = pd.concat([frame(50, 4), test.iloc[:30]])

    keep, excluded = _new_to_base(test, train, ["amount", "age", "channel", "y"])

    assert excluded == 30 and not keep[:30].any() and keep[30:].all()


def base_with_training_rows(repo: Path, scratch: Path) -> tuple[str, pd.DataFrame, bytes]:
    """Commit a base whose dvc.lock records a model and its training split, both in the DVC cache."""
    train = frame(300, 1)
    model = model_bytes(train, scratch)
    outs = {str(paths.MODEL): cache(repo, model), str(paths.TRAIN_SPLIT): cache(repo, parquet_bytes(train, scratch))}
    return commit_base(repo, lock(outs)), train, model


def test_same_rows__too_few_new_rows_falls_back(repo, tmp_path_factory):
    sha, train, model = base_with_training_rows(repo, tmp_path_factory.mktemp("scratch"))
    workspace(repo, train.iloc[:100], model)  # every test row is a base training row

    result = same_rows(sha, GateParams())

    assert result == Committed(
        "only 0 of the head's 100 test rows are new to the base model, too few to compare on (both classes are needed)",
        cause="overlap",
    )


def test_same_rows__on_new_rows_each_model_at_its_threshold(repo, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("scratch")
    sha, train, _ = base_with_training_rows(repo, scratch)
    workspace(repo, pd.concat([frame(200, 9), train.iloc[:20]]), model_bytes(frame(300, 2), scratch))

    result = same_rows(sha, GateParams())

    assert isinstance(result, SameRows), result
    assert (result.rows, result.test_rows, result.excluded) == (200, 220, 20)
    assert result.thresholds == (0.5, 0.4), "the head's evaluate.threshold (default) and the base's (0.4)"
    assert set(result.segments) <= {"web", "pos", "app"}


def test_same_rows__a_base_model_that_cannot_score_the_rows_falls_back(repo, tmp_path_factory):
    # Given: the base model reads `age` as a number; the head's data holds it as text, and the head's model says so.
    scratch = tmp_path_factory.mktemp("scratch")
    model = model_bytes(frame(300, 1), scratch)
    sha = commit_base(repo, lock({str(paths.MODEL): cache(repo, model)}))
    head_schema = Schema(target="y", numeric=["amount"], categorical=["age", "channel"], segment_column="channel")
    test = frame(100, 5).assign(age=lambda d: "age " + d["age"].astype(str))
    head_model = build_pipeline(TrainParams(model="logistic_regression"), head_schema)
    save_model(head_model.fit(test[head_schema.features], test["y"].to_numpy()), scratch / "head.skops")
    workspace(repo, test, (scratch / "head.skops").read_bytes())
    head_schema.save()

    result = same_rows(sha, GateParams())

    assert isinstance(result, Committed) and result.cause == "fields"
    assert result.reason.startswith("the base model could not score the head's test rows (")
