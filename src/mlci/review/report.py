"""The pull-request report: this workspace's model compared with the base revision's.

Reads DVC's machine output (`dvc metrics diff <base> --json --all`, `dvc params diff <base> --json`, `dvc status
--json`), the git-tracked plot data and data profile in the workspace and at the base (`git show <base>:<path>`), the
committed `dvc.lock` and the `gate` params (the base's: a pull request cannot loosen its own gate). Writes into
`--out` (default `report/`):
- `report.md`: the comment body, first line `MARKER`, under GitHub's 65,536-character limit;
- `full-report.md`: the same, never shortened;
- `gate.json`: the quality-gate verdict, its checks, and which thresholds it applied and from where;
- `roc.png`, `precision_recall.png`, `calibration.png`, `feature_importance.png`: base vs head.
With `--sweep report/sweep.json` (what `python -m mlci.review.sweep` wrote), the report gains the sweep's section.

`python -m mlci.review.report [--base REV]` compares with REV, by default the merge-base of HEAD and `main` (or
`origin/main`).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from mlci.core import cli, paths
from mlci.core.errors import DataError
from mlci.core.params import load_params
from mlci.core.revisions import dvc_json, head, read_at, read_json_at, resolve_base
from mlci.evaluation.gate import judge, read_metrics, read_thresholds, to_json
from mlci.evaluation.samerows import same_rows
from mlci.model.pipeline import set_openmp_wait_policy
from mlci.review import runcost
from mlci.review.data import Change, LockStatus, Outputs, ReportData, SplitChange
from mlci.review.render import FULL_REPORT, MARKER, fit, render
from mlci.review.sweep_data import read as read_sweep

__all__ = ["MARKER", "Change", "LockStatus", "Outputs", "ReportData", "SplitChange", "gather", "write"]

OUT = Path("report")


def gather(
    base: str | None = None,
    duration: float | None = None,
    run_url: str | None = None,
    base_cost: Path | None = None,
    sweep: Path | None = None,
) -> ReportData:
    """Collect everything the report shows, comparing the workspace with `base` (None: the default base).

    `base_cost`: the base run's cost records; `sweep`: a `sweep.json` that `python -m mlci.review.sweep` wrote.
    """
    params = load_params()
    read_metrics()  # fails with "run `dvc repro` first" before asking DVC anything
    base_sha = resolve_base(base)
    thresholds = read_thresholds(base_sha, params.gate)  # a malformed base `gate` fails before DVC is asked
    head_sha, dirty = head()
    metrics, segments = split_metrics_diff(dvc_json("metrics", "diff", base_sha, "--all"))
    has_base = read_at(base_sha, paths.METRICS) is not None
    head_metrics = {name: c.new for name, c in metrics.items() if c.new is not None}
    base_metrics = {name: c.old for name, c in metrics.items() if c.old is not None} if has_base else None
    comparison = same_rows(base_sha, thresholds.params, params.evaluate) if has_base else None
    changed = changed_params(dvc_json("params", "diff", base_sha))
    return ReportData(
        metrics=metrics,
        segments=segments,
        params=changed,
        head=read_outputs(_read_workspace),
        base=read_outputs(partial(read_json_at, base_sha)) if has_base else None,
        gate=judge(head_metrics, base_metrics, thresholds, comparison),
        lock=lock_status(),
        comparison=comparison,
        split=split_change(base_sha, changed) if has_base else None,
        noise_tolerance=thresholds.params.noise_tolerance,
        base_sha=base_sha,
        head_sha=head_sha,
        head_dirty=dirty,
        duration=duration,
        run_url=run_url,
        cost=runcost.read(base=base_cost),
        sweep=read_sweep(sweep) if sweep is not None else None,
    )


def split_metrics_diff(diff: dict) -> tuple[dict[str, Change], dict[str, dict[str, Change]]]:
    """`dvc metrics diff --json` output as {metric: Change} and {segment: {metric: Change}}."""
    metrics = {name: Change(v.get("old"), v.get("new")) for name, v in diff.get(str(paths.METRICS), {}).items()}
    segments: dict[str, dict[str, Change]] = {}
    for key, v in diff.get(str(paths.SEGMENTS), {}).items():
        segment, _, metric = key.rpartition(".")  # DVC flattens {segment: {metric: x}}; metric names have no dot
        segments.setdefault(segment, {})[metric] = Change(v.get("old"), v.get("new"))
    return metrics, segments


def changed_params(diff: dict) -> dict[str, Change]:
    """`dvc params diff --json` output as {key: Change}; keys outside params.yaml are prefixed with their file."""
    return {
        (key if file == "params.yaml" else f"{file}:{key}"): Change(v.get("old"), v.get("new"))
        for file, values in diff.items()
        for key, v in values.items()
    }


def read_outputs(read: Callable[[Path], Any]) -> Outputs:
    """One revision's plot data and profile; `read(path)` returns parsed JSON or None when the file is absent."""

    def records(path: Path, key: str) -> list[dict]:
        content = read(path)
        return content.get(key, []) if isinstance(content, dict) else []

    confusion = read(paths.CONFUSION_PLOT)
    return Outputs(
        roc=records(paths.ROC_PLOT, "roc"),
        precision_recall=records(paths.PR_PLOT, "precision_recall"),
        calibration=records(paths.CALIBRATION_PLOT, "calibration"),
        confusion=confusion if isinstance(confusion, list) else [],
        importance=records(paths.IMPORTANCE_PLOT, "feature_importance"),
        profile=read(paths.PROFILE),
    )


