"""Run the pull request's sweep (`sweep:` in params.yaml) as DVC experiments and judge each run like the head.

`python -m mlci.review.sweep [--base REV] [--out DIR]` (`make sweep`; CI's train job runs the same) needs the
workspace reproduced (`dvc repro`). It scores the workspace's own model first, then runs each point in turn with
`dvc exp run --name sweep-<head>-<n> -S key=value ...` in the workspace: DVC re-runs only the stages a point's params
touch and takes every other stage, and any point it has seen before, from its cache. After each run the workspace
holds that point's model and test split, which are scored against the base revision's model on the same rows
(`evaluation.samerows.same_rows`) and judged by the base's gate (`evaluation.gate.judge`). Then the workspace is put
back as it was (params, `dvc.lock`, reports, the stages' run records in `.mlci/`, and the cached outputs through
`dvc checkout`).

What a point costs besides its own training, kept small (docs/experiments.md has the measurements): DVC runs in this
process (`dvc.cli.main`, imported once, not a `dvc` process per command); the stages' commands start from a server
that has imported scikit-learn, pandas and pyarrow once (`mlci.stages.helpers.forkserver`), instead of importing them
again in every stage of every point; and a run whose model, test split and evaluate params repeat another's (the
pull request's own params, or a param its model family ignores) takes that run's scores instead of scoring again.

Writes `DIR/sweep.json` (default `report/`), which `python -m mlci.review.report --sweep` turns into the report's
sweep section, and prints that section. The sweep informs the review; only the pull request's own params are gated.
Exit 2 (one line) on a bad `sweep:` section, including a sweep past `sweep.max_runs`, before anything runs.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlci.core import cli, paths
from mlci.core.errors import DataError
from mlci.review.sweep_data import Run, Score, Sweep, read

__all__ = ["Run", "Score", "Sweep", "main", "own_params", "read", "run_sweep"]

# How long the stage server may take to import before the sweep gives up on it and starts its stages cold.
WARM_START_SECONDS = 60.0

OUT = Path("report")
SWEEP_JSON = "sweep.json"
# What `dvc exp run` logs when it runs a stage, or restores one from the run-cache (DVC 3.x).
RAN = re.compile(r"Running stage '([\w-]+)':")
RESTORED = re.compile(r"Stage '([\w-]+)' is cached - skipping run")
# What a run changes in the workspace besides the cached outputs `dvc checkout` restores.
TRACKED = (paths.PARAMS, paths.LOCK)
REPORTS = Path("reports")
RECORDS = Path(".mlci")  # what stages record about their own runs (git-ignored): the head's, not the last point's


def own_params(point: dict[str, Any], params: dict[str, Any]) -> bool:
    """Whether `point`'s overrides are the values the pull request's `params` (raw) already hold."""
    for key, value in point.items():
        node: Any = params
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node != value or isinstance(node, bool) != isinstance(value, bool):
            return False
    return True


def score(base_sha: str, thresholds: Any, base_metrics: dict | None, names: list[str]) -> dict[str, Any]:
    """The workspace's model judged as the gate judges the head: same rows when it can, else the committed metrics."""
    from mlci.core.params import load_params
    from mlci.evaluation.gate import judge, read_metrics
    from mlci.evaluation.samerows import same_rows

    params = load_params()
    head = read_metrics()
    comparison = same_rows(base_sha, thresholds.params, params.evaluate) if base_metrics is not None else None
    result = judge(head, base_metrics, thresholds, comparison)
    scores: dict[str, Score] = {}
    compared = "none" if comparison is None else comparison.kind
    for name in names:
        change = comparison.metrics.get(name) if compared == "same_rows" else None  # type: ignore[union-attr]
        if change is not None:
            interval = change.interval
            low, high = (interval.low, interval.high) if interval else (None, None)
            scores[name] = Score(change.head, change.base, low, high)
        else:
            scores[name] = Score(head.get(name), (base_metrics or {}).get(name))
    rows = comparison.rows if compared == "same_rows" else None  # type: ignore[union-attr]
    return {"passed": result.passed, "reasons": result.reasons, "scores": scores, "compared": compared, "rows": rows}


