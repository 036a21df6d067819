"""The harness that runs the real workflow files through `act` on this host, with stand-ins for what cannot run here.

- The project: a temporary git repository (`projectkit.new_project`) holding this checkout's files, a small demo set
  (`TEST_PARAMS`) and the results of `dvc repro` committed on `main`, pushed to a local bare repository. Each test
  works in a clone of it whose `origin` reads `https://github.com/acme/mlci.git`, so that `github.repository` is
  `acme/mlci` (nothing fetches from it: act copies the clone as the workspace, history included).
- Third-party actions: every `uses:` pinned in `.github/` is mapped with `--local-repository` to a stand-in in
  `standins/actions/`; a pinned action without a stand-in fails the run. `actions/checkout` is act's own job (it
  copies the local repository), except for a step with a `ref:`, which the checkout stand-in serves from git.
- Tools the workflows call: stand-in `gh`, `npm`, `docker` and (installed by `npm`) `cml` record their calls and
  talk to a fake GitHub (and a fake image registry) in the test's state folder.
- Python: the setup-python stand-in gives each job a throwaway venv whose packages are those of the environment
  running pytest (read only); the stand-in `uv` that `make setup` calls checks the hash locks against them instead
  of downloading.

Everything a run leaves is read from the state folder (`ActRun`), since act deletes the job's workspace.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from projectkit import ROOT, VENV_BIN, commit, dvc, edit_params, environment, git, head, new_project, project_files

HERE = Path(__file__).resolve().parent
STANDINS = HERE / "standins"
REPOSITORY = "acme/mlci"
REMOTE_URL = f"https://github.com/{REPOSITORY}.git"
ACT_TIMEOUT = 600  # seconds; a run that takes longer is a hang
# Each third-party action the workflows pin, and its stand-in under standins/actions/. A pinned action missing here
# fails the run with a message naming it.
STANDIN_ACTIONS = {
    "actions/setup-python": "setup-python",
    "actions/cache": "cache",
    "actions/upload-artifact": "upload-artifact",
    "actions/download-artifact": "download-artifact",
    "actions/checkout": "checkout",  # only a step with `ref:` reaches it
    "actions/attest-build-provenance": "attest-build-provenance",
    "docker/setup-buildx-action": "setup-buildx",
    "docker/login-action": "docker-login",
    "docker/build-push-action": "build-push",
    "actions/create-github-app-token": "create-github-app-token",
}
ACT_HANDLES = {"actions/checkout"}  # act copies the local repository instead, when `ref:` is absent
USES = re.compile(r"^\s*(?:-\s*)?uses:\s*['\"]?([^'\"\s#]+)", re.MULTILINE)
PINNED = re.compile(r"^([\w.-]+/[\w.-]+)(/[\w./-]+)?@([0-9a-f]{40})$")
# A small, quick version of the project: 3,000 demo rows, early-stopped boosting, one importance repeat, and a gate
# that the demo model passes at this size (a few dozen positives make the metrics noisy).
TEST_PARAMS = {
    "demo": {"n_rows": 3000},
    "train": {"hist_gradient_boosting": {"max_iter": 50}},
    "evaluate": {"importance_repeats": 1},
    "gate": {
        "floors": {"roc_auc": 0.6, "average_precision": 0.1},
        "max_regression": {"roc_auc": 0.02, "average_precision": 0.05},
        "noise_tolerance": 0.002,
    },
}
run_ids = itertools.count(int(time.time()) % 100_000 * 100)


def pinned_uses(root: Path = ROOT) -> dict[str, set[str]]:
    """Every third-party action pinned in `.github/`: `owner/name` to the commit SHAs it is pinned at."""
    found: dict[str, set[str]] = {}
    for path in sorted((root / ".github").rglob("*.yml")):
        for uses in USES.findall(path.read_text(encoding="utf-8")):
            match = PINNED.match(uses)
            if match:
                found.setdefault(match.group(1), set()).add(match.group(3))
    return found


@dataclass
class Toolbox:
    """What every act run of the session shares."""

    root: Path
    bin: Path  # gh, npm and uv stand-ins
    cache: Path  # the Actions cache, shared so that pull requests restore what main saved
    act_cache: Path
    bash_env: Path
    isolated: Path  # DVC's and git's global settings, empty
    local_repositories: list[str]

    def environment(self) -> dict[str, str]:
        """For git and act: no user or system settings, and not the test venv (act jobs get their own Python)."""
        return environment(self.isolated, venv=False)


def build_toolbox(root: Path) -> Toolbox:
    """Stand-in executables, the Actions cache and act's own cache folders, and the `--local-repository` mappings."""
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for tool in ("gh", "npm", "uv", "docker"):
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDINS / "bin" / f"{tool}.py"}" "$@"\n')
        wrapper.chmod(0o755)
    bash_env = root / "bash_env"
    # Steps that read standard input would wait forever on the terminal act gives them (GitHub gives an empty one).
    bash_env.write_text("if [ -t 0 ]; then exec </dev/null; fi\n")
    mappings = []
    for action, shas in sorted(pinned_uses().items()):
        if action in ACT_HANDLES and action not in STANDIN_ACTIONS:
            continue
        if action not in STANDIN_ACTIONS:
            raise LookupError(f"{action} is used in .github/ but has no stand-in in {STANDINS / 'actions'}; add one")
        mappings += [f"{action}@{sha}={STANDINS / 'actions' / STANDIN_ACTIONS[action]}" for sha in sorted(shas)]
    for name in ("cache", "act-cache"):
        (root / name).mkdir()
    return Toolbox(root, bin_dir, root / "cache", root / "act-cache", bash_env, root / "isolated", mappings)


