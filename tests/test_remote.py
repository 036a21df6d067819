"""End to end with a real S3-compatible DVC remote: moto_server on loopback, one bucket, the project in temp repos.

`main` runs the pipeline and pushes its data, models and run-cache. A fresh clone (empty DVC cache, the remote taken
from the committed `.dvc/config`) then gets every output from the remote instead of recomputing it, and a
pull-request-like change of an `evaluate` param re-runs `evaluate` alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from projectkit import STAGES, UP_TO_DATE, commit, dvc, edit_params, git, new_project, stage_outcomes
from s3kit import BUCKET, PREFIX, moto_s3

pytestmark = pytest.mark.slow

N_ROWS = 3000
UPSTREAM = STAGES[:-1]


def workspace(repo: Path) -> dict[str, str]:
    """sha256 of every workspace file, git-tracked or DVC-tracked.

    Left out: `.git`, `.dvc`, bytecode, and `.mlci` (what the stages that ran here recorded about their runs).
    """
    digests = {}
    for path in sorted(repo.rglob("*")):
        relative = path.relative_to(repo)
        if path.is_file() and not {".git", ".dvc", "__pycache__", ".mlci"} & set(relative.parts):
            digests[relative.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def metrics(repo: Path) -> dict[str, float]:
    return yaml.safe_load((repo / "reports/eval/metrics.json").read_text())


def remote_keys(s3, under: str) -> set[str]:
    """Keys under `store/<under>/` in the bucket, relative to it."""
    prefix = f"{PREFIX}/{under}/"
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"].removeprefix(prefix) for page in pages for item in page.get("Contents", [])}


def cached_objects(repo: Path) -> dict[str, str]:
    """Each output `dvc.yaml` caches, with its object's key under the remote's `files/` (from `dvc.lock`)."""
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    cached = set()
    for stage in stages.values():
        for out in stage.get("outs", []) + stage.get("metrics", []) + stage.get("plots", []):
            path, options = (out, {}) if isinstance(out, str) else next(iter(out.items()))
            if options.get("cache", True):
                cached.add(path)
    locked = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    return {
        out["path"]: f"md5/{out['md5'][:2]}/{out['md5'][2:]}"
        for stage in locked.values()
        for out in stage.get("outs", [])
        if out["path"] in cached
    }


def local_keys(repo: Path, under: str) -> set[str]:
    root = repo / ".dvc/cache" / under
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto S3 server on a free loopback port with the bucket created; yields its URL, stops it at the end."""
    with moto_s3(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture(scope="module")
def s3(s3_endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=s3_endpoint)


@pytest.fixture(scope="module")
def main(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`main`: this project's files at N_ROWS rows, reproduced, committed, and pushed with its run-cache."""
    repo = new_project(tmp_path_factory.mktemp("main"), params={"demo": {"n_rows": N_ROWS}})
    dvc(repo, "remote", "add", "-d", "s3", f"s3://{BUCKET}/{PREFIX}")
    dvc(repo, "remote", "modify", "s3", "endpointurl", s3_endpoint)
    output = dvc(repo, "repro").stdout
    assert stage_outcomes(output) == dict.fromkeys(STAGES, "ran"), output
    commit(repo, "main: pipeline outputs and the S3 remote")
    dvc(repo, "push", "--run-cache")
    return repo


@pytest.fixture
def clone(main: Path, tmp_path: Path) -> Path:
    """A fresh `git clone` of main: the remote comes from the committed .dvc/config; the DVC cache is empty."""
    git(tmp_path, "clone", "-q", str(main), "clone")
    repo = tmp_path / "clone"
    assert not (repo / ".dvc/cache").exists()
    return repo


def test_remote__main_pushes_data_models_and_run_cache(main: Path, s3) -> None:
    objects = cached_objects(main)
    assert {"data/split/train.parquet", "models/model.skops"} <= objects.keys()
    pushed = remote_keys(s3, "files")
    assert set(objects.values()) <= pushed, "every cached output in main's dvc.lock is on the remote"
    assert pushed == local_keys(main, "files"), "the remote holds main's whole cache, nothing else"
    runs = remote_keys(s3, "runs")
    assert runs == local_keys(main, "runs")
    commands = {
        yaml.safe_load(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/runs/{key}")["Body"].read())["cmd"] for key in runs
    }
    # DVC keeps no run-cache entry for a stage with an uncached output that is not a metric or a plot:
    # validate (reports/data_profile.json) and evaluate (reports/eval/plots, under outs:) get none.
    assert commands == {f"python -m mlci.stages.{stage}" for stage in ("generate", "ingest", "split", "train")}


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        pytest.param(
            [("repro", "--pull")],
            # evaluate's outputs are all uncached and git-tracked: the clone already has them.
            dict.fromkeys(UPSTREAM, "pulled") | {"evaluate": "unchanged"},
            id="repro-pull",
        ),
        pytest.param(
            [("pull", "--run-cache"), ("repro",)],
            dict.fromkeys(STAGES, "unchanged"),
            id="pull-then-repro",
        ),
    ],
)
def test_remote__fresh_clone_gets_outputs_without_rerunning(
    main: Path, clone: Path, commands: list[tuple[str, ...]], expected: dict[str, str]
) -> None:
    # when
    for args in commands:
        output = dvc(clone, *args).stdout
    # then
    assert stage_outcomes(output) == expected, output
    assert dvc(clone, "status").stdout.strip() == UP_TO_DATE
    assert git(clone, "status", "--porcelain") == "", "nothing to commit: dvc.lock and metrics as on main"
    ours, theirs = workspace(clone), workspace(main)
    assert "models/model.skops" in ours
    differing = sorted(name for name in ours.keys() | theirs.keys() if ours.get(name) != theirs.get(name))
    assert differing == [], "the clone's workspace, data and model included, is main's byte for byte"


@pytest.mark.parametrize(
    ("flags", "pulled"),
    [
        pytest.param(("--pull",), True, id="repro-pull"),
        # --allow-missing skips the unchanged stages without pulling them: only evaluate's inputs are downloaded.
        pytest.param(("--pull", "--allow-missing"), False, id="repro-pull-allow-missing"),
    ],
)
def test_remote__evaluate_param_change_reruns_only_evaluate(
    main: Path, clone: Path, flags: tuple[str, ...], pulled: bool
) -> None:
    # given: a pull request that only moves the decision threshold
    threshold = yaml.safe_load((clone / "params.yaml").read_text())["evaluate"]["threshold"] / 2
    edit_params(clone, {"evaluate": {"threshold": threshold}})
    # when
    output = dvc(clone, "repro", *flags).stdout
    # then
    expected = dict.fromkeys(UPSTREAM, "pulled" if pulled else "unchanged") | {"evaluate": "ran"}
    assert stage_outcomes(output) == expected, output
    again = dvc(clone, "repro", *flags).stdout
    assert stage_outcomes(again) == dict.fromkeys(STAGES, "unchanged"), f"a second run: {again}"
    lock = yaml.safe_load((clone / "dvc.lock").read_text())
    assert lock["stages"]["evaluate"]["params"]["params.yaml"]["evaluate"]["threshold"] == threshold
    assert (clone / "models/model.skops").read_bytes() == (main / "models/model.skops").read_bytes()
    for name in ("roc_auc", "average_precision"):  # threshold-free: same model, same test split
        assert metrics(clone)[name] == metrics(main)[name], name
    assert (clone / "data/demo/transactions.parquet").exists() is pulled
