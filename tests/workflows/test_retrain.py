"""retrain.yml through act, on the small demo project: a drifted batch becomes one retrain pull request.

A holiday batch drifts: the workflow takes it in (as generator parameters in params.yaml), reproduces, reports
against main, pushes `retrain/<date>` and opens a pull request whose body is the drift report and the model report.
A second drifted batch updates that branch and pull request instead of opening another; a pull request that is not
the workflow's own (from a fork, or by a person) is never pushed to or edited, whatever its branch is called. A
normal batch opens nothing.
Pushes go to a bare copy of the project's origin (git's `insteadOf`), so each test sees only its own branches.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from actkit import REMOTE_URL, REPOSITORY, ActRun, Workspace

from mlci.review.comment import MARKER
from projectkit import git

pytestmark = pytest.mark.slow

APP = {"RETRAIN_APP_CLIENT_ID": "Iv23liRetrainApp"}


def dispatch(workspace: Workspace, origin: Path, season: str, seed: int, rows: int = 2000, **options) -> ActRun:
    """Run retrain.yml by hand for a demo batch; pushes to `github.com/acme/mlci` land in `origin`."""
    inputs = {"batch": "", "season": season, "rows": str(rows), "seed": str(seed)}
    return run_inputs(workspace, origin, inputs, **options)


def run_inputs(workspace: Workspace, origin: Path, inputs: dict, **options) -> ActRun:
    payload = {"inputs": inputs, "ref": "refs/heads/main", "repository": {"full_name": REPOSITORY}}
    gitconfig = workspace.state / "gitconfig"
    gitconfig.write_text(f'[url "{origin}"]\n\tinsteadOf = {REMOTE_URL}\n', encoding="utf-8")
    env = {"GIT_CONFIG_GLOBAL": str(gitconfig)}
    return workspace.act("workflow_dispatch", "retrain.yml", payload, env=env, **options)


@pytest.fixture
def origin(workspace: Workspace) -> Path:
    """A bare copy of the project's origin, for this test's pushes."""
    path = workspace.state / "origin.git"
    git(workspace.state, "clone", "--quiet", "--bare", str(workspace.project.origin), str(path))
    return path


def branches(origin: Path) -> list[str]:
    return git(origin, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def changed_files(origin: Path, branch: str) -> set[str]:
    return set(git(origin, "diff", "--name-only", f"main...{branch}").split())


def test_holiday_batch__opens_a_retrain_pull_request_and_a_second_updates_it(
    workspace: Workspace, origin: Path, fake_github
) -> None:
    """Beside two pull requests on `retrain/*` branches that are not the workflow's own, which it never adopts.

    An outsider's pull request from a fork's `retrain/x` (even carrying the label: a maintainer may set it) and a
    person's `retrain/manual`: the workflow opens a pull request of its own, labelled, and updates only that one.
    """
    outsider = {
        "number": 5, "state": "open", "title": "Tweak the model", "body": "Looks harmless.",
        "headRefName": "retrain/x", "baseRefName": "main", "isCrossRepository": True,
        "author": {"login": "outsider", "is_bot": False}, "labels": [{"name": "retrain"}],
    }  # fmt: skip
    person = {
        **outsider, "number": 6, "title": "Manual retrain", "body": "By hand.", "headRefName": "retrain/manual",
        "isCrossRepository": False, "author": {"login": "maintainer", "is_bot": False}, "labels": [],
    }  # fmt: skip
    fake_github(pulls={"5": outsider, "6": person})
    branch = f"retrain/{time.strftime('%Y-%m-%d', time.gmtime())}"

    run = dispatch(workspace, origin, "holiday", 7)

    assert run.succeeded(), run.tail()
    assert branches(origin) == ["main", branch], "nothing pushed to retrain/x or retrain/manual"
    changed = changed_files(origin, branch)
    assert {"params.yaml", "dvc.lock", "reports/eval/metrics.json", "reports/drift/drift.json"} <= changed, changed
    params = yaml.safe_load(git(origin, "show", f"{branch}:params.yaml"))
    assert params["demo"]["batches"] == [{"season": "holiday", "seed": 7, "n_rows": 2000}]
    assert not [name for name in changed if name.startswith("data/") and not name.endswith(".dvc")], "no data in git"

    (create,) = [call for call in run.calls_of("gh") if call.get("command") == "pr create"]
    assert create["flags"]["--head"] == branch and create["flags"]["--base"] == "main"
    assert create["flags"]["--label"] == "retrain"
    assert create["token"] == "token-of-the-run", "no App configured: the job's own token"
    (listing,) = [call for call in run.calls_of("gh") if call.get("command") == "pr list"]
    assert listing["flags"]["--label"] == "retrain"
    assert not [call for call in run.calls_of("gh") if call.get("command") == "pr edit"]
    pulls = run.github["pulls"]
    assert pulls["5"] == outsider and pulls["6"] == person, "their titles and bodies are as they were"
    assert set(pulls) == {"5", "6", "7"}
    pull = pulls["7"]
    assert pull["labels"] == [{"name": "retrain"}] and pull["author"]["login"] == "app/github-actions"
    assert pull["headRefName"] == branch
    assert "retrain" in run.github["labels"], "the label is created when missing"
    body = pull["body"]
    assert len(body) <= 65_536
    drift_part, report_part = body.split("\n\n---\n\n", 1)
    assert "## Drift check: DRIFT" in drift_part and "| `merchant_category` | categorical |" in drift_part
    assert "merchant_category" in pull["title"] and pull["title"].startswith("Retrain on new data: drift in")
    assert report_part.startswith(MARKER)
    # main's model, from the DVC cache main saved, scored on the retrained model's new test rows: it passes.
    assert "**Quality gate: passed.**" in report_part, report_part[:1500]
    assert "Judged on the same rows" in report_part and "### Metrics on the same rows" in report_part
    report = run.artifact("retrain-reports")
    assert (report / "report.md").is_file() and json.loads((report / "drift/drift.json").read_text())["retrain"]

    # A week later, another drifted batch, and an App token configured: the same branch and pull request.
    second = dispatch(workspace, origin, "holiday", 8, variables=APP, secrets={"RETRAIN_APP_PRIVATE_KEY": "key"})

    assert second.succeeded(), second.tail()
    assert branches(origin) == ["main", branch]
    params = yaml.safe_load(git(origin, "show", f"{branch}:params.yaml"))
    assert params["demo"]["batches"] == [{"season": "holiday", "seed": 8, "n_rows": 2000}], "main plus the new batch"
    creates = [call for call in second.calls_of("gh") if call.get("command") == "pr create"]
    assert creates == [create], "the calls of both runs: the first run's create only"
    (edit,) = [call for call in second.calls_of("gh") if call.get("command") == "pr edit"]
    assert edit["token"] == "ghs_app-installation-token"
    (app,) = second.calls_of("create-github-app-token")
    assert app["inputs"]["client-id"] == APP["RETRAIN_APP_CLIENT_ID"] and app["private_key_given"]
    pulls = second.github["pulls"]
    assert pulls["5"] == outsider and pulls["6"] == person and set(pulls) == {"5", "6", "7"}
    updated = pulls["7"]
    assert updated["body"] != body and "## Drift check: DRIFT" in updated["body"]


def test_normal_batch__opens_nothing(workspace: Workspace, origin: Path, fake_github) -> None:
    fake_github()

    run = dispatch(workspace, origin, "normal", 11)

    assert run.succeeded(), run.tail()
    assert "Nothing drifted or decayed: no retraining, no pull request." in run.log
    assert branches(origin) == ["main"]
    assert not run.calls_of("gh") and not run.calls_of("upload-artifact")
    assert run.github["pulls"] == {}


def test_user_batch_without_a_remote__is_checked_but_not_taken_in(
    workspace: Workspace, origin: Path, fake_github
) -> None:
    """A drifted CSV committed in the repository: the check runs; retraining on it needs a DVC remote, and says so."""
    import pyarrow as pa
    from pyarrow import csv

    from mlci.stages.helpers.demo import generate

    fake_github()
    csv.write_csv(pa.concat_tables(generate(2000, 5, "holiday")), workspace.repo / "incoming.csv")
    env = workspace.toolbox.environment()
    git(workspace.repo, "add", "incoming.csv", env=env)
    git(workspace.repo, "commit", "--quiet", "-m", "A batch of our own", env=env)

    run = run_inputs(workspace, origin, {"batch": "incoming.csv", "season": "holiday", "rows": "2000", "seed": "7"})

    assert not run.succeeded()
    assert "DRIFT: " in run.log, run.tail()
    # The step that refuses stops at once with its one line, and act can drop so short a step's output: judge it by
    # its outcome (the line itself is in retrain.yml, checked below).
    assert run.step("Take the batch in and retrain") == "failure", run.tail()
    workflow = (Path(__file__).parents[2] / ".github/workflows/retrain.yml").read_text(encoding="utf-8")
    assert "user data needs a DVC remote to retrain on" in workflow
    assert branches(origin) == ["main"] and run.github["pulls"] == {}


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"season": "winter"}, "season must be normal or holiday; got 'winter'"),
        ({"rows": "20000; rm -rf /"}, "rows must be a whole number from 100 to 10000000"),
        ({"batch": "../secrets.csv"}, "batch must be a path inside the repository"),
    ],
    ids=["season", "rows", "batch"],
)
def test_bad_inputs__fail_with_one_line(workspace: Workspace, origin: Path, fake_github, inputs, message) -> None:
    fake_github()

    run = run_inputs(workspace, origin, {"batch": "", "season": "holiday", "rows": "2000", "seed": "7", **inputs})

    assert not run.succeeded() and message in run.log, run.tail()
    assert branches(origin) == ["main"]
