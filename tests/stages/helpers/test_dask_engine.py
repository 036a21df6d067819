"""The `dask_lightgbm` engine end to end: as accurate as `sklearn` on the demo data, served like any other model.

Trained on a Dask cluster of two local workers over loopback, then packaged and served from the release package.

The test starts the cluster and hands its address to the train stage through `DASK_SCHEDULER_ADDRESS`, as CI or a
real cluster would; the stage runs as `python -m mlci.stages.train`, its own process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from servekit import build_package, raw_records

from mlci.core.frames import read_split
from mlci.core.io import read_parquet
from mlci.core.params import TrainParams
from mlci.core.schema import Schema
from mlci.model.lgbm import LightGBMModel
from mlci.model.pipeline import load_model
from mlci.model.release import load_release
from mlci.serve.app import create_app
from mlci.serve.params import ServeParams

pytest.importorskip("lightgbm", reason="the scale extra is not installed: make setup-scale")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
MAX_AUC_GAP = 0.01


def run_stage(root: Path, name: str, **env: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", f"mlci.stages.{name}"],
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[str, Path]:
    """The demo data (the project's params) split once, then trained by each engine in its own copy."""
    from distributed import LocalCluster

    base = tmp_path_factory.mktemp("demo")
    shutil.copyfile(ROOT / "params.yaml", base / "params.yaml")
    for name in ("generate", "ingest", "validate", "split"):
        run_stage(base, name)
    result = {}
    for engine in ("sklearn", "dask_lightgbm"):
        root = tmp_path_factory.mktemp(engine)
        shutil.copytree(base, root, dirs_exist_ok=True)
        params = yaml.safe_load((root / "params.yaml").read_text())
        params["train"]["engine"] = engine
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        result[engine] = root
    run_stage(result["sklearn"], "train")
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster:
        run_stage(result["dask_lightgbm"], "train", DASK_SCHEDULER_ADDRESS=cluster.scheduler_address)
    for root in result.values():
        run_stage(root, "evaluate")
    return result


def test_dask_lightgbm__as_accurate_as_sklearn(projects):
    from sklearn.metrics import roc_auc_score

    auc = {}
    for engine, root in projects.items():
        schema = Schema.load(root / "data/validated/schema.json")
        X, y, _ = read_split(root / "data/split/test.parquet", schema)
        auc[engine] = roc_auc_score(y, load_model(root / "models/model.skops").predict_proba(X)[:, 1])

    assert isinstance(load_model(projects["dask_lightgbm"] / "models/model.skops"), LightGBMModel)
    assert abs(auc["dask_lightgbm"] - auc["sklearn"]) < MAX_AUC_GAP, auc


def test_dask_lightgbm__served_from_a_release_package(projects, tmp_path):
    root = projects["dask_lightgbm"]
    release = load_release(build_package(root, tmp_path / "dist"))
    schema = Schema.load(root / "data/validated/schema.json")
    X, _, _ = read_split(root / "data/split/test.parquet", schema)
    X = X.head(50)
    records = raw_records(read_parquet(root / "data/split/test.parquet").to_pandas().head(50), schema)

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    with TestClient(create_app(release, ServeParams())) as client:
        response = client.post("/predict", json={"records": records})

    assert response.status_code == 200, response.text
    expected = load_model(root / "models/model.skops").predict_proba(X)[:, 1]
    assert np.allclose(response.json()["probabilities"], expected, atol=1e-9)


def test_train_params__engine_defaults_to_sklearn():
    assert TrainParams().engine == "sklearn"
