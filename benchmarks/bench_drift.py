"""Time the drift check on a large batch: `make bench-drift` (`--rows 1000000` by default).

In a temp folder: the project's params.yaml with `demo.n_rows` set so that the training split (the reference) has
`--rows` rows; generate, ingest, validate, split, train and evaluate run there (the default model); then a holiday
batch of `--rows` rows. A fresh process then loads everything the check reads (the batch, the reference, the test
split and the model) and measures the check itself: the batch's features, the test split's scores, and
`mlci.monitor.drift.compare` (feature drift, score drift, decay with its bootstrap, fairness). It reports the wall time
and the peak RSS beyond what loading left (RSS sampled every millisecond, less the RSS when the check starts).

Then the false-positive rate: `--resamples` (20) resamples of the training split, drawn with replacement, each
checked as a batch, on the same project and on one whose training split has `--small-rows` (500) rows; and as many
holiday batches of the training split's size on the small one. A resample of the training data is no drift: at most
1 in 20 may be flagged, at either size (target), and every holiday batch should be.

Prints Markdown and the targets (at most 5 s and 2 GiB at 1M rows, at most 1 in 20 resamples flagged) with pass or
fail; `--strict` exits 1 on a fail.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
GIB, MIB = 1024**3, 1024**2
MAX_SECONDS, MAX_PEAK = 5.0, 2 * GIB
MAX_FLAGGED = 1  # of --resamples resamples of the training data
STAGES = ("generate", "ingest", "validate", "split", "train", "evaluate")


def rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(folder: Path) -> dict:
    """In `folder`: load what the check reads, then run it once, sampling RSS meanwhile."""
    os.chdir(folder)
    from mlci.core import paths
    from mlci.core.io import read_parquet
    from mlci.core.schema import Schema
    from mlci.model.pipeline import load_model, set_openmp_wait_policy
    from mlci.monitor import drift
    from mlci.monitor.batch import prepare, read_table
    from mlci.monitor.params import MonitorParams

    set_openmp_wait_policy()
    started = time.perf_counter()
    schema = Schema.load(paths.SCHEMA)
    table = read_table("batch.parquet")
    reference = read_parquet(paths.TRAIN_SPLIT, columns=schema.features)
    test = drift.read_test(schema)
    model = load_model(paths.MODEL)
    params = MonitorParams()
    loading = time.perf_counter() - started

    baseline, peak, done = rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    batch = prepare(table, schema, "batch.parquet")
    result = drift.compare(reference, batch, model, drift.score_test(model, test, params), schema, params, 0.5)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    return {
        "batch_rows": table.num_rows,
        "reference_rows": reference.num_rows,
        "test_rows": len(test["labels"]),
        "loading_seconds": round(loading, 2),
        "seconds": round(wall, 2),
        "peak_beyond_loading": max(peak[0] - baseline, 0),
        "rss_at_start": baseline,
        "verdict": drift.summary(result),
    }


def false_positives(folder: Path, resamples: int, holidays: int) -> dict:
    """In `folder`: how many resamples of the training split (and holiday batches of its size) the check flags."""
    os.chdir(folder)
    import numpy as np
    import pyarrow as pa

    from mlci.core import paths
    from mlci.core.io import read_parquet
    from mlci.core.schema import Schema
    from mlci.model.pipeline import load_model, set_openmp_wait_policy
    from mlci.monitor import drift
    from mlci.monitor.batch import prepare
    from mlci.monitor.params import MonitorParams
    from mlci.monitor.result import DriftResult
    from mlci.stages.helpers.demo import generate

    set_openmp_wait_policy()
    schema = Schema.load(paths.SCHEMA)
    training = read_parquet(paths.TRAIN_SPLIT)
    reference = training.select(schema.features)
    model = load_model(paths.MODEL)
    params = MonitorParams()
    test = drift.score_test(model, drift.read_test(schema), params)

    def check(table) -> DriftResult:
        return drift.compare(reference, prepare(table, schema, "batch"), model, test, schema, params, 0.5)

    n = training.num_rows
    results = [check(training.take(np.random.default_rng(100 + seed).integers(0, n, n))) for seed in range(resamples)]
    holiday = [check(pa.concat_tables(generate(n, 100 + seed, "holiday"))).retrain for seed in range(holidays)]
    return {
        "reference_rows": n,
        "test_rows": len(test["labels"]),
        "resamples": resamples,
        "flagged": sum(r.retrain for r in results),
        "score_psi_above": sum(r.score.psi >= params.drift.psi for r in results),
        "score_psi_max": max(r.score.psi for r in results),
        "score_p_min": min(r.score.p_adjusted for r in results),
        "holidays": holidays,
        "holiday_flagged": sum(holiday),
    }


def build(folder: Path, rows: int) -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["demo"]["n_rows"] = round(rows / (1 - params["split"]["test_size"]))
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for stage in STAGES:
        print(f"{stage} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", f"mlci.stages.{stage}"], cwd=folder, env=env, check=True)
    batch = ["--season", "holiday", "--rows", str(rows), "--seed", "7", "--out", "batch.parquet"]
    subprocess.run([sys.executable, "-m", "mlci.stages.helpers.batch", *batch], cwd=folder, env=env, check=True)


def child(folder: Path, *args: str) -> dict:
    """Run this script's measuring half in a fresh process (imports and memory of its own) and read its JSON."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, str(Path(__file__).resolve()), *args, str(folder)]
    return json.loads(subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the batch and of the reference")
    parser.add_argument("--small-rows", type=int, default=500, help="reference rows of the small project")
    parser.add_argument("--resamples", type=int, default=20, help="resamples of the training data per project")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child processes
    parser.add_argument("--false-positives", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--holidays", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    if args.false_positives:
        print(json.dumps(false_positives(args.false_positives, args.resamples, args.holidays)))
        return 0
    folder, small = (Path(tempfile.mkdtemp(prefix=f"bench-drift-{kind}-")) for kind in ("large", "small"))
    try:
        build(folder, args.rows)
        found = child(folder, "--measure")
        rates = [child(folder, "--resamples", str(args.resamples), "--false-positives")]  # its holiday batch: above
        build(small, args.small_rows)
        n = str(args.resamples)
        rates.insert(0, child(small, "--resamples", n, "--holidays", n, "--false-positives"))
    finally:
        if not args.keep:
            for path in (folder, small):
                shutil.rmtree(path, ignore_errors=True)
    print("| batch rows | reference rows | test rows | loading | check | peak RSS beyond loading | verdict |")
    print("|--:|--:|--:|--:|--:|--:|---|")
    peak = found["peak_beyond_loading"] / MIB
    print(
        f"| {found['batch_rows']:,} | {found['reference_rows']:,} | {found['test_rows']:,} | "
        f"{found['loading_seconds']:.2f} s | {found['seconds']:.2f} s | {peak:,.0f} MiB | {found['verdict']} |"
    )
    print()
    print(
        "| reference rows | test rows scored | resamples flagged | score PSI >= threshold | largest score PSI | "
        "smallest score p (corrected) | holiday batches flagged |"
    )
    print("|--:|--:|--:|--:|--:|--:|--:|")
    for r in rates:
        holidays = f"{r['holiday_flagged']} of {r['holidays']}" if r["holidays"] else "-"
        print(
            f"| {r['reference_rows']:,} | {r['test_rows']:,} | {r['flagged']} of {r['resamples']} | "
            f"{r['score_psi_above']} | {r['score_psi_max']:.3f} | {r['score_p_min']:.4f} | {holidays} |"
        )
    passed = all(r["flagged"] <= MAX_FLAGGED * r["resamples"] / 20 for r in rates)
    print()
    print(f"- resamples of the training data flagged: {'pass' if passed else 'FAIL'} (at most {MAX_FLAGGED} in 20)")
    if args.rows >= 1_000_000:
        checks = [
            ("wall time of the check", found["seconds"] <= MAX_SECONDS, f"{found['seconds']:.2f} s <= {MAX_SECONDS} s"),
            ("peak memory beyond loading", found["peak_beyond_loading"] <= MAX_PEAK, f"<= {MAX_PEAK / GIB:.0f} GiB"),
        ]
        for name, ok, limit in checks:
            print(f"- {name}: {'pass' if ok else 'FAIL'} ({limit})")
            passed = passed and ok
    return 0 if passed or not args.strict else 1


if __name__ == "__main__":
    raise SystemExit(main())