# What a score reads from the workspace besides params.yaml's `evaluate:` section: two runs that leave these the same
# bytes (a model that does not use a point's param, or the pull request's own params again) score the same.
SCORED = (paths.MODEL, paths.TEST_SPLIT, paths.SCHEMA, paths.METRICS)


def fingerprint() -> str:
    """A digest of what `score` reads from the workspace: a run whose outputs repeat another's is not scored again."""
    import hashlib

    from mlci.core.params import load_params

    digest = hashlib.sha256(load_params().evaluate.model_dump_json().encode())
    for path in SCORED:
        digest.update(path.read_bytes() if path.is_file() else b"absent")
    return digest.hexdigest()


class Workspace:
    """The files a `dvc exp run` changes, kept before the sweep and put back after it."""

    def __init__(self) -> None:
        self.saved = {path: path.read_bytes() for path in [*TRACKED, *self._files()] if path.is_file()}

    @staticmethod
    def _files() -> list[Path]:
        return [path for folder in (REPORTS, RECORDS) for path in folder.rglob("*") if path.is_file()]

    def reset_params(self) -> None:
        paths.PARAMS.write_bytes(self.saved[paths.PARAMS])

    def restore(self) -> None:
        for path in [path for path in self._files() if path not in self.saved]:
            path.unlink()
        for path, data in self.saved.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        code, log = _dvc("checkout", "--force", "--quiet")
        if code != 0:
            last = log.strip().splitlines()[-1] if log.strip() else f"exit code {code}"
            raise DataError(
                f"the workspace's outputs could not be put back after the sweep ({last}); run `dvc checkout --force`"
            )