@dataclass
class Project:
    """The session's project: `origin` (bare) whose `main` holds the code and its committed results."""

    origin: Path
    main_sha: str
    files: list[str] = field(default_factory=list)


def build_project(base: Path, toolbox: Toolbox) -> Project:
    """The project repository in `base`: this checkout's files, TEST_PARAMS, `dvc repro`, commit, push to origin."""
    work, origin = base / "work", base / "origin.git"
    env = environment(toolbox.isolated, code=work)  # the test venv's `dvc`; the stages import this copy's code
    new_project(work, params=TEST_PARAMS, message="Project on the small demo set", env=env)
    dvc(work, "repro", "--quiet", env=env)
    main_sha = commit(work, "Its results", env=env)
    git(base, "init", "--quiet", "--bare", "--initial-branch=main", str(origin), env=env)
    git(work, "push", "--quiet", str(origin), "main", env=env)
    return Project(origin=origin, main_sha=main_sha, files=project_files())


@dataclass
class ActRun:
    """One act run: its exit code and log, and what the stand-ins recorded."""

    returncode: int
    log: str
    state: Path
    run_id: str
    seconds: float

    @property
    def calls(self) -> list[dict]:
        path = self.state / "calls.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [json.loads(line) for line in lines]

    def calls_of(self, tool: str) -> list[dict]:
        return [call for call in self.calls if call["tool"] == tool]

    def artifact(self, name: str, run_id: str | None = None) -> Path:
        return self.state / "artifacts" / (run_id or self.run_id) / name

    @property
    def github(self) -> dict:
        return json.loads((self.state / "github.json").read_text(encoding="utf-8"))

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.log.splitlines()[-lines:])

    def step(self, name: str) -> str | None:
        """'success' or 'failure' for a workflow step that ran (by its `name:`), None for one that did not."""
        if f"Success - Main {name} [" in self.log:
            return "success"
        if f"Failure - Main {name} [" in self.log:
            return "failure"
        return None

    def succeeded(self) -> bool:
        return self.returncode == 0 and "Job failed" not in self.log and "Job succeeded" in self.log


