"""ci.yml through act: each job provisions the interpreter once and runs the project's own `make` targets in it.

The tests run as one job per suite, the unit and pipeline suite as four jobs of a quarter each: a pull request runs
the workflow and service suites only when it changes what they guard; a push to main runs every suite. Here each
job's pytest gets a few quick files (`SAMPLE`), one per suite, of which its marker keeps its own: the whole suite
would run act inside act. The pull-request runs check which jobs run, not what those jobs do (the push run does that):
there `make` only prints each job's commands (`ROUTING`, make's dry run), so a routing check does not lint and test
twice more.

The audit job asks PyPI's JSON API about every locked package; this machine reaches only the package index, so
there pip-audit runs but cannot audit, and the job fails: what is checked here is that it ran on both locks.
"""

from __future__ import annotations

import pytest
from actkit import REPOSITORY, Workspace, pull_request_event

pytestmark = pytest.mark.slow

SAMPLE_FILES = [
    "tests/core/test_markdown.py",
    "tests/workflows/test_static.py",
    "tests/serve/test_contract.py",
]
# One pytest process per job (`make`'s PYTEST_WORKERS=0): xdist's two workers would each import the suite again to
# run these few quick files, in six jobs at once.
SAMPLE = {"PYTEST_ADDOPTS": " ".join(SAMPLE_FILES), "PYTEST_WORKERS": "0"}
ROUTING = {"MAKEFLAGS": "n"}  # every `make` in the run prints its recipe and runs none of it
SUITES = {
    "test-core": "unit and pipeline",
    "test-workflows": "workflows through act",
    "test-services": "service and S3 remote",
}


def test_ci_on_push__lints_and_tests_with_make(workspace: Workspace) -> None:
    payload = {"ref": "refs/heads/main", "after": workspace.project.main_sha, "repository": {"full_name": REPOSITORY}}

    run = workspace.act("push", "ci.yml", payload, env=SAMPLE)

    ends = [line for line in run.log.splitlines() if "Job succeeded" in line or "Job failed" in line]
    # lint, changes, the unit and pipeline suite in four parts, the workflow and service suites; audit: above
    assert len([line for line in ends if "Job succeeded" in line]) == 8, ends
    assert "pip-audit --disable-pip --strict --progress-spinner off -r requirements.txt -r requirements-dev.txt" in (
        run.log
    )
    uv = [call["args"] for call in run.calls_of("uv")]
    installs = [args for args in uv if args[:2] == ["pip", "install"] and "requirements-dev.txt" in args]
    assert len(installs) == 8 and all("--require-hashes" in args for args in installs), uv
    compiles = [args for args in uv if args[:2] == ["pip", "compile"]]
    locks = {"requirements.txt", "requirements-scale.txt", "requirements-dev.txt"}
    assert {args[args.index("-o") + 1] for args in compiles} == locks, uv
    for command in (
        "ruff check src tests",
        "zizmor --offline .github",
        "check-jsonschema --builtin-schema",
        # what `make test-core`, `test-workflows` and `test-services` run (make echoes the recipe, not its name)
        '-m "not workflows and not service and not remote"',
        "--part 1/4",
        "--part 4/4",
        "-m workflows",
        '-m "service or remote"',
        "python -m pytest",
        "detect-secrets-hook --exclude-files",
        "no secrets found in",
    ):
        assert command in run.log, f"`{command}` did not run"
    assert "-m venv" not in run.log, "make must use the provisioned interpreter, not create .venv"
    assert " passed" in run.log
    assert "Success - Main Generated files match the committed ones" in run.log
    assert "workflow tests: true; service tests: true" in run.log


def ran_suites(run) -> set[str]:
    return {target for target, name in SUITES.items() if run.step(f"Test ({name})") == "success"}


def test_ci_on_a_params_only_pull_request__runs_the_unit_and_pipeline_tests_only(workspace: Workspace) -> None:
    head = workspace.commit("Another split", branch="split-seed", params={"split": {"seed": 3}})

    run = workspace.act("pull_request", "ci.yml", pull_request_event(11, workspace.project.main_sha, head), env=ROUTING)

    changes = [
        line.split("|", 1)[1].strip()
        for line in run.log.splitlines()
        if "what the change touches" in line and "|" in line
    ]
    assert changes[changes.index("changed:") + 1 :][:1] == ["params.yaml"], changes
    assert "workflow tests: false; service tests: false" in run.log
    assert ran_suites(run) == {"test-core"}, run.tail(120)
    assert all(f"--part {part}/4" in run.log for part in range(1, 5)), "the unit and pipeline suite in four parts"
    assert "-m workflows" not in run.log and '-m "service or remote"' not in run.log


def test_ci_on_a_pull_request_changing_github__runs_every_suite(workspace: Workspace) -> None:
    ci = workspace.repo / ".github/workflows/ci.yml"
    ci.write_text(ci.read_text(encoding="utf-8") + "# a change to the workflow itself\n", encoding="utf-8")
    head = workspace.commit("CI: a comment", branch="ci-comment")

    run = workspace.act("pull_request", "ci.yml", pull_request_event(12, workspace.project.main_sha, head), env=ROUTING)

    assert "workflow tests: true; service tests: true" in run.log, run.tail(120)
    assert ran_suites(run) == set(SUITES), run.tail(120)
    assert "-m workflows" in run.log and '-m "service or remote"' in run.log
