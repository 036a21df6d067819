"""What a pull request's sweep costs: `make bench-sweep` (`ROWS=50000`, the demo's size, by default).

The project is copied into a fresh git repository in a temp folder (`tests/projectkit.py`) with an empty DVC cache,
and `dvc repro` runs once from scratch, committed as the base: **one pipeline run**. A branch then declares the 2 x 3
grid `train.model` (logistic_regression, hist_gradient_boosting) x `train.hist_gradient_boosting.learning_rate`
(0.05, 0.1, 0.2) in `sweep:`, which re-runs nothing, and `python -m mlci.review.sweep --base main` (what `make sweep`
and CI run) runs its six points: **the sweep's extra time**, target at most 3x one pipeline run. Every point changes
`train`, so each re-runs train and evaluate and takes generate, ingest, validate and split from the workspace; the
point that holds the branch's own params takes train from the run-cache.

`--parallel` first times the same six points as `dvc exp run --temp`, unscored, two processes at a time (the
runner's cores) and then one at a time: what running points side by side would save on this machine. Each
measurement starts from the run-cache `dvc repro` left. Prints Markdown; progress goes
to stderr.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))
import projectkit  # noqa: E402
from mlci.review.sweep_params import SweepParams, points  # noqa: E402

GRID = {
    "train.model": ["logistic_regression", "hist_gradient_boosting"],
    "train.hist_gradient_boosting.learning_rate": [0.05, 0.1, 0.2],
}
TARGET = 3.0  # the sweep's extra time, in pipeline runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="demo rows")
    parser.add_argument("--parallel", action="store_true", help="also time the points two at a time (--temp)")
    parser.add_argument("--keep", action="store_true", help="keep the temp copy (its path goes to stderr)")
    args = parser.parse_args(argv)
    print(render(bench(args.rows, args.parallel, args.keep)))
    return 0


def bench(rows: int, parallel: bool, keep: bool) -> dict:
    with projectkit.scratch(f"mlci-bench-sweep-{rows}-", keep) as work:
        project = projectkit.new_project(work / "project", params={"demo": {"n_rows": rows}}, message="bench")
        env = projectkit.default_environment(project)
        progress(rows, "dvc repro (one pipeline run, empty cache) ...")
        found: dict = {"rows": rows}
        found["pipeline"] = timed(lambda: projectkit.dvc(project, "repro", "--quiet", env=env))
        projectkit.commit(project, "base run", env=env)
        projectkit.git(project, "checkout", "--quiet", "-b", "sweep", env=env)
        projectkit.edit_params(project, {"sweep": {"grid": GRID}})
        projectkit.commit(project, "declare a sweep", env=env)
        status = projectkit.dvc(project, "status", env=env).stdout
        assert projectkit.UP_TO_DATE in status, f"declaring a sweep must re-run nothing:\n{status}"
        # Each measurement starts from the run-cache `dvc repro` left, so that neither reuses the other's models.
        runs = project / ".dvc" / "cache" / "runs"
        shutil.copytree(runs, work / "runs")
        if parallel:
            progress(rows, "6 points as `dvc exp run --temp`, 2 at a time, not scored ...")
            found["parallel"] = timed(lambda: temp_runs(project, env, workers=2))
            progress(rows, "the same 6 points one after another, not scored ...")
            reset(runs, work / "runs")
            found["serial"] = timed(lambda: temp_runs(project, env, workers=1, prefix="serial"))
            reset(runs, work / "runs")
        progress(rows, "python -m mlci.review.sweep (6 points, sequential, scored) ...")
        command = [sys.executable, "-m", "mlci.review.sweep", "--base", "main", "--out", "bench-report"]
        found["sweep"] = timed(lambda: projectkit.run(project, *command, env=env))
        sweep = json.loads((project / "bench-report" / "sweep.json").read_text(encoding="utf-8"))
        found["runs"] = [(run["number"], run["seconds"], run["ran"]) for run in sweep["runs"] if run["number"]]
        return found


def reset(runs: Path, saved: Path) -> None:
    """The run-cache as `dvc repro` left it."""
    shutil.rmtree(runs)
    shutil.copytree(saved, runs)


def temp_runs(project: Path, env: dict[str, str], workers: int, prefix: str = "temp") -> None:
    """The grid's points as `dvc exp run --temp`, `workers` at a time (names apart from the sweep's)."""
    found = points(SweepParams(grid=GRID), {})

    def one(number: int) -> None:
        args = found[number - 1].set_args()
        projectkit.dvc(project, "exp", "run", "--temp", "--name", f"{prefix}-{number}", *args, env=env)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(1, len(found) + 1)))


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def render(r: dict) -> str:
    ratio = r["sweep"] / r["pipeline"]
    verdict = f"≤ {TARGET:g}x: {'pass' if ratio <= TARGET else 'FAIL'}"
    lines = [
        "| demo rows | one pipeline run | 6-point sweep (`make sweep`) | ratio | target |"
        + (" 6 points --temp, one at a time | 6 points --temp, 2 at a time |" if "parallel" in r else ""),
        "|---:|---:|---:|---:|---|" + ("---:|---:|" if "parallel" in r else ""),
        f"| {r['rows']:,} | {r['pipeline']:.1f} s | {r['sweep']:.1f} s | {ratio:.2f}x | {verdict} |"
        + (f" {r['serial']:.1f} s | {r['parallel']:.1f} s |" if "parallel" in r else ""),
        "",
        "| point | dvc exp run | stages run |",
        "|---:|---:|---|",
    ]
    lines += [f"| {number} | {seconds:.1f} s | {', '.join(ran) or '–'} |" for number, seconds, ran in r["runs"]]
    return "\n".join(lines)


def progress(rows: int, message: str) -> None:
    print(f"[{rows:,} rows] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
