"""The quality gate: may this model replace the base branch's?

Reads the `gate` params, the workspace's `reports/eval/metrics.json` and the same file at the base revision
(git-tracked, so no DVC remote is needed). Writes nothing. `python -m mlci.core.gate [--base REV]` prints one line and
exits 0 when the gate passes, prints the reasons and exits 1 when it fails, and exits 2 on a user error (an unknown
revision, no metrics yet).

`check` is the one implementation: the PR report, this command and the deploy path all call it. Three rules:
- floors: a minimum for higher-is-better metrics, a maximum for lower-is-better ones (`log_loss`, `brier`);
- max regression: how much worse than the base a metric may get (direction-aware), checked only when a base exists;
- a change no larger than `noise_tolerance` is noise, never a regression.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mlci.core import cli, paths
from mlci.core.errors import DataError
from mlci.core.metric_names import HIGHER_IS_BETTER
from mlci.core.params import GateParams, load_params
from mlci.core.revisions import read_json_at, resolve_base

METRICS = paths.METRICS
EXIT_FAILED = 1
# Metrics are rounded to 4 digits at the source; rounding differences to 9 removes float noise such as
# 0.2587 - 0.2387 = 0.020000000000000018, which must not fail a limit of 0.02.
_DIGITS = 9


@dataclass(frozen=True)
class Check:
    """One rule applied to one metric. `value` is the head value (floor) or how much worse it got (regression)."""

    metric: str
    kind: Literal["floor", "regression"]
    passed: bool
    value: float | None
    limit: float
    message: str


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: list[str]
    checks: list[Check] = field(default_factory=list)
    has_baseline: bool = True

    def summary(self) -> str:
        """One line: the verdict and why."""
        if not self.passed:
            return "gate failed: " + "; ".join(self.reasons)
        floors = [c.metric for c in self.checks if c.kind == "floor"]
        regressions = [c.metric for c in self.checks if c.kind == "regression"]
        parts = [f"floors met ({', '.join(floors)})"] if floors else []
        if not self.has_baseline:
            parts.append("no baseline yet, so no regression check")
        elif regressions:
            parts.append(f"no regression beyond the allowed ({', '.join(regressions)})")
        return "gate passed: " + ("; ".join(parts) if parts else "no rules configured in params.yaml `gate`")


def check(head: dict[str, float], base: dict[str, float] | None, params: GateParams) -> GateResult:
    """Apply the gate to `head` metrics, comparing with `base` (None: the base has no metrics yet). Pure."""
    checks = [_floor(name, head.get(name), limit) for name, limit in params.floors.items()]
    if base is not None:
        for name, allowed in params.max_regression.items():
            checks.append(_regression(name, head.get(name), base.get(name), allowed, params.noise_tolerance))
    reasons = [c.message for c in checks if not c.passed]
    return GateResult(passed=not reasons, reasons=reasons, checks=checks, has_baseline=base is not None)


def _floor(name: str, value: float | None, limit: float) -> Check:
    higher = HIGHER_IS_BETTER[name]
    if value is None:
        return _missing(name, "floor", limit)
    ok = value >= limit if higher else value <= limit
    if ok:
        message = f"{name} {value:.4f} {'>=' if higher else '<='} {limit:g}"
    else:
        message = f"{name} {value:.4f} is {'below the floor' if higher else 'above the ceiling'} {limit:g}"
    return Check(name, "floor", ok, value, limit, message)


def _regression(name: str, value: float | None, old: float | None, allowed: float, noise: float) -> Check:
    if value is None:
        return _missing(name, "regression", allowed)
    if old is None:
        return Check(name, "regression", True, None, allowed, f"{name} is new: no base value to compare with")
    delta = round(value - old, _DIGITS)
    worse = delta if not HIGHER_IS_BETTER[name] else -delta
    if worse <= noise:
        note = "within noise" if abs(delta) <= noise else "improved"
        return Check(name, "regression", True, worse, allowed, f"{name} {delta:+.4f} vs base ({note})")
    verb = "fell" if HIGHER_IS_BETTER[name] else "rose"
    ok = worse <= allowed
    message = f"{name} {verb} by {worse:.4f} vs base ({old:.4f} -> {value:.4f}); gate.max_regression allows {allowed:g}"
    return Check(name, "regression", ok, worse, allowed, message)


def _missing(name: str, kind: Literal["floor", "regression"], limit: float) -> Check:
    key = "gate.floors" if kind == "floor" else "gate.max_regression"
    message = f"{name} is missing from {METRICS} but {key} names it; make `evaluate` write it or remove it from {key}"
    return Check(name, kind, False, None, limit, message)


def to_json(result: GateResult) -> dict:
    """The verdict as plain data, for `gate.json` beside the report."""
    from dataclasses import asdict

    return asdict(result) | {"summary": result.summary()}


def read_metrics(path: Path = METRICS) -> dict[str, float]:
    """The workspace's metrics, or `DataError` saying how to produce them."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path} not found; run `dvc repro` first so `evaluate` writes it") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); run `dvc repro` again") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlci.core.gate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", metavar="REV", help="revision to compare with (default: merge-base of HEAD and main or origin/main)"
    )
    args = parser.parse_args(argv)
    outcome: list[GateResult] = []

    def run() -> None:
        gate = load_params().gate
        head = read_metrics()
        base = read_json_at(resolve_base(args.base), METRICS)
        outcome.append(check(head, base, gate))

    code = cli.run(run, "gate")
    if code:
        return code
    result = outcome[0]
    if result.passed:
        print(result.summary())
        return 0
    print("gate failed:")
    for reason in result.reasons:
        print(f"  - {reason}")
    sys.stdout.flush()
    return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
