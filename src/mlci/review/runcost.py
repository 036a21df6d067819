"""What a pipeline run cost, stage by stage: wall time, CPU time and peak memory, head against base.

Each stage that DVC runs records its cost in `.mlci/cost/<stage>.json` (`mlci.core.cli`); a stage DVC skipped because
nothing it reads changed keeps the record of its last run there, or has none in a fresh checkout. The base's records
come from a folder of the same layout, `.mlci/base-cost/` by default: CI keeps each main commit's records in the
Actions cache and restores the base commit's there (train.yml). Timings are never versioned, so `dvc.lock` and the
git-tracked reports stay byte-identical from run to run.

`python -m mlci.review.runcost [--base-cost DIR]` prints the table as Markdown, for a job summary.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from mlci.core import cli
from mlci.core.cli import COST_DIR
from mlci.core.markdown import code, row, table

BASE_COST_DIR = Path(".mlci/base-cost")
FIELDS = ("wall_seconds", "cpu_seconds", "peak_rss_bytes")
MIB = 1024**2
LABELS = (("wall", "wall_seconds"), ("CPU", "cpu_seconds"), ("peak", "peak_rss_bytes"))


@dataclass(frozen=True)
class RunCost:
    """Per stage: the head's cost and (when known) the base's, each `{field: value}`; `stages` in pipeline order.

    `no_base`: why the base's cost is unknown, when it is.
    """

    stages: list[str]
    head: dict[str, dict]
    base: dict[str, dict] | None = None
    no_base: str = "no base records were given (`--base-cost DIR`)"


def read(head: Path = COST_DIR, base: Path | None = None, dvc_yaml: Path = Path("dvc.yaml")) -> RunCost | None:
    """The records in `head` (and `base`); None when there are none."""
    found = _records(head)
    if not found:
        return None
    before = (_records(base) or None) if base is not None else None
    order = [name for name in _pipeline_order(dvc_yaml) if name in found or (before and name in before)]
    rest = sorted((set(found) | set(before or {})) - set(order))
    cost = RunCost(stages=order + rest, head=found, base=before)
    return cost if base is None or before else replace(cost, no_base=_why_no_base(base))


def _why_no_base(folder: Path) -> str:
    where = code(f"{folder.as_posix()}/")
    if folder.is_dir():
        return f"{where} holds no stage records"
    return (
        f"{where} is missing (in CI, main's run of the base commit saved none to the Actions cache yet, or it expired "
        f"there; locally, copy {code(f'{COST_DIR.as_posix()}/')} from a run of the base there)"
    )


def _records(folder: Path) -> dict[str, dict]:
    records = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a half-written or foreign file says nothing about a run: leave it out
        if isinstance(record, dict) and all(isinstance(record.get(key), int | float) for key in FIELDS):
            records[path.stem] = {key: record[key] for key in FIELDS}
    return records


def _pipeline_order(dvc_yaml: Path) -> list[str]:
    try:
        return list((yaml.safe_load(dvc_yaml.read_text(encoding="utf-8")) or {}).get("stages", {}))
    except (OSError, yaml.YAMLError, AttributeError):
        return []


def markdown(cost: RunCost) -> list[str]:
    """The table: one row per stage, then the total; each cell the head's value, after the base's when known."""
    has_base = cost.base is not None
    head = ["stage", "wall time", "CPU time", "peak memory"]
    lines = table(head, "lrrr")
    for name in cost.stages:
        lines.append(row([code(name), *_cells(cost.head.get(name), (cost.base or {}).get(name), has_base)]))
    lines.append(row(["**total**", *(f"**{c}**" for c in _cells(_total(cost.head), _total(cost.base), has_base))]))
    return lines


def notes(cost: RunCost) -> list[str]:
    said = "base → head" if cost.base is not None else f"head only: no record of the base's run here: {cost.no_base}"
    return [
        f"_{said}. Wall time counts from each stage's process start (imports included); CPU time adds its "
        "child processes; peak memory is its largest process; the total's peak is the largest stage's. A stage "
        "that did not run here shows its last recorded run, or –._",
        *_like_for_like(cost),
    ]


def _like_for_like(cost: RunCost) -> list[str]:
    """When one side lacks a stage (DVC restored it instead of running it), the totals over the stages both hold."""
    if cost.base is None:
        return []
    both = [name for name in cost.stages if name in cost.head and name in cost.base]
    if not both or len(both) == len(cost.stages):
        return []
    before, now = (_sum([side[name] for name in both]) for side in (cost.base, cost.head))
    cells = [f"{label} {_format(key, before[key])} → {_format(key, now[key])}" for label, key in LABELS]
    return [f"_The stages both sides record ({', '.join(code(name) for name in both)}): {', '.join(cells)}._"]


def _total(records: dict[str, dict] | None) -> dict | None:
    return _sum(list(records.values())) if records else None


def _sum(records: list[dict]) -> dict:
    return {
        "wall_seconds": sum(r["wall_seconds"] for r in records),
        "cpu_seconds": sum(r["cpu_seconds"] for r in records),
        "peak_rss_bytes": max(r["peak_rss_bytes"] for r in records),
    }


def _cells(head: dict | None, base: dict | None, has_base: bool) -> list[str]:
    shown = []
    for key in FIELDS:
        now = _format(key, head[key]) if head else "–"
        shown.append(f"{_format(key, base[key]) if base else '–'} → {now}" if has_base else now)
    return shown


def _format(key: str, value: float) -> str:
    if key == "peak_rss_bytes":
        return f"{value / MIB:.0f} MiB"
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


@cli.command("runcost")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlci.review.runcost", description=__doc__.splitlines()[0])
    parser.add_argument("--base-cost", metavar="DIR", type=Path, help="the base run's records (default: none)")
    args = parser.parse_args(argv)
    cost = read(COST_DIR, args.base_cost)
    if cost is None:
        print(f"## Run cost\n\nNo stage ran here, so no cost was recorded (`{COST_DIR}/` is empty).")
        return 0
    print("\n".join(["## Run cost", "", *markdown(cost), "", *notes(cost)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