def _read_workspace(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc.msg}); run `dvc repro` to write it again") from None


def split_change(base_sha: str, params: dict[str, Change]) -> SplitChange:
    """How the base's test split compares with the head's: sizes, same file or not, and what changed it."""
    from mlci.evaluation.baseline import locked_outputs

    base_lock, head_lock = (
        read_at(base_sha, paths.LOCK),
        paths.LOCK.read_text(encoding="utf-8") if paths.LOCK.is_file() else None,
    )
    base_out = locked_outputs(base_lock or "")
    head_out = locked_outputs(head_lock or "")
    test = str(paths.TEST_SPLIT)
    same = base_out[test] == head_out[test] if test in base_out and test in head_out else None
    data = str(paths.VALIDATED)
    data_changed = base_out[data] != head_out[data] if data in base_out and data in head_out else None
    return SplitChange(
        base_rows=_parquet_rows(base_out.get(test)),
        head_rows=_parquet_rows(head_out.get(test)),
        same=same,
        params=sorted(key for key in params if key.startswith("split.")),
        data_changed=data_changed,
    )


def _parquet_rows(md5: str | None) -> int | None:
    """The row count of the Parquet file the DVC cache holds under `md5` (its footer only), or None."""
    if md5 is None:
        return None
    from mlci.evaluation.baseline import cached

    path = cached(md5)
    if not path.is_file():
        return None
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (OSError, ValueError):
        return None


def lock_status(lock: Path = paths.LOCK) -> LockStatus:
    """Compare the workspace's `dvc.lock` with HEAD's, stage by stage; ask `dvc status` what is not reproduced."""
    current = lock.read_text(encoding="utf-8") if lock.is_file() else None
    committed = read_at("HEAD", lock)
    return LockStatus(
        committed=committed is not None,
        stale=stale_stages(committed, current),
        unreproduced=sorted(dvc_json("status")),
    )


def stale_stages(committed: str | None, current: str | None) -> list[str]:
    """The stages whose entries differ between two `dvc.lock` texts (None: the file is absent)."""
    import yaml

    old = (yaml.safe_load(committed or "") or {}).get("stages", {})
    new = (yaml.safe_load(current or "") or {}).get("stages", {})
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


def write(data: ReportData, out: Path = OUT, pngs: bool = True) -> Path:
    """Write the report files into `out`; return the path of `report.md`."""
    from mlci.core.io import write_bytes, write_json

    write_bytes(out / FULL_REPORT, render(data).encode())
    write_bytes(out / "report.md", fit(data).encode())
    verdict = to_json(data.gate) | {"base": data.base_sha, "head": data.head_sha, "lock_matches": data.lock.matches}
    write_json(out / "gate.json", verdict)
    if pngs:
        from mlci.review.charts import write_pngs

        write_pngs(out, data.head, data.base)
    return out / "report.md"


def _run_url() -> str | None:
    """This GitHub Actions run's page, from the variables every job has (not from event data)."""
    parts = [os.environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return "{}/{}/actions/runs/{}".format(*parts) if all(parts) else None


@cli.command("report")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlci.review.report", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", metavar="REV", help="revision to compare with (default: merge-base of HEAD and main or origin/main)"
    )
    parser.add_argument(
        "--out", metavar="DIR", type=Path, default=OUT, help="folder for the report files (default: report/)"
    )
    parser.add_argument(
        "--duration",
        metavar="SECONDS",
        type=float,
        default=os.environ.get("MLCI_RUN_SECONDS"),
        help="pipeline run time in seconds, shown in the report (default: $MLCI_RUN_SECONDS)",
    )
    parser.add_argument(
        "--run-url", metavar="URL", default=_run_url(), help="link to the CI run (default: from GITHUB_* variables)"
    )
    parser.add_argument("--no-png", action="store_true", help="skip the PNG plots")
    parser.add_argument(
        "--base-cost",
        metavar="DIR",
        type=Path,
        default=runcost.BASE_COST_DIR,
        help="the base run's cost records, for the run cost section (default: .mlci/base-cost/)",
    )
    parser.add_argument(
        "--sweep", metavar="FILE", type=Path, help="a sweep.json from `make sweep`, shown as the sweep section"
    )
    args = parser.parse_args(argv)

    set_openmp_wait_policy()  # before scikit-learn loads, for scoring the two models

    data = gather(args.base, duration=args.duration, run_url=args.run_url, base_cost=args.base_cost, sweep=args.sweep)
    print(write(data, args.out, pngs=not args.no_png))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
