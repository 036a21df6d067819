"""Fixtures of the serving tests: a model trained on the demo split, a release package of it, a real server."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from servekit import Server, build_package, free_port, serve_params, venv_environment


@pytest.fixture(scope="session")
def trained_project(demo_split_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo split with `train` and `evaluate` run on it (small model): a workspace like `dvc repro` leaves."""
    from mlci.stages import evaluate, train

    root = tmp_path_factory.mktemp("trained")
    shutil.copytree(demo_split_dir, root, dirs_exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        assert train.main() == 0, "train failed on the demo split"
        assert evaluate.main() == 0, "evaluate failed on the demo split"
    return root


@pytest.fixture(scope="session")
def package(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release package directory (`<dist>/fraud-model-v1.2.0/`); its `.tar.gz` lies beside it."""
    return build_package(trained_project, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def server(package: Path, tmp_path_factory: pytest.TempPathFactory):
    """`python -m mlci.serve --package <package>` on a free port, logging predictions; stopped when the module ends."""
    folder = tmp_path_factory.mktemp("server")
    serve_params(folder, log_path=str(folder / "predictions.jsonl"))
    port = free_port()
    command = [sys.executable, "-m", "mlci.serve", "--package", str(package), "--port", str(port)]
    running = Server(command, folder, venv_environment(), port, folder / "server.log")
    try:
        running.wait_healthy()
        yield running
    finally:
        running.stop()
