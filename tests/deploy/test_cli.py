"""`python -m mlci.deploy`: exit codes and one-line errors of the registry commands, and the model card's sections.

`package` and `release` on a reproduced workspace are covered end to end by tests/workflows/test_deploy.py.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlci.core.io import read_json
from mlci.core.params import TrainParams
from mlci.core.schema import Schema
from mlci.deploy import registry
from mlci.deploy.__main__ import main
from mlci.deploy.package import write_package
from mlci.model import release
from mlci.model.input_schema import input_json_schema
from mlci.model.pipeline import build_pipeline, save_model
from mlci.model.release_metadata import parse_metadata

NAME = "fraud-model"
SCHEMA = Schema(target="y", numeric=["amount"], categorical=["channel"])
RECORD = {"family": "logistic_regression", "inputs": {"amount": ["number"]}, "metrics": {"roc_auc": 0.91, "f1": 0.5}}


def dump_params(path: Path, sections: dict) -> None:
    path.write_text(yaml.safe_dump(sections, sort_keys=False), encoding="utf-8")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def project(repo: Path) -> Path:
    """A git repository with a params.yaml (default `deploy:` section) and one commit, as the working directory."""
    tmp_path = repo
    dump_params(tmp_path / "params.yaml", {"deploy": {"model_name": NAME}})
    git("add", "params.yaml")
    git("commit", "--quiet", "-m", "params")
    return tmp_path


@pytest.fixture
def registered(project: Path) -> Callable[[str], str]:
    """Register a version at a new commit; return the commit."""

    def make(version: str) -> str:
        git("commit", "--quiet", "--allow-empty", "-m", f"model {version}")
        sha = git("rev-parse", "HEAD").strip()
        registry.register(NAME, registry.parse_version(version), sha, f"{NAME} v{version}", RECORD)
        return sha

    return make


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A release package written by `write_package`, from a small fitted model."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"amount": rng.normal(50, 20, 60), "channel": rng.choice(["web", "pos"], 60)})
    y = (X["amount"] > 50).astype(int).to_numpy()
    model_file = tmp_path / "build" / "model.skops"
    save_model(build_pipeline(TrainParams(model="logistic_regression"), SCHEMA).fit(X, y), model_file)
    meta = parse_metadata({"name": NAME, "version": "1.0.0", "threshold": 0.5, "class_labels": SCHEMA.class_labels})
    folder, _ = write_package(meta, input_json_schema(SCHEMA, X), "# card\n", model_file, tmp_path / "dist")
    return folder


def test_promote__a_stage_not_in_deploy_stages_is_a_user_error(project: Path, capsys) -> None:
    code, out, err = run(capsys, "promote", "--version", "1.0.0", "--stage", "prod")

    assert code == 2
    assert out == ""
    assert err == (
        "error: deploy promote: stage 'prod' is not one of deploy.stages in params.yaml (staging, production)\n"
    )


def test_promote__a_stage_outside_the_grammar_is_a_user_error(project: Path, capsys) -> None:
    dump_params(project / "params.yaml", {"deploy": {"stages": ["staging", "production"]}})

    code, _, err = run(capsys, "promote", "--version", "1.0.0", "--stage", "Production#1")

    assert code == 2
    assert err.startswith("error: deploy promote: stage 'Production#1' is not one of deploy.stages")
    assert err.count("\n") == 1


def test_promote__an_unknown_version_is_a_user_error(registered, capsys) -> None:
    registered("1.0.0")

    code, _, err = run(capsys, "promote", "--version", "1.1.0", "--stage", "production")

    assert code == 2
    assert err == "error: deploy promote: fraud-model has no version v1.1.0 (registered: v1.0.0)\n"
    assert registry.assignments(NAME) == []


def test_promote__a_malformed_version_is_a_user_error(project: Path, capsys) -> None:
    code, _, err = run(capsys, "promote", "--version", "latest", "--stage", "production")

    assert code == 2
    assert "version 'latest' is not a semantic version such as 1.2.0 or v1.2.0" in err


def test_promote__tags_the_stage_and_current_reports_it(registered, capsys) -> None:
    # given: two versions, production on the newer one
    registered("1.0.0")
    registered("1.1.0")
    assert run(capsys, "promote", "--version", "1.1.0", "--stage", "production")[0] == 0

    # when: rollback
    code, out, err = run(capsys, "promote", "--version", "v1.0.0", "--stage", "production")

    # then
    assert (code, err) == (0, "")
    assert (
        out
        == "tagged fraud-model#production#2; publish it with: git push origin 'refs/tags/fraud-model#production#2'\n"
    )
    assert run(capsys, "current") == (0, "fraud-model@v1.0.0\n", "")
    assert run(capsys, "current", "--stage", "staging") == (0, "\n", "")


def test_current__prints_nothing_without_a_production_model(registered, capsys) -> None:
    registered("1.0.0")

    assert run(capsys, "current") == (0, "\n", "")


def test_models__says_when_there_are_no_versions(project: Path, capsys) -> None:
    code, out, _ = run(capsys, "models")

    assert code == 0
    assert out == "fraud-model: no versions yet (the deploy workflow registers one on each release from main)\n"


def test_models__lists_versions_newest_first_with_their_stages(registered, capsys) -> None:
    first = registered("1.0.0")
    registered("1.1.0")
    run(capsys, "promote", "--version", "1.0.0", "--stage", "production")
    run(capsys, "promote", "--version", "1.0.0", "--stage", "staging")

    code, out, _ = run(capsys, "models")

    lines = out.splitlines()
    assert code == 0
    assert lines[0] == NAME
    assert lines[1].split() == [
        "version",
        "stages",
        "family",
        "roc_auc",
        "average_precision",
        "f1",
        "commit",
        "registered",
    ]
    assert lines[2].split()[:6] == ["v1.1.0", "-", "logistic_regression", "0.91", "-", "0.5"]
    assert lines[3].split()[:7] == ["v1.0.0", "production,", "staging", "logistic_regression", "0.91", "-", "0.5"]
    assert first[:12] in lines[3]


def test_verify__a_good_package(package: Path, capsys) -> None:
    code, out, err = run(capsys, "verify", str(package))

    assert (code, err) == (0, "")
    assert out == f"{package}: checksums match; fraud-model v1.0.0\n"


def test_verify__a_good_archive(package: Path, capsys) -> None:
    archive = package.parent / f"{package.name}.tar.gz"

    assert run(capsys, "verify", str(archive))[0] == 0


def test_verify__a_tampered_package_is_a_user_error(package: Path, capsys) -> None:
    (package / release.CARD_FILE).write_text("# a better card\n", encoding="utf-8")

    code, out, err = run(capsys, "verify", str(package))

    assert code == 2
    assert out == ""
    assert err.startswith("error: deploy verify: ")
    assert "MODEL_CARD.md does not match its checksum" in err
    assert err.count("\n") == 1, "one line"


def test_verify__a_missing_package_is_a_user_error(project: Path, capsys) -> None:
    code, _, err = run(capsys, "verify", "dist/fraud-model-v9.0.0")

    assert code == 2
    assert err == (
        "error: deploy verify: release package 'dist/fraud-model-v9.0.0' not found; "
        "give a package directory or its .tar.gz\n"
    )


def test_write_package__the_archive_is_the_same_bytes_each_time(package: Path) -> None:
    archive = package.parent / f"{package.name}.tar.gz"
    first = archive.read_bytes()
    meta = parse_metadata(read_json(package / release.METADATA_FILE))
    contract = read_json(package / release.INPUT_SCHEMA_FILE)

    write_package(meta, contract, "# card\n", package.parent.parent / "build" / "model.skops", package.parent)

    assert archive.read_bytes() == first
    assert sorted(p.name for p in package.parent.iterdir()) == [package.name, archive.name]


BAD_DEPLOY = [
    pytest.param(
        {"model_name": "-bad-"},
        "params.yaml: deploy.model_name: '-bad-' is not a valid name: use letters, digits",
        id="name",
    ),
    pytest.param(
        {"model_name": "fraud model"}, "deploy.model_name: 'fraud model' is not a valid name", id="name-with-space"
    ),
    pytest.param(
        {"champion_stage": "prod"},
        "params.yaml: deploy: champion_stage 'prod' must be one of stages ['staging', 'production'].",
        id="champion-stage",
    ),
    pytest.param(
        {"stages": ["staging", "Prod"]},
        "deploy.stages.1: 'Prod' is not a valid stage: use lower-case letters",
        id="stage-name",
    ),
    pytest.param({"stages": []}, "deploy.stages List should have at least 1 item", id="no-stages"),
    pytest.param(
        {"modelname": "x"},
        "params.yaml: unknown key deploy.modelname; allowed keys here: champion_stage, intended_use, limitations, "
        "model_name, stages.",
        id="typo",
    ),
]


@pytest.mark.parametrize(("deploy", "message"), BAD_DEPLOY)
@pytest.mark.parametrize("command", [["current"], ["models"], ["promote", "--version", "1.0.0", "--stage", "staging"]])
def test_main__bad_deploy_params_are_a_user_error(
    project: Path, capsys, deploy: dict, message: str, command: list[str]
) -> None:
    dump_params(project / "params.yaml", {"deploy": deploy})

    code, out, err = run(capsys, *command)

    assert code == 2
    assert out == ""
    assert err.startswith(f"error: deploy {command[0]}: params.yaml: ")
    assert message in err
    assert err.count("\n") == 1


def test_main__outside_a_git_repository_is_a_user_error(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    dump_params(tmp_path / "params.yaml", {})

    code, _, err = run(capsys, "current")

    assert code == 2
    assert err.startswith("error: deploy current: git for-each-ref") and "not a git repository" in err


def test_package__before_dvc_repro_is_a_user_error(project: Path, capsys) -> None:
    code, _, err = run(capsys, "package")

    assert code == 2
    assert err == (
        "error: deploy package: 'data/validated/schema.json' not found; run `dvc repro` so the earlier stages "
        "produce it\n"
    )


@pytest.mark.parametrize("argv", [[], ["promote", "--stage", "production"], ["verify"], ["publish"]])
def test_main__usage_errors_exit_2(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)

    assert exit_info.value.code == 2
    assert "usage: python -m mlci.deploy" in capsys.readouterr().err
