"""Git and DVC, asked from Python: which revision to compare with, and what a file or DVC said at that revision.

Shared by the report, the gate and the same-rows comparison. Every failure becomes a `RevisionError` that names the
command and the fix.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from mlci.core.errors import RevisionError

BASE_BRANCHES = ("main", "origin/main")


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise RevisionError(f"`{command[0]}` not found on PATH; run `make setup` and use the .venv's tools") from None


def _git(*args: str) -> str:
    done = _run(["git", *args])
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise RevisionError(f"`git {' '.join(args)}` failed: {lines[-1] if lines else f'exit {done.returncode}'}")
    return done.stdout


def _commit(rev: str) -> str | None:
    done = _run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"])
    return done.stdout.strip() if done.returncode == 0 else None


def resolve_base(base: str | None) -> str:
    """The full SHA of `base`; by default the merge-base of HEAD with `main`, else with `origin/main`."""
    _git("rev-parse", "--git-dir")  # outside a repository: git's own "not a git repository"
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
            return _git("merge-base", "HEAD", branch).strip()
    raise RevisionError("no base revision: neither `main` nor `origin/main` exists here; pass --base REV (e.g. HEAD~1)")


def head() -> tuple[str, bool]:
    """HEAD's full SHA, and whether tracked files differ from it (the report then describes the workspace)."""
    return _git("rev-parse", "HEAD").strip(), bool(_git("status", "--porcelain", "--untracked-files=no").strip())


def read_at(rev: str, path: Path | str) -> str | None:
    """The text of `path` at `rev`, or None when the file does not exist there."""
    if _run(["git", "cat-file", "-e", f"{rev}:{path}"]).returncode != 0:
        return None
    return _git("show", f"{rev}:{path}")


def read_json_at(rev: str, path: Path | str) -> Any:
    text = read_at(rev, path)
    try:
        return None if text is None else json.loads(text)
    except json.JSONDecodeError as exc:
        raise RevisionError(f"{path} at {rev[:12]} is not valid JSON ({exc.msg}); it cannot be compared") from None


def dvc_json(*args: str) -> Any:
    """Run `dvc <args> --json` and return its parsed output."""
    command = ["dvc", *args, "--json"]
    done = _run(command)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith("ERROR")] or done.stderr.splitlines()
        reason = lines[-1].removeprefix("ERROR: ").strip() if lines else f"exit {done.returncode}"
        raise RevisionError(f"`{' '.join(command)}` failed: {reason}")
    try:
        return json.loads(done.stdout or "{}")
    except json.JSONDecodeError:
        raise RevisionError(f"`{' '.join(command)}` printed no JSON: {done.stdout[:200]!r}") from None
