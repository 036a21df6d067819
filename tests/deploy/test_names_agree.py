"""Names that live in two files agree: the registry name and dvc.yaml's artifact, the stages and promote.yml."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlci.core import paths
from mlci.deploy.params import load_deploy_params

ROOT = Path(__file__).resolve().parents[2]


def test_dvc_artifact__name_and_path_match_the_registry() -> None:
    artifacts = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["artifacts"]
    name = load_deploy_params(ROOT / "params.yaml").model_name

    assert list(artifacts) == [name], "rename the artifact in dvc.yaml and deploy.model_name together"
    assert artifacts[name]["path"] == str(paths.MODEL) and artifacts[name]["type"] == "model"


def test_promote_workflow__offers_the_stages_params_declares() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/promote.yml").read_text(encoding="utf-8"))
    inputs = workflow[True]["workflow_dispatch"]["inputs"]  # YAML 1.1 reads the key `on` as true

    assert inputs["stage"]["options"] == load_deploy_params(ROOT / "params.yaml").stages
