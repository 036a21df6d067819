"""The workflow files themselves: zizmor, GitHub's schemas, and the rules every workflow keeps (fast, no act)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from actkit import ACT_HANDLES, PINNED, ROOT, STANDIN_ACTIONS, STANDINS, USES, VENV_BIN, pinned_uses

GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
VERSION_COMMENT = re.compile(r"@[0-9a-f]{40}\s+#\s*v\d+(\.\d+)*\s*$")
# Event data an attacker controls, which must reach a `run:` script only through `env:`.
INJECTABLE = re.compile(r"\$\{\{[^}]*(github\.event|github\.head_ref|inputs\.|steps\.[^}]*outputs)[^}]*\}\}")


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as true
        data["on"] = data.pop(True)
    return data


def run_scripts(path: Path) -> list[str]:
    data = load(path)
    jobs = data.get("jobs", {}).values() if "jobs" in data else [data.get("runs", {})]
    return [step["run"] for job in jobs for step in job.get("steps", []) if "run" in step]


def test_workflows_and_actions_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "train.yml", "comment.yml", "retrain.yml"}
    assert [p.parent.name for p in ACTIONS] == ["setup"]
    assert (GITHUB / "dependabot.yml").is_file() and (GITHUB / "pull_request_template.md").is_file()


def test_zizmor_finds_nothing() -> None:
    result = subprocess.run(
        [str(VENV_BIN / "zizmor"), "--offline", "--format", "json", str(GITHUB)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and json.loads(result.stdout) == [], result.stdout + result.stderr


@pytest.mark.parametrize(
    ("schema", "paths"),
    [
        ("vendor.github-workflows", WORKFLOWS),
        ("vendor.github-actions", ACTIONS),
        ("vendor.dependabot", [GITHUB / "dependabot.yml"]),
    ],
    ids=["workflows", "actions", "dependabot"],
)
def test_github_schemas_accept_the_files(schema: str, paths: list[Path]) -> None:
    command = [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, paths)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: str(p.relative_to(GITHUB)))
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for line in text.splitlines():
        found = USES.match(line)
        if found is None or found.group(1).startswith(("./", "$/")):
            continue
        assert PINNED.match(found.group(1)), f"{path.name}: `{found.group(1)}` is not pinned to a full commit SHA"
        assert VERSION_COMMENT.search(line), f"{path.name}: `{line.strip()}` lacks its `# vX.Y.Z` comment"


def test_each_pinned_action_has_one_commit_and_a_stand_in() -> None:
    for action, shas in pinned_uses().items():
        assert len(shas) == 1, f"{action} is pinned at several commits: {sorted(shas)}"
        assert action in ACT_HANDLES or (STANDINS / "actions" / STANDIN_ACTIONS.get(action, "?")).is_dir(), action


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_rules(path: Path) -> None:
    workflow = load(path)
    assert workflow.get("permissions") == {}, f"{path.name}: top-level `permissions: {{}}`, grants per job"
    assert "pull_request_target" not in workflow["on"], f"{path.name}: pull_request_target runs with secrets"
    concurrency = workflow.get("concurrency") or {}
    assert concurrency.get("group") and "cancel-in-progress" in concurrency, f"{path.name}: concurrency"
    for name, job in workflow["jobs"].items():
        assert "timeout-minutes" in job, f"{path.name}: job {name} has no timeout-minutes"
        assert "permissions" in job, f"{path.name}: job {name} has no permissions of its own"
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, f"{path.name}: {name} checkout"


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: str(p.relative_to(GITHUB)))
def test_event_data_reaches_scripts_only_through_env(path: Path) -> None:
    for script in run_scripts(path):
        assert not INJECTABLE.search(script), f"{path.name}: interpolation in `run:`: {INJECTABLE.search(script)[0]}"


def test_pipeline_workflows_opt_out_of_dvc_analytics() -> None:
    for name in ("ci.yml", "train.yml", "retrain.yml"):
        env = load(GITHUB / "workflows" / name).get("env", {})
        assert env.get("DVC_NO_ANALYTICS") == "1" and env.get("ITERATIVE_DO_NOT_TRACK") == "1", name


def test_comment_workflow_runs_only_its_own_script_from_the_default_branch() -> None:
    """The one checkout is comment.py at `github.sha` (the default branch under workflow_run), run with bare python3."""
    workflow = load(GITHUB / "workflows" / "comment.yml")
    assert list(workflow["on"]) == ["workflow_run"]
    for job in workflow["jobs"].values():
        uses = [step.get("uses", "") for step in job["steps"]]
        assert not [u for u in uses if u.startswith(("./", "$/", "actions/setup-python"))], uses
        (checkout,) = [step["with"] for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@")]
        assert checkout == {
            "ref": "${{ github.sha }}",
            "persist-credentials": False,
            "sparse-checkout": "src/mlci/review/comment.py",
            "sparse-checkout-cone-mode": False,
        }, checkout
        assert job["permissions"] == {"actions": "read", "contents": "read", "pull-requests": "write"}
    scripts = run_scripts(GITHUB / "workflows" / "comment.yml")
    assert [s for s in scripts if "python3" in s] == [
        "python3 -I src/mlci/review/comment.py validate",
        "python3 -I src/mlci/review/comment.py post",
    ]
    for script in scripts:
        assert "GITHUB_ENV" not in script and "GITHUB_PATH" not in script, "no environment writes after a workflow_run"
