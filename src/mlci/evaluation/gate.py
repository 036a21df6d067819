"""The quality gate: may this model replace the base branch's?

`check` is the one implementation: the PR report, `python -m mlci.review.gate` and the deploy path all call it. Three
rules:
- floors: a minimum for higher-is-better metrics, a maximum for lower-is-better ones (`log_loss`, `brier`), on the
  head's own metrics (`reports/eval/metrics.json`, its whole test split);
- max regression: how much worse than the base a metric may get (direction-aware). With a same-rows comparison, the
  base is the base model on the head's rows; without one, the base's committed metrics (and the report says so);
- noise is never a regression: with `gate.noise: interval` (the default) a change whose paired interval contains 0,
  otherwise (or without a same-rows comparison) a change no larger than `gate.noise_tolerance`.

The thresholds come from the base revision's `params.yaml`, so a pull request cannot loosen the gate that judges it;
a change to `gate` is reported and applies after merge. Only a base without a `gate` section (or without params.yaml,
on first use) falls back to the workspace's thresholds, and says so. The report and the gate command both call
`read_thresholds`, then `judge`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlci.core import paths
from mlci.core.errors import DataError, ParamsError
from mlci.core.metric_names import HIGHER_IS_BETTER
from mlci.core.params import GateParams, load_gate
from mlci.core.revisions import read_at

if TYPE_CHECKING:
    from mlci.evaluation.paired import Interval
    from mlci.evaluation.samerows import Comparison, SameRows

# Metrics are rounded to 4 digits at the source; rounding differences to 9 removes float noise such as
# 0.2587 - 0.2387 = 0.020000000000000018, which must not fail a limit of 0.02.
_DIGITS = 9


@dataclass(frozen=True)
class Check:
    """One rule applied to one metric. `value` is the head value (floor) or how much worse it got (regression).

    A regression check on the same rows also carries the interval of the change (head - base) it was judged by.
    """

    metric: str
    kind: Literal["floor", "regression"]
    passed: bool
    value: float | None
    limit: float
    message: str
    interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class Thresholds:
    """The gate params that judge a change, where they came from, and what the head's `gate` section changes.

    `source` is "base" (the base revision's `gate`), or "head" when the base has none to offer: `missing` then says
    what the base lacks ("params.yaml" or "gate"). `changes` maps each key the head changes to its (base, head)
    values, None where absent; it is empty when the head's thresholds apply anyway.
    """

    params: GateParams
    source: Literal["base", "head"]
    base_sha: str
    missing: Literal["params.yaml", "gate"] | None = None
    changes: dict[str, tuple[float | str | None, float | str | None]] = field(default_factory=dict)

    @property
    def notable(self) -> bool:
        """Worth saying next to the verdict: the head's thresholds apply, or the head changes the base's."""
        return self.source == "head" or bool(self.changes)

    def describe(self) -> str:
        """One line of plain text: where the thresholds came from, and what the head changes."""
        rev = self.base_sha[:12]
        if self.source == "head":
            lacks = "params.yaml (first use)" if self.missing == "params.yaml" else "gate section in params.yaml"
            return f"thresholds from the head's params.yaml: the base {rev} has no {lacks}"
        text = f"thresholds from params.yaml at base {rev}"
        if self.changes:
            edits = ", ".join(f"{key} {_text(old)} -> {_text(new)}" for key, (old, new) in self.changes.items())
            text += f"; the head changes the gate ({edits}): the new thresholds apply after merge"
        return text

    def to_json(self) -> dict[str, Any]:
        """Which thresholds were applied and where they came from, for `gate.json`."""
        return {
            "applied": self.params.model_dump(),
            "source": self.source,
            "base": self.base_sha,
            "missing_at_base": self.missing,
            "changed": bool(self.changes),
            "changes": {key: {"old": old, "new": new} for key, (old, new) in self.changes.items()},
            "note": self.describe(),
        }


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: list[str]
    checks: list[Check] = field(default_factory=list)
    has_baseline: bool = True
    thresholds: Thresholds | None = None  # set by `judge`; None when `check` is called directly
    comparison: Comparison | None = None  # set by `judge`: how the base was compared, same rows or committed

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


def check(
    head: dict[str, float], base: dict[str, float] | None, params: GateParams, same_rows: SameRows | None = None
) -> GateResult:
    """Apply the gate to `head` metrics, comparing with `base` (None: the base has no metrics yet). Pure.

    With `same_rows`, regressions are judged on it instead: both models' metrics on the same rows and the interval of
    each change; the floors still apply to `head`, the head's metrics on its whole test split.
    """
    checks = [_floor(name, head.get(name), limit) for name, limit in params.floors.items()]
    if same_rows is not None:
        for name, allowed in params.max_regression.items():
            change = same_rows.metrics.get(name)
            checks.append(_paired_regression(name, change, allowed, params, same_rows.rows))
    elif base is not None:
        for name, allowed in params.max_regression.items():
            checks.append(_regression(name, head.get(name), base.get(name), allowed, params.noise_tolerance))
    reasons = [c.message for c in checks if not c.passed]
    has_baseline = base is not None or same_rows is not None
    return GateResult(passed=not reasons, reasons=reasons, checks=checks, has_baseline=has_baseline)


def pick_thresholds(base: GateParams | None, head: GateParams, base_sha: str, base_has_params: bool) -> Thresholds:
    """The base's thresholds, so a change cannot loosen its own gate; the head's only when the base has no `gate`. Pure.

    `base` is the base revision's `gate` section (None: it has none); `base_has_params` whether it has params.yaml.
    """
    if base is None:
        return Thresholds(head, "head", base_sha, missing="gate" if base_has_params else "params.yaml")
    old, new = _flat(base), _flat(head)
    changes = {key: (old.get(key), new.get(key)) for key in dict.fromkeys([*old, *new]) if old.get(key) != new.get(key)}
    return Thresholds(base, "base", base_sha, changes=changes)


def read_thresholds(base_sha: str, head: GateParams) -> Thresholds:
    """`pick_thresholds` with the base's `gate` read from git; a malformed one is a `ParamsError` naming the base."""
    text = read_at(base_sha, paths.PARAMS)
    try:
        base = None if text is None else load_gate(text, f"{paths.PARAMS} at base {base_sha[:12]}")
    except ParamsError as exc:
        raise ParamsError(
            f"{str(exc).rstrip('.')}; the gate takes its thresholds from the base revision, so fix `gate` there "
            "first (or pass --base REV)"
        ) from None
    return pick_thresholds(base, head, base_sha, base_has_params=text is not None)


def judge(
    head: dict[str, float], base: dict[str, float] | None, thresholds: Thresholds, comparison: Comparison | None = None
) -> GateResult:
    """`check` with the thresholds `read_thresholds` picked, and the comparison, recorded in the result. Pure.

    `comparison` is what `evaluation.samerows.same_rows` found: the same rows (judged on them), or the committed metrics
    and why (judged on `base`).
    """
    same = comparison if comparison is not None and comparison.kind == "same_rows" else None
    result = check(head, base, thresholds.params, same_rows=same)  # type: ignore[arg-type]
    return replace(result, thresholds=thresholds, comparison=comparison)


def _flat(params: GateParams) -> dict[str, float | str]:
    """`gate` as {"gate.floors.roc_auc": 0.8, ..., "gate.noise_tolerance": 0.002}, defaults included.

    Comparing effective values, not text, means an omitted key that keeps its default is no change.
    """
    flat: dict[str, float | str] = {}
    for key, value in params.model_dump().items():
        if isinstance(value, dict):
            flat.update({f"gate.{key}.{name}": limit for name, limit in value.items()})
        else:
            flat[f"gate.{key}"] = value
    return flat


def _text(value: float | str | None) -> str:
    if value is None:
        return "none"
    return value if isinstance(value, str) else f"{value:g}"


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
    message = (
        f"{name} is missing from {paths.METRICS} but {key} names it; make `evaluate` write it or remove it from {key}"
    )
    return Check(name, kind, False, None, limit, message)


def _paired_regression(name: str, change: Any, allowed: float, params: GateParams, rows: int) -> Check:
    """A regression judged on the same rows: noise by the interval (or the tolerance), then the allowed loss."""
    if change is None:
        return Check(name, "regression", True, None, allowed, f"{name}: not comparable on these rows (one class only)")
    delta = round(change.head - change.base, _DIGITS)
    higher = HIGHER_IS_BETTER[name]
    worse = -delta if higher else delta
    interval: Interval | None = change.interval
    span = (interval.low, interval.high) if interval else None
    shown = f"{delta:+.4f} [{interval.low:+.4f}, {interval.high:+.4f}]" if interval else f"{delta:+.4f}"
    where = f"vs base on the same {rows:,} rows"
    if params.noise == "interval" and interval is not None:
        noise = interval.contains_zero
        why = "the interval contains 0: noise"
    else:
        noise = abs(delta) <= params.noise_tolerance
        why = f"within ±{params.noise_tolerance:g}: noise"
    if noise:
        return Check(name, "regression", True, worse, allowed, f"{name} {shown} {where} ({why})", span)
    if worse <= 0:
        return Check(name, "regression", True, worse, allowed, f"{name} {shown} {where} (improved)", span)
    verb = "fell" if higher else "rose"
    ok = worse <= allowed
    message = (
        f"{name} {verb} by {worse:.4f} {where} ({change.base:.4f} -> {change.head:.4f}, change {shown}); "
        f"gate.max_regression allows {allowed:g}"
    )
    return Check(name, "regression", ok, worse, allowed, message, span)


def to_json(result: GateResult) -> dict[str, Any]:
    """The verdict as plain data, for `gate.json` beside the report."""
    data: dict[str, Any] = {
        "passed": result.passed,
        "reasons": result.reasons,
        "checks": [asdict(c) for c in result.checks],
        "has_baseline": result.has_baseline,
        "summary": result.summary(),
    }
    if result.comparison is not None:
        data["comparison"] = result.comparison.to_json()
    return data | ({"thresholds": result.thresholds.to_json()} if result.thresholds else {})


def read_metrics(path: Path = paths.METRICS) -> dict[str, float]:
    """The workspace's metrics, or `DataError` saying how to produce them."""
    try:
        metrics: dict[str, float] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path} not found; run `dvc repro` first so `evaluate` writes it") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); run `dvc repro` again") from None
    return metrics
