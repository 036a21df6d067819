"""Shared fixtures: a temp working directory, a params writer, and a small demo set run through the early stages."""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

pytest_plugins = ["partskit"]  # --part I/N and --store-durations: the suite in parts for parallel CI jobs

# One OpenMP thread unless the caller chose otherwise: on a busy two-core machine, OpenMP threads spin-waiting for each
# other make the many tiny predictions of these tests ten times slower. Results are the same (`train` fits on one
# thread anyway; predictions do not depend on it). Set before scikit-learn is imported; the `dvc repro` subprocesses
# of the end-to-end tests inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# What each test guards, by where it lives: CI runs a suite only when a pull request changes what the suite guards
# (.github/workflows/ci.yml); `make test` runs every suite. Marked here so the test files need no marker of their own.
SUITES = {"workflows": "workflows", "serve": "service", "test_remote.py": "remote"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        top = item.path.relative_to(tests).parts[0] if item.path.is_relative_to(tests) else None
        if top in SUITES:
            item.add_marker(SUITES[top])


# Small models and bounded evaluation, so unit tests that train stay well under a second each.
FAST_TRAIN = {
    "random_forest": {"n_estimators": 20},
    "hist_gradient_boosting": {"max_iter": 30},
}
FAST_EVALUATE = {"importance_repeats": 1, "min_segment_rows": 20}
DEMO_PARAMS = {
    "demo": {"n_rows": 2000, "seed": 7},
    "data": {"time_column": "timestamp", "id_column": "transaction_id", "segment_column": "channel"},
    "train": FAST_TRAIN,
    "evaluate": FAST_EVALUATE,
}
# The project the drift check judges batches against: enough rows that its test metrics are not noise.
MONITORED_PARAMS = {**DEMO_PARAMS, "demo": {"n_rows": 20_000, "seed": 7}}


def dump_params(path: Path, sections: dict) -> Path:
    path.write_text(yaml.safe_dump(sections, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory: stage `main()`s read `params.yaml` and write outputs relative to it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write_params(tmp_dir: Path) -> Callable[..., Path]:
    """Write `params.yaml` in the working directory from keyword sections, e.g. `write_params(train={...})`."""

    def write(**sections: dict) -> Path:
        return dump_params(tmp_dir / "params.yaml", sections)

    return write


@pytest.fixture
def demo_params() -> dict:
    """The params of `demo_split_dir`: 2,000 demo rows, small models."""
    return copy.deepcopy(DEMO_PARAMS)


@pytest.fixture(scope="session")
def demo_split_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where generate, ingest, validate and split have run on 2,000 demo rows (built once per session)."""
    from mlci.stages import generate, ingest, split, validate

    root = tmp_path_factory.mktemp("demo-split")
    dump_params(root / "params.yaml", DEMO_PARAMS)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        for stage in (generate, ingest, validate, split):
            assert stage.main() == 0, f"{stage.__name__} failed on the demo data"
    return root


@pytest.fixture
def split_project(demo_split_dir: Path, tmp_dir: Path) -> Path:
    """The working directory, holding a copy of `demo_split_dir`: ready for `train` and `evaluate`."""
    shutil.copytree(demo_split_dir, tmp_dir, dirs_exist_ok=True)
    return tmp_dir


@pytest.fixture(scope="session")
def monitored_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where every stage has run on 20,000 demo rows: a trained model to check batches against."""
    from mlci.stages import evaluate, generate, ingest, split, train, validate

    root = tmp_path_factory.mktemp("monitored")
    dump_params(root / "params.yaml", MONITORED_PARAMS)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        for stage in (generate, ingest, validate, split, train, evaluate):
            assert stage.main() == 0, f"{stage.__name__} failed on the demo data"
    return root


@pytest.fixture
def monitored(monitored_dir: Path, tmp_dir: Path) -> Path:
    """The working directory, holding a copy of `monitored_dir`."""
    shutil.copytree(monitored_dir, tmp_dir, dirs_exist_ok=True)
    return tmp_dir


@pytest.fixture(scope="session")
def reproduced_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project, the demo cut to 3,000 rows, reproduced from scratch and committed (once per worker)."""
    from projectkit import reproduce_from_scratch

    return reproduce_from_scratch(tmp_path_factory.mktemp("reproduced") / "project")


@pytest.fixture
def demo_project(reproduced_demo: Path, tmp_path: Path) -> Path:
    """A private copy of `reproduced_demo`: change it freely."""
    from projectkit import clone

    return clone(reproduced_demo, tmp_path / "project")
