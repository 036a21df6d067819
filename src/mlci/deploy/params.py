"""The `deploy:` section of `params.yaml`: what the model is called in the registry and what its card says.

Validated here, not in `core.params`, so editing it re-runs no pipeline stage.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from mlci.core.params import PARAMS_FILE, Section, load_section

# GTO's artifact-name grammar (gto/constants.py): letters, digits, '-', '/', '_'; alphanumeric at both ends.
NAME_PATTERN = r"^[a-zA-Z0-9]([a-zA-Z0-9\-/_]*[a-zA-Z0-9])?$"
STAGE_PATTERN = r"^[a-z][a-z0-9-]*[a-z0-9]$"


def _matching(pattern: str, what: str):
    def check(value: str) -> str:
        if not re.match(pattern, value):
            raise ValueError(f"{value!r} is not a valid {what}")
        return value

    return AfterValidator(check)


ModelName = Annotated[
    str,
    Field(max_length=100),
    _matching(NAME_PATTERN, "name: use letters, digits, '-', '/' or '_', starting and ending with a letter or digit"),
]
StageName = Annotated[str, _matching(STAGE_PATTERN, "stage: use lower-case letters, digits and '-', e.g. production")]


class DeployParams(Section):
    model_name: ModelName = "fraud-model"
    stages: Annotated[list[StageName], Field(min_length=1)] = ["staging", "production"]
    # The stage whose current version is the champion a new version must beat.
    champion_stage: StageName = "production"
    intended_use: str = (
        "Scores card transactions for fraud risk so that an analyst reviews the riskiest first. "
        "Not for automatic blocking without human review."
    )
    limitations: list[str] = [
        "Trained on synthetic demo data: retrain on your own data before any real use.",
        "Scores are not calibrated probabilities unless the calibration plot shows them to be.",
    ]

    @model_validator(mode="after")
    def _champion_stage_is_a_stage(self) -> DeployParams:
        if self.champion_stage not in self.stages:
            raise ValueError(f"champion_stage {self.champion_stage!r} must be one of stages {self.stages}")
        return self


def load_deploy_params(path: Path | str = PARAMS_FILE) -> DeployParams:
    """The validated `deploy:` section; `ParamsError` naming the key on a bad value or an unknown key."""
    return load_section("deploy", DeployParams, path)
