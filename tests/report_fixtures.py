"""What the gate, report and sweep tests share.

The two recorded pipeline runs, the gate they were judged by, the report's inputs built from them (`fixture_data`),
and how to read a rendered report back (`table_row`, `mermaid_blocks`).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import partial
from pathlib import Path

from mlci.core.params import GateParams
from mlci.evaluation.gate import check
from mlci.review.report import LockStatus, ReportData, changed_params, read_outputs, split_metrics_diff

FIXTURES = Path(__file__).parent / "fixtures" / "report"
BASE_METRICS = json.loads((FIXTURES / "base/reports/eval/metrics.json").read_text())
HEAD_METRICS = json.loads((FIXTURES / "head/reports/eval/metrics.json").read_text())
# The gate section of the project's params.yaml when the fixtures were made.
PROJECT_GATE = GateParams(
    floors={"roc_auc": 0.8, "average_precision": 0.3},
    max_regression={"roc_auc": 0.01, "average_precision": 0.02},
    noise_tolerance=0.002,
)
# A pull request's gate, looser and tighter than the project's.
LOOSENED = GateParams(
    floors={"roc_auc": 0.5, "average_precision": 0.3}, max_regression={"roc_auc": 0.5, "average_precision": 0.02}
)
TIGHTENED = GateParams(
    floors={"roc_auc": 0.8, "average_precision": 0.3}, max_regression={"roc_auc": 0.005, "average_precision": 0.02}
)

METRICS_DIFF = json.loads((FIXTURES / "dvc/metrics_diff.json").read_text())
PARAMS_DIFF = json.loads((FIXTURES / "dvc/params_diff.json").read_text())
# The commit of the base run when the fixtures were made.
BASE_SHA = "11ca687b2c09527b881eb8b04db9415a7a014137"  # pragma: allowlist secret (a commit SHA)
HEAD_SHA = "5e0f3d2c8a4b19e7f6a0c3d2b1e4f5a6978c0d1e"  # pragma: allowlist secret (a commit SHA)


def _read_fixture(side: str, path: Path):
    file = FIXTURES / side / path
    return json.loads(file.read_text()) if file.is_file() else None


def fixture_data(metrics_diff: dict = METRICS_DIFF, *, baseline: bool = True, **overrides) -> ReportData:
    """The report's inputs as `report.gather` builds them, from the fixture files instead of git and DVC."""
    metrics, segments = split_metrics_diff(metrics_diff)
    head_metrics = {name: c.new for name, c in metrics.items() if c.new is not None}
    base_metrics = {name: c.old for name, c in metrics.items() if c.old is not None} if baseline else None
    data = ReportData(
        metrics=metrics,
        segments=segments,
        params=changed_params(PARAMS_DIFF) if baseline else {},
        head=read_outputs(partial(_read_fixture, "head")),
        base=read_outputs(partial(_read_fixture, "base")) if baseline else None,
        gate=check(head_metrics, base_metrics, PROJECT_GATE),
        lock=LockStatus(),
        noise_tolerance=PROJECT_GATE.noise_tolerance,
        base_sha=BASE_SHA,
        head_sha=HEAD_SHA,
        duration=754.0,
        run_url="https://github.com/acme/fraud/actions/runs/42",
    )
    return replace(data, **overrides)


def table_row(markdown: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first cell is `first_cell`, as they render (backslash escapes removed)."""
    for line in markdown.splitlines():
        cells = [re.sub(r"\\(.)", r"\1", cell.strip()) for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if line.startswith("|") and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row starting with {first_cell!r}")


def mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", markdown, flags=re.S)
