"""What judging on the same rows costs: `make bench-gate` (`ROWS="50000 5000000"` by default).

For each demo size the project is copied into a fresh git repository in a temp folder (`tests/projectkit.py`), the
pipeline runs and is committed as the base, then `train.hist_gradient_boosting.max_iter` changes and the pipeline runs
again: a head with another model on the same test split (a fifth of the rows: 10,000 and 1,000,000 test rows). Then,
in that copy, median of `--runs`:
- `python -m mlci.review.gate --base HEAD` and `python -m mlci.review.report --no-png --base HEAD` with the base model
  in the DVC cache: the same-rows comparison (fetch and verify the base model and training split, score both models,
  leave out rows the base trained on, metrics and intervals overall and per segment);
- the same two commands with the DVC cache moved aside: the base model cannot be had, so they fall back to the
  committed metrics, which is what they cost before the same-rows comparison existed.
The difference is what the comparison adds. The intervals alone are timed in-process for both methods (analytic, the
default, and the seeded bootstrap with 1,000 resamples) on as many synthetic rows as the test split has. Prints
Markdown; progress goes to stderr. Targets: at most 3 s added to the report at the demo size, at most 10 s at 1M test
rows.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import projectkit  # noqa: E402

DEFAULT_ROWS = (50_000, 5_000_000)
TARGETS = {50_000: 3.0, 5_000_000: 10.0}  # seconds the comparison may add, by demo rows (test rows: a fifth)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS), help="demo row counts")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command (the median is shown)")
    parser.add_argument("--keep", action="store_true", help="keep the temp copies (their paths go to stderr)")
    args = parser.parse_args(argv)
    results = [bench(rows, args.runs, args.keep) for rows in args.rows]
    print(render(results))
    return 0


def bench(rows: int, runs: int, keep: bool) -> dict:
    with projectkit.scratch(f"mlci-bench-gate-{rows}-", keep) as work:
        project = projectkit.new_project(
            work / "project",
            params={"demo": {"n_rows": rows}, "evaluate": {"importance_rows": 1000, "importance_repeats": 1}},
            message=f"bench: demo.n_rows={rows}",
        )
        env = projectkit.default_environment(project)
        progress(rows, "dvc repro (base) ...")
        projectkit.dvc(project, "repro", "--quiet", env=env)
        projectkit.commit(project, "base run", env=env)
        projectkit.edit_params(project, {"train": {"hist_gradient_boosting": {"max_iter": 150}}})
        progress(rows, "dvc repro (head) ...")
        projectkit.dvc(project, "repro", "--quiet", env=env)
        test_rows = int(rows * 0.2)
        gate = [sys.executable, "-m", "mlci.review.gate", "--base", "HEAD"]
        report = [sys.executable, "-m", "mlci.review.report", "--no-png", "--base", "HEAD", "--out", "bench-report"]
        found = {"rows": rows, "test_rows": test_rows}
        for name, command in (("gate", gate), ("report", report)):
            progress(rows, f"{name}: same rows x{runs} ...")
            found[f"{name}_same"] = timed(command, project, env, runs, expect="on the same")
        found["intervals"] = {method: interval_seconds(test_rows, method) for method in ("analytic", "bootstrap")}
        cache = project / ".dvc" / "cache"
        cache.rename(project / ".dvc" / "cache-aside")
        try:
            for name, command in (("gate", gate), ("report", report)):
                progress(rows, f"{name}: committed metrics x{runs} ...")
                found[f"{name}_committed"] = timed(command, project, env, runs, expect="committed metrics")
        finally:
            (project / ".dvc" / "cache-aside").rename(cache)
        return found


def timed(command: list[str], cwd: Path, env: dict[str, str], runs: int, expect: str) -> float:
    """The median wall time of `command`; it must mention `expect` (the comparison it was meant to make)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{done.stdout}{done.stderr}")
        text = done.stdout + (cwd / "bench-report/report.md").read_text() if "report" in command[2] else done.stdout
        if expect not in text:
            raise SystemExit(f"{' '.join(command)} did not compare on {expect!r}:\n{done.stdout}")
    return statistics.median(times)


def interval_seconds(rows: int, method: str) -> float:
    """The intervals of all seven metrics alone, in this process, on `rows` synthetic scores of two models."""
    import numpy as np

    from mlci.core.metric_names import METRIC_NAMES
    from mlci.evaluation.paired import intervals

    rng = np.random.default_rng(0)
    y = (rng.random(rows) < 0.03).astype(int)
    base = np.clip(rng.normal(0.3 + 0.3 * y, 0.2), 0, 1)
    head = np.clip(base + rng.normal(0.02 * y, 0.05), 0, 1)
    started = time.perf_counter()
    intervals(y, head, base, (0.5, 0.5), METRIC_NAMES, 0.95, method, resamples=1000, seed=42)
    return time.perf_counter() - started


def render(results: list[dict]) -> str:
    lines = [
        "| demo rows | test rows | gate: committed | gate: same rows | added | report: committed "
        "| report: same rows | added | target | intervals: analytic | intervals: bootstrap (1,000) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        gate_added = r["gate_same"] - r["gate_committed"]
        report_added = r["report_same"] - r["report_committed"]
        target = TARGETS.get(r["rows"])
        verdict = "" if target is None else f"≤ {target:g} s: {'pass' if report_added <= target else 'FAIL'}"
        lines.append(
            f"| {r['rows']:,} | {r['test_rows']:,} | {r['gate_committed']:.2f} s | {r['gate_same']:.2f} s "
            f"| {gate_added:+.2f} s | {r['report_committed']:.2f} s | {r['report_same']:.2f} s "
            f"| {report_added:+.2f} s | {verdict} | {r['intervals']['analytic']:.2f} s "
            f"| {r['intervals']['bootstrap']:.2f} s |"
        )
    return "\n".join(lines)


def progress(rows: int, message: str) -> None:
    print(f"[{rows:,} rows] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