def _dvc(*args: str, echo: bool = False) -> tuple[int, str]:
    """Run `dvc <args>` in this process; its exit code and output (echoed to stderr as it comes if `echo`).

    DVC's own entry point (`dvc.cli.main`) runs the command as the `dvc` executable would, with the same log; in this
    process, DVC is imported once for the whole sweep instead of once per command (about 0.5 s of CPU each). The
    output is everything written to this process's standard output and error meanwhile, the stages DVC runs included
    (they inherit both): the same text a `dvc` subprocess would print, read from a pipe.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    read, write = os.pipe()
    saved = (os.dup(1), os.dup(2))
    chunks: list[bytes] = []

    def drain() -> None:
        while data := os.read(read, 1 << 16):
            chunks.append(data)
            if echo:
                _write_all(saved[1], data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    os.dup2(write, 1)
    os.dup2(write, 2)
    os.close(write)
    try:
        from dvc.cli import main as dvc_main  # imported with standard output a pipe: DVC's log then has no colours

        code = dvc_main(list(args))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        reader.join()
        for fd in (read, *saved):
            os.close(fd)
    return code, b"".join(chunks).decode(errors="replace")


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


@contextmanager
def warm_stages() -> Iterator[Callable[[], None]]:
    """Start a server for the stage commands DVC runs (`mlci.stages.helpers.forkserver`); stopped on leaving.

    Yields `route`, which waits until the server listens (it imports while the caller goes on) and then puts its
    folder first on this process's PATH, which the in-process `dvc exp run`s pass to the stages' commands: they start
    warm, with the same code and outputs. The server runs on the `python` those commands would find. If it cannot
    start, the commands start as usual.
    """
    import shutil
    import subprocess
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="mlci-sweep-"))
    python = shutil.which("python") or sys.executable
    server = subprocess.Popen(
        [python, "-m", "mlci.stages.helpers.forkserver", str(folder)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    path = os.environ.get("PATH", "")

    def route() -> None:
        """Route the stages to the server once it says `ready`; a server that died or hangs is stopped and skipped."""
        import select

        assert server.stdout is not None
        readable, _, _ = select.select([server.stdout], [], [], WARM_START_SECONDS)
        if readable and server.stdout.readline().strip() == "ready":
            os.environ["PATH"] = os.pathsep.join([str(folder), path])
        else:
            server.kill()

    try:
        yield route
    finally:
        os.environ["PATH"] = path
        server.terminate()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


def remove_experiments(names: list[str]) -> None:
    """Remove this HEAD's experiments of these names (an earlier sweep's), so that the new runs can take them."""
    code, listed = _dvc("exp", "list", "--names-only")
    taken = [name for name in names if name in listed.split()] if code == 0 else []
    if taken:
        _dvc("exp", "remove", *taken)


def experiment(name: str, set_args: list[str]) -> tuple[str | None, float, str]:
    """`dvc exp run --name <name> <set_args>`: (error or None, seconds, DVC's log)."""
    started = time.monotonic()
    code, log = _dvc("exp", "run", "--name", name, *set_args, echo=True)
    seconds = time.monotonic() - started
    if code == 0:
        return None, seconds, log
    errors = [line.strip() for line in log.splitlines() if line.startswith(("ERROR", "error:"))]
    return (errors[-1] if errors else f"dvc exp run exited with {code}"), seconds, log


def run_sweep(base: str | None) -> Sweep | None:
    """Run every point of `sweep:` and score it; None when no sweep is declared. Restores the workspace after."""
    import yaml

    from mlci.core.params import load_params
    from mlci.core.revisions import head, read_json_at, resolve_base
    from mlci.evaluation.gate import read_metrics, read_thresholds
    from mlci.review.params import load_sweep_params
    from mlci.review.sweep_grid import points

    sweep = load_sweep_params()
    if not sweep.declared:
        return None
    raw = yaml.safe_load(paths.PARAMS.read_text(encoding="utf-8")) or {}
    found = points(sweep, raw)
    params = load_params()
    read_metrics()  # "run `dvc repro` first" before any experiment runs
    base_sha = resolve_base(base)
    thresholds = read_thresholds(base_sha, params.gate)
    base_metrics = read_json_at(base_sha, paths.METRICS)
    head_sha = head()[0]
    metrics: list[str] = list(
        dict.fromkeys([sweep.metric, *thresholds.params.floors, *thresholds.params.max_regression])
    )
    started = time.monotonic()
    scored: dict[str, dict[str, Any]] = {}  # by fingerprint

    def judged() -> dict[str, Any]:
        key = fingerprint()
        if key not in scored:
            scored[key] = score(base_sha, thresholds, base_metrics, metrics)
        return scored[key]

    with warm_stages() as route:
        runs = [Run(0, None, {}, True, **judged())]
        names = [f"sweep-{head_sha[:7]}-{number}" for number in range(1, len(found) + 1)]
        remove_experiments(names)
        workspace = Workspace()
        route()
        try:
            for number, (name, point) in enumerate(zip(names, found, strict=True), start=1):
                print(f"sweep: run {number} of {len(found)}: {point.describe()}", file=sys.stderr, flush=True)
                workspace.reset_params()
                error, seconds, log = experiment(name, point.set_args())
                outcome = {"error": error} if error else judged()
                runs.append(
                    Run(
                        number,
                        None if error else name,
                        point.overrides,
                        own_params(point.overrides, raw),
                        seconds=round(seconds, 1),
                        ran=RAN.findall(log),
                        restored=RESTORED.findall(log),
                        **outcome,
                    )
                )
        finally:
            workspace.restore()
    if any(run.own for run in runs[1:]):
        runs = runs[1:]  # a point holds the pull request's params: it speaks for them
    return Sweep(sweep.metric, metrics, base_sha, head_sha, runs, round(time.monotonic() - started, 1))


@cli.command("sweep")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlci.review.sweep", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", metavar="REV", help="revision to compare with (default: merge-base of HEAD and main or origin/main)"
    )
    parser.add_argument("--out", metavar="DIR", type=Path, default=OUT, help="folder for sweep.json (default: report/)")
    args = parser.parse_args(argv)

    from mlci.model.pipeline import set_openmp_wait_policy

    set_openmp_wait_policy()  # before scikit-learn loads, for scoring the models

    from mlci.core.io import write_json
    from mlci.review.sweep_render import markdown

    found = run_sweep(args.base)
    if found is None:
        print("no sweep declared: add `sweep.grid` or `sweep.runs` to params.yaml (docs/experiments.md)")
        return 0
    write_json(args.out / SWEEP_JSON, found.to_json())
    print(markdown(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
