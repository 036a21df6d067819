"""A copy of this project in a temporary git + DVC repository, and the commands run in it.

What the end-to-end tests (`test_pipeline`, `test_remote`, `test_report`), the act harness (`workflows/actkit.py`)
and `benchmarks/bench.py` share:

- what a project consists of (`project_files`) and a copy of it made a repository (`new_project`): `git init` on
  `main` and a first commit. DVC is initialised by the copied `.dvc/` (the project's own DVC settings), not by
  `dvc init`;
- an environment that reads no user or system git or DVC configuration and runs the copy's own code
  (`environment`), and commands run with it (`run`, `dvc`, `git`, `commit`);
- `params.yaml` edits (`edit_params`) and what DVC's log says it did with each stage (`stage_outcomes`).

It lives in `tests/` because the tests are its main users: pyproject.toml puts this folder on pytest's `pythonpath`,
and `bench.py`, run as a script, adds it too. Under `src/` it would ship with the package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]  # the checkout whose files a copy holds
VENV_BIN = Path(sys.executable).parent  # the virtual environment running this: its `python` and `dvc`
TIMEOUT = 900  # seconds; a command that takes longer is a hang
# A git identity, and no user or system configuration (hooks, signing, templates, aliases).
GIT_ENV = {
    "GIT_AUTHOR_NAME": "mlci tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "mlci tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
# Variables of the calling process that would leak into a copy's commands: git's (GIT_DIR from a hook would point
# every git command at the checkout), DVC's, the CI's, pytest's and Python's (PYTHONPATH is set to the copy's code).
OUTSIDE = ("GIT_", "DVC_", "GITHUB_", "RUNNER_", "PYTEST", "PYTHON", "VIRTUAL_ENV")
OUTSIDE_NAMES = {"CI", "ACT", "BASH_ENV"}
# What `dvc repro` and `dvc exp run` log for each stage (DVC 3.67), and what it means. A run-cache restore is listed
# so that one shows up in a comparison instead of passing unnoticed.
OUTCOMES = (
    (re.compile(r"Running stage '([\w-]+)':"), "ran"),
    (re.compile(r"Stage '([\w-]+)' didn't change, skipping"), "unchanged"),
    (re.compile(r"Pulling data for stage: '([\w-]+)'"), "pulled"),
    (re.compile(r"Stage '([\w-]+)' is cached - skipping run, checking out outputs"), "restored"),
)
UP_TO_DATE = "Data and pipelines are up to date."
STAGES = ["generate", "ingest", "validate", "split", "train", "evaluate"]  # dvc.yaml's stages, in the order they run
METRICS = Path("reports/eval/metrics.json")
SMALL_DEMO = {"demo": {"n_rows": 3000}}  # the whole pipeline in seconds


class CommandFailed(Exception):
    """A command run in a copy exited non-zero; the message holds the command, the folder and the output."""


def project_files(leave_out: tuple[str, ...] = ()) -> list[str]:
    """What a project is: the checkout's files that git tracks or would track (untracked, not ignored).

    Paths are relative, `/`-separated; those starting with a prefix in `leave_out` (e.g. `"reports/"`) are left out,
    and so are tracked files deleted from the working tree.
    """
    listing = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard", env=dict(os.environ))
    names = {name for name in listing.split("\0") if name and not name.startswith(leave_out)}
    return sorted(name for name in names if (ROOT / name).is_symlink() or (ROOT / name).is_file())


def new_project(
    dest: Path,
    params: dict | None = None,
    leave_out: tuple[str, ...] = (),
    message: str = "Project files",
    env: dict[str, str] | None = None,
) -> Path:
    """Copy the project into `dest` (`params` merged into its params.yaml), `git init` it on `main` and commit."""
    for name in project_files(leave_out):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name, follow_symlinks=False)
    if not (dest / ".dvc" / "config").is_file():
        raise FileNotFoundError(f"{ROOT}: .dvc/config is not among the project's files; run `dvc init` and commit it")
    if params:
        edit_params(dest, params)
    git(dest, "init", "--quiet", "--initial-branch=main", env=env)
    commit(dest, message, env=env)
    return dest


def environment(home: Path, code: Path | None = None, *, venv: bool = True) -> dict[str, str]:
    """This process's environment for commands in a copy: isolated from the user's settings and the outside.

    `home` holds empty global settings for git and DVC (created if missing; keep it outside any repository).
    `code`: a copy whose `src/` the stages import (PYTHONPATH), instead of the editable install's checkout.
    `venv`: this virtual environment's `bin` first on PATH (`python`, `dvc`), or, if False, left out of it.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(OUTSIDE) and key not in OUTSIDE_NAMES}
    path = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry and Path(entry) != VENV_BIN]
    env["PATH"] = os.pathsep.join([str(VENV_BIN), *path] if venv else path)
    if code is not None:
        env["PYTHONPATH"] = str(code / "src")
    home.mkdir(parents=True, exist_ok=True)
    (home / "gitconfig").touch()  # a file, not /dev/null: tools that write global git settings can
    env.update(
        GIT_ENV,
        GIT_CONFIG_GLOBAL=str(home / "gitconfig"),
        DVC_NO_ANALYTICS="1",
        ITERATIVE_DO_NOT_TRACK="1",
        DVC_GLOBAL_CONFIG_DIR=str(home / "dvc-global"),  # a global cache.dir would defeat an empty cache
        DVC_SYSTEM_CONFIG_DIR=str(home / "dvc-system"),
        DVC_SITE_CACHE_DIR=str(home / "dvc-site-cache"),
    )
    return env


