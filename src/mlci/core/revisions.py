"""Git and DVC, asked from Python: which revision to compare with, and what a file or DVC said at that revision.

Shared by the report, the gate and the same-rows comparison; `run` is how every part of the package runs git or DVC
(the registry, a release's lineage and taking a batch in too). Every failure becomes one error, a `RevisionError`
unless the caller names another, that names the command and the fix.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from mlci.core.errors import PipelineError, RevisionError

BASE_BRANCHES = ("main", "origin/main")
# How to get a program we run when it is missing.
_INSTALL = {"git": "install git", "dvc": "run `make setup` and use the .venv's tools"}


def run(
    *command: str,
    check: bool = True,
    cwd: Path | str | None = None,
    error: type[PipelineError] = RevisionError,
    purpose: str | None = None,
) -> str:
    """Run `command` (e.g. `run("git", "rev-parse", "HEAD")`) and return what it printed on stdout.

    The one way the package runs git and DVC. A missing program, or with `check` a non-zero exit, raises `error` in
    one line: the command up to its first option, what the tool said last, and the fix (how to install the program,
    to do `purpose`; or where to run git).
    """
    program = command[0]
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, check=False, cwd=cwd)
    except FileNotFoundError:
        fix = _INSTALL.get(program, f"install {program}") + (f" to {purpose}" if purpose else "")
        raise error(f"{program} not found; {fix}") from None
    if check and done.returncode != 0:
        said = _said(done)
        hint = "; run it inside the project's git repository" if "not a git repository" in said else ""
        raise error(f"{_named(command)} failed: {said}{hint}")
    return done.stdout


def _named(command: tuple[str, ...]) -> str:
    """The command up to its first option: `git tag`, `git merge-base HEAD main`, `dvc add data/mine.csv`."""
    words = []
    for word in command:
        if word.startswith("-"):
            break
        words.append(word)
    return " ".join(words)


def _said(done: subprocess.CompletedProcess[str]) -> str:
    """The tool's last word on its failure: its last error line, else the last line it printed, else the exit code.

    Error lines are git's `fatal:` and `error:` and DVC's `ERROR:` (shown without that prefix).
    """
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    lines = lines or [line.strip() for line in done.stdout.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith(("ERROR", "fatal:", "error:"))]
    return (errors or lines or [f"exit code {done.returncode}"])[-1]


def _commit(rev: str) -> str | None:
    return run("git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False).strip() or None


def resolve_base(base: str | None) -> str:
    """The full SHA of `base`; by default the merge-base of HEAD with `main`, else with `origin/main`."""
    run("git", "rev-parse", "--git-dir")  # outside a repository: git's own "not a git repository"
    if base:
        sha = _commit(base)
        if sha is None:
            raise RevisionError(
                f"unknown revision {base!r}; pass a branch, tag or commit that exists here "
                "(in CI, check out with fetch-depth: 0 so the base commit is present)"
            )
        return sha
    for branch in BASE_BRANCHES:
        if _commit(branch):
            return run("git", "merge-base", "HEAD", branch).strip()
    raise RevisionError("no base revision: neither `main` nor `origin/main` exists here; pass --base REV (e.g. HEAD~1)")


def head() -> tuple[str, bool]:
    """HEAD's full SHA, and whether tracked files differ from it (the report then describes the workspace)."""
    return run("git", "rev-parse", "HEAD").strip(), bool(
        run("git", "status", "--porcelain", "--untracked-files=no").strip()
    )


def read_at(rev: str, path: Path | str) -> str | None:
    """The text of `path` at `rev`, or None when the file does not exist there."""
    if not run("git", "cat-file", "-t", f"{rev}:{path}", check=False).strip():
        return None
    return run("git", "show", f"{rev}:{path}")


def read_json_at(rev: str, path: Path | str) -> Any:
    text = read_at(rev, path)
    try:
        return None if text is None else json.loads(text)
    except json.JSONDecodeError as exc:
        raise RevisionError(f"{path} at {rev[:12]} is not valid JSON ({exc.msg}); it cannot be compared") from None


def dvc_json(*args: str) -> Any:
    """Run `dvc <args> --json` and return its parsed output."""
    command = ("dvc", *args, "--json")
    out = run(*command)
    try:
        return json.loads(out or "{}")
    except json.JSONDecodeError:
        raise RevisionError(f"`{' '.join(command)}` printed no JSON: {out[:200]!r}") from None
