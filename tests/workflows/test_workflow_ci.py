"""ci.yml through act: each job provisions the interpreter once and runs the project's own `make` targets in it.

The audit job asks PyPI's JSON API about every locked package; this machine reaches only the package index, so
there pip-audit runs but cannot audit, and the job fails: what is checked here is that it ran on both locks.
"""

from __future__ import annotations

import pytest
from actkit import REPOSITORY, Workspace

pytestmark = pytest.mark.slow


def test_ci_on_push__lints_and_tests_with_make(workspace: Workspace) -> None:
    payload = {"ref": "refs/heads/main", "after": workspace.project.main_sha, "repository": {"full_name": REPOSITORY}}

    # The whole suite would run act inside act: the test job runs the fast workflow checks instead.
    run = workspace.act("push", "ci.yml", payload, env={"PYTEST_ADDOPTS": "tests/workflows/test_workflow_static.py"})

    assert run.log.count("Job succeeded") == 2, run.tail(120)  # lint and test; audit: see the docstring
    assert "pip-audit --disable-pip --strict --progress-spinner off -r requirements.txt -r requirements-dev.txt" in (
        run.log
    )
    uv = [call["args"] for call in run.calls_of("uv")]
    installs = [args for args in uv if args[:2] == ["pip", "install"] and "requirements-dev.txt" in args]
    assert len(installs) == 3 and all("--require-hashes" in args for args in installs), uv
    compiles = [args for args in uv if args[:2] == ["pip", "compile"]]
    locks = {"requirements.txt", "requirements-scale.txt", "requirements-dev.txt"}
    assert {args[args.index("-o") + 1] for args in compiles} == locks, uv
    for command in (
        "ruff check src tests",
        "zizmor --offline .github",
        "check-jsonschema --builtin-schema",
        "python -m pytest",
        "detect-secrets-hook --exclude-files",
        "no secrets found in",
    ):
        assert command in run.log, f"`{command}` did not run"
    assert "-m venv" not in run.log, "make must use the provisioned interpreter, not create .venv"
    assert " passed" in run.log
    assert "Success - Main Generated files match the committed ones" in run.log
