"""What a pull request's sweep costs: `make bench-sweep` (`ROWS=50000`, the demo's size, by default).

The project is copied into a fresh git repository in a temp folder (`tests/projectkit.py`) with an empty DVC cache,
and `dvc repro` runs once from scratch, committed as the base: **one pipeline run**. A branch then declares the 2 x 3
grid `train.model` (logistic_regression, hist_gradient_boosting) x `train.hist_gradient_boosting.learning_rate`
(0.05, 0.1, 0.2) in `sweep:`, which re-runs nothing, and `python -m mlci.review.sweep --base main` (what `make sweep`
and CI run) runs its six points: **the sweep's extra time**, target at most 3x one pipeline run. Every point changes
`train`, so each re-runs train and evaluate and takes generate, ingest, validate and split from the workspace; the
point that holds the branch's own params takes train from the run-cache.

Both are measured in wall time and in CPU time (this process's children: DVC, the stages, the sweep's own work),
which other engineers' jobs on a shared machine disturb far less than the wall clock. `--repeat N` measures N fresh
copies and also prints the best of each column; "other CPU" is what other processes used meanwhile (noise).

`--parallel` first times the same six points as `dvc exp run --temp`, unscored, two processes at a time (the
runner's cores) and then one at a time: what running points side by side would save on this machine. Each
measurement starts from the run-cache `dvc repro` left. Prints Markdown; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench import other_cpu  # noqa: E402

import projectkit  # noqa: E402
from mlci.review.params import SweepParams  # noqa: E402
from mlci.review.sweep_grid import points  # noqa: E402

GRID = {
    "train.model": ["logistic_regression", "hist_gradient_boosting"],
    "train.hist_gradient_boosting.learning_rate": [0.05, 0.1, 0.2],
}
TARGET = 3.0  # the sweep's extra time, in pipeline runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="demo rows")
    parser.add_argument("--repeat", type=int, default=1, help="measure this many fresh copies (best of each column)")
    parser.add_argument("--parallel", action="store_true", help="also time the points two at a time (--temp)")
    parser.add_argument("--keep", action="store_true", help="keep the temp copies (their paths go to stderr)")
    args = parser.parse_args(argv)
    found = [bench(args.rows, args.parallel, args.keep) for _ in range(args.repeat)]
    print(render(found))
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
        progress(rows, f"pipeline {cell(found['pipeline'])}, sweep {cell(found['sweep'])}")
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


def timed(action) -> dict[str, float]:
    """Wall seconds, CPU seconds of the child processes `action` waited for, and other processes' CPU meanwhile."""
    others = other_cpu()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    action()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"wall": wall, "cpu": cpu, "others": (other_cpu() - others) / wall}


def cell(measured: dict[str, float]) -> str:
    return f"{measured['wall']:.1f} s ({measured['cpu']:.1f} s CPU)"


def render(found: list[dict]) -> str:
    parallel = "parallel" in found[0]
    lines = [
        "| demo rows | one pipeline run | 6-point sweep (`make sweep`) | ratio: wall | CPU | other CPU | target |"
        + (" 6 points --temp, one at a time | 6 points --temp, 2 at a time |" if parallel else ""),
        "|---:|---:|---:|---:|---:|---:|---|" + ("---:|---:|" if parallel else ""),
    ]
    for r in found:
        wall, cpu = (r["sweep"][kind] / r["pipeline"][kind] for kind in ("wall", "cpu"))
        lines.append(
            f"| {r['rows']:,} | {cell(r['pipeline'])} | {cell(r['sweep'])} | {wall:.2f}x | {cpu:.2f}x "
            f"| {max(r['pipeline']['others'], r['sweep']['others']):.0%} of a CPU | {verdict(wall)} |"
            + (f" {cell(r['serial'])} | {cell(r['parallel'])} |" if parallel else "")
        )
    if len(found) > 1:
        best = {
            part: {kind: min(r[part][kind] for r in found) for kind in ("wall", "cpu")}
            for part in found[0]
            if part in ("pipeline", "sweep")
        }
        wall, cpu = (best["sweep"][kind] / best["pipeline"][kind] for kind in ("wall", "cpu"))
        lines.append(
            f"| best of {len(found)} | {cell(best['pipeline'])} | {cell(best['sweep'])} | {wall:.2f}x | {cpu:.2f}x "
            f"| | {verdict(wall)} |" + (" | |" if parallel else "")
        )
    lines += ["", "| point | " + " | ".join(f"dvc exp run ({n})" for n in range(1, len(found) + 1)) + " | stages run |"]
    lines.append("|---:|" + "---:|" * len(found) + "---|")
    for number, (_, _, ran) in enumerate(found[0]["runs"], start=1):
        seconds = " | ".join(f"{r['runs'][number - 1][1]:.1f} s" for r in found)
        lines.append(f"| {number} | {seconds} | {', '.join(ran) or '–'} |")
    return "\n".join(lines)


def verdict(ratio: float) -> str:
    return f"≤ {TARGET:g}x: {'pass' if ratio <= TARGET else 'FAIL'}"


def progress(rows: int, message: str) -> None:
    print(f"[{rows:,} rows] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