@dataclass
class Workspace:
    """A clone of `origin` for one test, and the way to run a workflow of it through act."""

    repo: Path
    state: Path
    toolbox: Toolbox
    project: Project

    def commit(self, message: str, branch: str | None = None, params: dict | None = None) -> str:
        env = self.toolbox.environment()
        if branch:
            git(self.repo, "checkout", "--quiet", "-b", branch, env=env)
        if params:
            edit_params(self.repo, params)
        git(self.repo, "commit", "--quiet", "--all", "-m", message, env=env)
        return head(self.repo, env)

    def act(
        self,
        event: str,
        workflow: str,
        payload: dict,
        job: str | None = None,
        variables: dict[str, str] | None = None,
        platforms: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        secrets: dict[str, str] | None = None,
    ) -> ActRun:
        run_id = str(next(run_ids))
        event_file = self.state / f"event-{run_id}.json"
        event_file.write_text(json.dumps(payload), encoding="utf-8")
        npm_bin = self.state / "npm-global" / "bin"
        npm_bin.mkdir(parents=True, exist_ok=True)
        process_env = self.toolbox.environment()
        process_env.update(
            PATH=os.pathsep.join([str(self.toolbox.bin), str(npm_bin), process_env["PATH"]]),
            GITHUB_RUN_ID=run_id,
            STANDIN_STATE=str(self.state),
            STANDIN_CACHE=str(self.toolbox.cache),
            STANDIN_LIB=str(STANDINS),
            STANDIN_PYTHON=sys.executable,
            STANDIN_BASE_PYTHON=getattr(sys, "_base_executable", sys.executable),
            STANDIN_SITE_PACKAGES=sysconfig.get_paths()["purelib"],
            STANDIN_SCRIPTS=str(VENV_BIN),
            STANDIN_NPM_BIN=str(npm_bin),
            STANDIN_REPO=str(self.repo),  # what the checkout stand-in reads
            **(env or {}),
        )
        command = [
            str(VENV_BIN / "act"),
            event,
            "--workflows", f".github/workflows/{workflow}",
            "--eventpath", str(event_file),
            "--action-cache-path", str(self.toolbox.act_cache),
            "--no-cache-server",
            "--env", f"BASH_ENV={self.toolbox.bash_env}",
            "--env", f"GITHUB_RUN_ID={run_id}",
            "--secret", "GITHUB_TOKEN=token-of-the-run",  # github.token, empty under act otherwise
        ]  # fmt: skip
        for label, image in {"ubuntu-latest": "-self-hosted", **(platforms or {})}.items():
            command += ["--platform", f"{label}={image}"]
        for mapping in self.toolbox.local_repositories:
            command += ["--local-repository", mapping]
        for name, value in (variables or {}).items():
            command += ["--var", f"{name}={value}"]
        for name, value in (secrets or {}).items():
            command += ["--secret", f"{name}={value}"]
        if job:
            command += ["--job", job]
        started = time.monotonic()
        result = subprocess.run(
            command,
            cwd=self.repo,
            env=process_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=ACT_TIMEOUT,
        )
        run = ActRun(result.returncode, result.stdout, self.state, run_id, time.monotonic() - started)
        (self.state / f"act-{run_id}.log").write_text(run.log, encoding="utf-8")
        return run


def make_workspace(base: Path, project: Project, toolbox: Toolbox) -> Workspace:
    """A fresh clone of origin's main in `base`, its `origin` remote spelled as on GitHub, and an empty state folder."""
    repo, state = base / "repo", base / "state"
    state.mkdir(parents=True)
    env = toolbox.environment()
    git(base, "clone", "--quiet", str(project.origin), str(repo), env=env)
    git(repo, "remote", "set-url", "origin", REMOTE_URL, env=env)  # act reads github.repository from it
    return Workspace(repo, state, toolbox, project)


@dataclass
class PushedMain:
    """The push of `main` through train.yml, run once: it fills the Actions cache and the DVC remote."""

    run: ActRun
    remote: Path  # the DVC remote main pushed to
    cache: Path  # the Actions cache it saved into


def push_main(base: Path, project: Project, toolbox: Toolbox) -> PushedMain:
    """Run train.yml for a push to main, with a DVC remote (a local folder), as a merge to main would."""
    space = make_workspace(base, project, toolbox)
    remote = space.state / "dvc-remote"
    payload = {
        "ref": "refs/heads/main",
        "before": "0" * 40,
        "after": project.main_sha,
        "repository": {"full_name": REPOSITORY, "default_branch": "main"},
    }
    run = space.act("push", "train.yml", payload, variables={"DVC_REMOTE_URL": str(remote)})
    return PushedMain(run, remote, toolbox.cache)


def pull_request_event(number: int, base_sha: str, head_sha: str, head_repo: str = REPOSITORY) -> dict:
    """A `pull_request` payload with what the workflows read from it."""
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "base": {"ref": "main", "sha": base_sha, "repo": {"full_name": REPOSITORY}},
            "head": {"ref": "feature", "sha": head_sha, "repo": {"full_name": head_repo}},
        },
        "repository": {"full_name": REPOSITORY, "default_branch": "main"},
    }


def write_github(state: Path, pulls: dict | None = None, comments: dict | None = None) -> dict:
    """Write the fake GitHub that the `gh` and `cml` stand-ins share, and return it."""
    data = {"repository": REPOSITORY, "pulls": pulls or {}, "comments": comments or {}}
    (state / "github.json").write_text(json.dumps(data), encoding="utf-8")
    return data


def workflow_run_event(run_id: str, head_sha: str, number: int | None, conclusion: str = "success") -> dict:
    """A `workflow_run` payload for a finished train run of a pull request."""
    return {
        "action": "completed",
        "workflow_run": {
            "id": int(run_id),
            "name": "train",
            "event": "pull_request",
            "conclusion": conclusion,
            "head_sha": head_sha,
            "head_branch": "feature",
            "head_repository": {"full_name": REPOSITORY},
            "pull_requests": [] if number is None else [{"number": number}],
        },
        "repository": {"full_name": REPOSITORY, "default_branch": "main"},
    }
