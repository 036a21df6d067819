"""The `deploy:` section of params.yaml: defaults, and one line naming the key for each bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlci.core.errors import ParamsError
from mlci.deploy.params import DeployParams, load_deploy_params


def write(path: Path, sections: dict) -> Path:
    path.write_text(yaml.safe_dump(sections, sort_keys=False), encoding="utf-8")
    return path


def test_load_deploy_params__defaults_without_a_section(tmp_path: Path) -> None:
    loaded = load_deploy_params(write(tmp_path / "params.yaml", {"split": {"test_size": 0.25}}))

    assert loaded == DeployParams()
    assert (loaded.model_name, loaded.stages, loaded.champion_stage) == (
        "fraud-model",
        ["staging", "production"],
        "production",
    )


def test_load_deploy_params__reads_the_section(tmp_path: Path) -> None:
    deploy = {"model_name": "team/churn-model", "stages": ["dev", "live"], "champion_stage": "live"}

    loaded = load_deploy_params(write(tmp_path / "params.yaml", {"deploy": deploy}))

    assert (loaded.model_name, loaded.stages, loaded.champion_stage) == ("team/churn-model", ["dev", "live"], "live")


@pytest.mark.parametrize(
    ("deploy", "message"),
    [
        pytest.param(
            {"model_name": "churn-"},
            "params.yaml: deploy.model_name: 'churn-' is not a valid name: use letters, digits, '-', '/' or '_', "
            "starting and ending with a letter or digit.",
            id="name",
        ),
        pytest.param(
            {"stages": ["dev"], "champion_stage": "production"},
            "params.yaml: deploy: champion_stage 'production' must be one of stages ['dev'].",
            id="champion-stage",
        ),
        pytest.param({"limitations": "none"}, "deploy.limitations must be a valid list; got 'none'.", id="type"),
        pytest.param(
            {"intended_uses": "x"},
            "params.yaml: unknown key deploy.intended_uses; allowed keys here: champion_stage, intended_use, "
            "limitations, model_name, stages. Check the spelling.",
            id="typo",
        ),
    ],
)
def test_load_deploy_params__a_bad_value_names_the_key(tmp_path: Path, deploy: dict, message: str) -> None:
    path = write(tmp_path / "params.yaml", {"deploy": deploy})

    with pytest.raises(ParamsError) as raised:
        load_deploy_params(path)

    assert str(raised.value).endswith(message)
    assert str(raised.value).startswith(str(path))


def test_load_deploy_params__a_typo_elsewhere_in_the_file_is_not_ignored(tmp_path: Path) -> None:
    path = write(tmp_path / "params.yaml", {"deploy": {}, "splitt": {}})

    with pytest.raises(ParamsError, match=r"unknown key splitt"):
        load_deploy_params(path)