def default_environment(root: Path) -> dict[str, str]:
    """`environment` for commands in `root`: its code, settings in `isolated-home` beside it (outside the repo)."""
    return environment(root.parent / "isolated-home", root)


def run(
    root: Path,
    *command: str,
    env: dict[str, str] | None = None,
    check: bool = True,
    combined: bool = True,
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run `command` in `root` with `env` (`default_environment(root)` if None), no standard input.

    `combined`: stdout and stderr together, in order, as `.stdout`; otherwise apart. `check`: raise `CommandFailed`
    with the output if it exits non-zero.
    """
    done = subprocess.run(
        command,
        cwd=root,
        env=default_environment(root) if env is None else env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if combined else subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and done.returncode != 0:
        output = done.stdout + (done.stderr or "")
        raise CommandFailed(f"`{' '.join(command)}` exited with {done.returncode} in {root}:\n{output}")
    return done


def venv_tool(name: str) -> str:
    """The virtual environment's `name` executable."""
    found = shutil.which(name, path=str(VENV_BIN))
    if found is None:
        raise FileNotFoundError(f"{name} not found in {VENV_BIN}; install the dev tools with `make setup-dev`.")
    return found


def dvc(root: Path, *args: str, **options) -> subprocess.CompletedProcess[str]:
    """`dvc <args>` in `root`, this virtual environment's DVC; `options` as for `run`."""
    return run(root, venv_tool("dvc"), *args, **options)


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """`git <args>` in `root`: its standard output; `CommandFailed` if it fails."""
    return run(root, "git", *args, env=env, combined=False).stdout


def head(root: Path, env: dict[str, str] | None = None) -> str:
    """The commit SHA at HEAD."""
    return git(root, "rev-parse", "HEAD", env=env).strip()


def commit(root: Path, message: str, env: dict[str, str] | None = None) -> str:
    """Commit everything in the working tree (`git add --all`); return the new commit's SHA."""
    git(root, "add", "--all", env=env)
    git(root, "commit", "--quiet", "--no-verify", "--allow-empty", "-m", message, env=env)
    return head(root, env)


def isolated_repo(folder: Path, monkeypatch) -> Path:
    """`git init` an empty repository on `main` in `folder` and work there: fixed identity, no user or CI settings."""
    for key in [key for key in os.environ if key.startswith("GIT_")]:
        monkeypatch.delenv(key)
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(folder.parent))
    monkeypatch.chdir(folder)
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], check=True)
    return folder


def merge(base: dict, changes: dict) -> dict:
    """`base` with `changes` applied key by key, nested mappings merged (an empty mapping replaces)."""
    merged = dict(base)
    for key, value in changes.items():
        merged[key] = merge(base.get(key) or {}, value) if isinstance(value, dict) and value else value
    return merged


def edit_params(root: Path, changes: dict) -> None:
    """Merge `changes` into `root`'s params.yaml, e.g. `{"evaluate": {"threshold": 0.2}}`."""
    path = root / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    path.write_text(yaml.safe_dump(merge(params, changes), sort_keys=False), encoding="utf-8")


def clone(source: Path, root: Path) -> Path:
    """A full copy of a project folder, git history, DVC cache and outputs included."""
    shutil.copytree(source, root, symlinks=True, ignore=_dvc_tmp)
    return root


def _dvc_tmp(folder: str, names: list[str]) -> list[str]:
    """`.dvc/tmp` (DVC's locks and state of the source), left out of a clone; any other `tmp` folder is copied."""
    return ["tmp"] if Path(folder).name == ".dvc" and "tmp" in names else []


def reproduce_from_scratch(root: Path) -> Path:
    """A new copy of the project with `SMALL_DEMO` in `root`, `dvc repro` from scratch, and its results committed."""
    new_project(root, params=SMALL_DEMO, message="initial state")
    output = dvc(root, "repro").stdout
    if stages_run(output) != STAGES:
        raise CommandFailed(f"`dvc repro` in {root} did not run every stage:\n{output}")
    commit(root, "reproduce")
    return root


def stage_outcomes(log: str) -> dict[str, str]:
    """What DVC did with each stage, read from its log: ran, unchanged, pulled or restored (from the run-cache).

    Lines may carry a prefix (act prints its own); a stage named twice keeps its last outcome.
    """
    outcomes = {}
    for line in log.splitlines():
        for pattern, outcome in OUTCOMES:
            if match := pattern.search(line):
                outcomes[match.group(1)] = outcome
    return outcomes


def stages_run(log: str) -> list[str]:
    """The stages DVC ran, in the order it ran them."""
    ran = OUTCOMES[0][0]
    return [match.group(1) for line in log.splitlines() if (match := ran.search(line))]


@contextmanager
def scratch(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A new temp folder for project copies, removed at the end, pass or fail, unless `keep` (its path to stderr)."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        if keep:
            print(f"kept {work}", file=sys.stderr, flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
