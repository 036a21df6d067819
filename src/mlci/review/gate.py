"""`make gate`: may the workspace's model replace the base branch's? The quality gate's command line.

`python -m mlci.review.gate [--base REV]` scores the base revision's model and the workspace's on the workspace's test
rows (`mlci.evaluation.samerows`), then judges (`mlci.evaluation.gate`). It prints the verdict and how it compared,
exits 0 when the gate passes, prints the reasons and exits 1 when it fails, and exits 2 on a user error (an unknown
revision, no metrics yet, a malformed `gate` at the base). It writes nothing. `--verdict report/gate.json` exits by
the verdict the report recorded in the same job instead of scoring both models again.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mlci.core import cli, paths
from mlci.core.errors import DataError
from mlci.core.params import load_params
from mlci.core.revisions import read_json_at, resolve_base
from mlci.evaluation.gate import judge, read_metrics, read_thresholds
from mlci.model.pipeline import set_openmp_wait_policy


@cli.command("gate")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlci.review.gate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", metavar="REV", help="revision to compare with (default: merge-base of HEAD and main or origin/main)"
    )
    parser.add_argument(
        "--verdict",
        metavar="FILE",
        type=Path,
        help="exit by the verdict `python -m mlci.review.report` recorded in this run (its gate.json) instead of "
        "scoring both models again",
    )
    args = parser.parse_args(argv)
    set_openmp_wait_policy()  # before scikit-learn loads, for scoring the two models
    passed, summary, reasons, notes = recorded(args.verdict) if args.verdict is not None else judged(args.base)
    if passed:
        print(summary + "".join(f"; {note}" for note in notes))
        return 0
    print("gate failed:")
    for reason in reasons:
        print(f"  - {reason}")
    for note in notes:
        print(f"({note})")
    sys.stdout.flush()
    return cli.EXIT_FAILED


def judged(base_rev: str | None) -> tuple[bool, str, list[str], list[str]]:
    """Score the base revision's model and the workspace's on the same rows, and judge: verdict, reasons, notes."""
    from mlci.evaluation.samerows import same_rows

    params = load_params()
    head = read_metrics()
    base_sha = resolve_base(base_rev)
    thresholds = read_thresholds(base_sha, params.gate)
    base = read_json_at(base_sha, paths.METRICS)
    comparison = same_rows(base_sha, thresholds.params, params.evaluate) if base is not None else None
    result = judge(head, base, thresholds, comparison)
    notes = [thresholds.describe()] if thresholds.notable else []
    if comparison is not None:
        notes.insert(0, comparison.describe())
    return result.passed, result.summary(), result.reasons, notes


def recorded(path: Path) -> tuple[bool, str, list[str], list[str]]:
    """The verdict, reasons and notes of a `gate.json` that `to_json` wrote, or `DataError` saying how to make one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        thresholds = data.get("thresholds") or {}
        notable = thresholds.get("source") == "head" or thresholds.get("changed")
        notes = [
            note for note in ((data.get("comparison") or {}).get("note"), notable and thresholds.get("note")) if note
        ]
        return bool(data["passed"]), str(data["summary"]), [str(r) for r in data["reasons"]], notes
    except FileNotFoundError:
        raise DataError(f"{path} not found; run `python -m mlci.review.report` first, or drop --verdict") from None
    except OSError as exc:  # a folder, no permission: not the file the report writes
        raise DataError(f"{path} cannot be read ({exc.strerror}); give the gate.json the report wrote") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"{path} is not a gate.json written by `python -m mlci.review.report` ({exc})") from None


if __name__ == "__main__":
    raise SystemExit(main())
