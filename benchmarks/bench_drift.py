"""Time the drift check on a large batch: `make bench-drift` (`--rows 1000000` by default).

In a temp folder: the project's params.yaml with `demo.n_rows` set so that the training split (the reference) has
`--rows` rows; generate, ingest, validate, split, train and evaluate run there (the default model); then a holiday
batch of `--rows` rows. A fresh process then loads everything the check reads (the batch, the reference, the test
split and the model) and measures the check itself: the batch's features, the test split's scores, and
`mlci.monitor.drift.compare` (feature drift, score drift, decay with its bootstrap, fairness). It reports the wall time
and the peak RSS beyond what loading left (RSS sampled every millisecond, less the RSS when the check starts).

Prints Markdown and the targets (at most 5 s and 2 GiB at 1M rows) with pass or fail; `--strict` exits 1 on a fail.
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
STAGES = ("generate", "ingest", "validate", "split", "train", "evaluate")


def rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(folder: Path) -> dict:
    """In `folder`: load what the check reads, then run it once, sampling RSS meanwhile."""
    os.chdir(folder)
    from mlci.core import paths
    from mlci.core.io import read_parquet
    from mlci.core.model import load_model, set_openmp_wait_policy
    from mlci.core.schema import Schema
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


def build(folder: Path, rows: int) -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["demo"]["n_rows"] = round(rows / (1 - params["split"]["test_size"]))
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for stage in STAGES:
        print(f"{stage} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", f"mlci.stages.{stage}"], cwd=folder, env=env, check=True)
    batch = ["--season", "holiday", "--rows", str(rows), "--seed", "7", "--out", "batch.parquet"]
    subprocess.run([sys.executable, "-m", "mlci.stages.batch", *batch], cwd=folder, env=env, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the batch and of the reference")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    folder = Path(tempfile.mkdtemp(prefix="bench-drift-"))
    try:
        build(folder, args.rows)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        child = [sys.executable, str(Path(__file__).resolve()), "--measure", str(folder)]
        found = json.loads(subprocess.run(child, env=env, check=True, capture_output=True, text=True).stdout)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print("| batch rows | reference rows | test rows | loading | check | peak RSS beyond loading | verdict |")
    print("|--:|--:|--:|--:|--:|--:|---|")
    peak = found["peak_beyond_loading"] / MIB
    print(
        f"| {found['batch_rows']:,} | {found['reference_rows']:,} | {found['test_rows']:,} | "
        f"{found['loading_seconds']:.2f} s | {found['seconds']:.2f} s | {peak:,.0f} MiB | {found['verdict']} |"
    )
    passed = True
    if args.rows >= 1_000_000:
        checks = [
            ("wall time of the check", found["seconds"] <= MAX_SECONDS, f"{found['seconds']:.2f} s <= {MAX_SECONDS} s"),
            ("peak memory beyond loading", found["peak_beyond_loading"] <= MAX_PEAK, f"<= {MAX_PEAK / GIB:.0f} GiB"),
        ]
        print()
        for name, ok, limit in checks:
            print(f"- {name}: {'pass' if ok else 'FAIL'} ({limit})")
            passed = passed and ok
    return 0 if passed or not args.strict else 1


if __name__ == "__main__":
    raise SystemExit(main())
