"""Run the pull request's sweep (`sweep:` in params.yaml) as DVC experiments and judge each run like the head.

`python -m mlci.review.sweep [--base REV] [--out DIR]` (`make sweep`; CI's train job runs the same) needs the
workspace reproduced (`dvc repro`). It scores the workspace's own model first, then runs each point in turn with
`dvc exp run --name sweep-<head>-<n> -S key=value ...` in the workspace: DVC re-runs only the stages a point's params
touch and takes every other stage, and any point it has seen before, from its cache. After each run the workspace
holds that point's model and test split, which are scored against the base revision's model on the same rows
(`evaluation.samerows.same_rows`) and judged by the base's gate (`evaluation.gate.judge`). Then the workspace is put
back as it was (params, `dvc.lock`, reports, the stages' run records in `.mlci/`, and the cached outputs through
`dvc checkout`).

Writes `DIR/sweep.json` (default `report/`), which `python -m mlci.review.report --sweep` turns into the report's
sweep section, and prints that section. The sweep informs the review; only the pull request's own params are gated.
Exit 2 (one line) on a bad `sweep:` section, including a sweep past `sweep.max_runs`, before anything runs.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mlci.core import cli, paths
from mlci.core.errors import DataError
from mlci.review.sweep_data import Run, Score, Sweep, read

__all__ = ["Run", "Score", "Sweep", "main", "own_params", "read", "run_sweep"]

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
    """Run `dvc <args>` with no standard input; its exit code and output (echoed to stderr as it comes if `echo`)."""
    dvc = shutil.which("dvc") or "dvc"
    process = subprocess.Popen(
        [dvc, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if echo:
            sys.stderr.write(line)
            sys.stderr.flush()
    return process.wait(), "".join(lines)


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
    from mlci.review.sweep_params import load_sweep_params, points

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
    runs = [Run(0, None, {}, True, **score(base_sha, thresholds, base_metrics, metrics))]
    names = [f"sweep-{head_sha[:7]}-{number}" for number in range(1, len(found) + 1)]
    remove_experiments(names)
    workspace = Workspace()
    try:
        for number, (name, point) in enumerate(zip(names, found, strict=True), start=1):
            print(f"sweep: run {number} of {len(found)}: {point.describe()}", file=sys.stderr, flush=True)
            workspace.reset_params()
            error, seconds, log = experiment(name, point.set_args())
            outcome = {"error": error} if error else score(base_sha, thresholds, base_metrics, metrics)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlci.review.sweep", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", metavar="REV", help="revision to compare with (default: merge-base of HEAD and main or origin/main)"
    )
    parser.add_argument("--out", metavar="DIR", type=Path, default=OUT, help="folder for sweep.json (default: report/)")
    args = parser.parse_args(argv)

    from mlci.model.pipeline import set_openmp_wait_policy

    set_openmp_wait_policy()  # before scikit-learn loads, for scoring the models

    def run() -> None:
        from mlci.core.io import write_json
        from mlci.review.sweep_render import markdown

        found = run_sweep(args.base)
        if found is None:
            print("no sweep declared: add `sweep.grid` or `sweep.runs` to params.yaml (docs/experiments.md)")
            return
        write_json(args.out / SWEEP_JSON, found.to_json())
        print(markdown(found))

    return cli.run(run, "sweep")


if __name__ == "__main__":
    raise SystemExit(main())
