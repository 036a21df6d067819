"""The PR report as Markdown that GitHub shows without any image host: tables, Mermaid charts, one verdict line.

Pure: takes the `ReportData` that `mlci.review.report` gathered from git and DVC, returns text, touches no file.
`render` gives the full report; `fit` shortens it below GitHub's comment limit, trimming the least important sections
first, and ends it with a pointer to the full report in the workflow artifact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlci.core.markdown import GITHUB_BODY_LIMIT, code, escape, row
from mlci.core.markdown import table as _table
from mlci.core.metric_names import HIGHER_IS_BETTER, KEY_METRICS
from mlci.review import charts, runcost
from mlci.review.comment import MARKER

if TYPE_CHECKING:
    from mlci.evaluation.gate import GateResult
    from mlci.evaluation.samerows import Committed, MetricChange, SameRows
    from mlci.review.data import Change, LockStatus, ReportData, SplitChange

MAX_CHARS = GITHUB_BODY_LIMIT - 1_536  # room for what a poster adds (CML appends a watermark)
FIX_COMMAND = "dvc repro && git add dvc.lock reports && git commit"
FULL_REPORT = "full-report.md"
TOP_FEATURES = 10
KEEP = 100  # priority of the parts never shortened: heading, verdict, footer
PROFILE_LABELS = {"unlabeled_rows": "rows without a label (dropped)"}


@dataclass
class Section:
    """A block of Markdown whose table `rows` can be trimmed from the end. A higher `priority` is kept longer."""

    lines: list[str]
    rows: list[str] = field(default_factory=list)
    priority: int = KEEP
    unit: str = "rows"
    dropped: int = 0

    def text(self) -> str:
        note = [f"\n_{self.dropped} more {self.unit} in the full report._"] if self.dropped else []
        return "\n".join([*self.lines, *self.rows, *note])

    def shrink(self, excess: int) -> None:
        """Drop rows until the text is `excess` characters shorter; if that is not enough, keep only the heading."""
        target = len(self.text()) - excess
        saved = -60  # what the note saying how many rows were left out costs
        while self.rows and saved < excess:
            saved += len(self.rows.pop()) + 1
            self.dropped += 1
        stub = [self.lines[0], "", "_Left out to fit the comment limit._"]
        if len(self.text()) > target and len("\n".join(stub)) < len(self.text()):
            self.lines, self.rows, self.dropped = stub, [], 0


def render(data: ReportData) -> str:
    """The full report."""
    return _join(sections(data))


def fit(data: ReportData, limit: int = MAX_CHARS) -> str:
    """The report in at most `limit` characters: if longer, least important sections shortened first, plus a pointer."""
    parts = sections(data)
    if len(_join(parts)) <= limit:
        return _join(parts)
    where = f"[this workflow run]({data.run_url})" if data.run_url else "the workflow run"
    pointer = (
        f"\n**Shortened to fit GitHub's comment limit.** The full report is `{FULL_REPORT}` in the artifact of "
        f"{where}; `make report` renders it locally.\n"
    )
    budget = limit - len(pointer)
    for part in sorted((p for p in parts if p.priority < KEEP), key=lambda p: p.priority):
        excess = len(_join(parts)) - budget
        if excess <= 0:
            break
        part.shrink(excess)
    text = _join(parts)
    if len(text) > budget:  # only the parts never shortened are left, and they alone are too long
        text = text[: max(text.rfind("\n", 0, budget), 0) or budget]
    return text + pointer


def _join(parts: list[Section]) -> str:
    return "\n\n".join(part.text() for part in parts) + "\n"


def sections(data: ReportData) -> list[Section]:
    curves = charts.curves_markdown(data.base, data.head, data.base_sha[:7], data.head_sha[:7])
    same = _same(data)
    found = [
        _header(data),
        _same_rows(same, data.gate) if same else None,
        _metrics(data),
        _lock(data.lock),
        _params(data.params),
        _sweep(data),
        _profile(data),
        _same_rows_segments(same) if same else _segments(data),
        Section(curves, priority=30) if curves else None,
        _confusion(data),
        _features(data),
        _run_cost(data),
        _footer(data),
    ]
    return [part for part in found if part is not None]


def verdict(gate: GateResult) -> str:
    """The one-line verdict: pass or fail, and why."""
    if gate.passed:
        return f"**Quality gate: passed.** {gate.summary().removeprefix('gate passed: ')}."
    return f"**Quality gate: failed.** {'; '.join(gate.reasons)}."


def thresholds_note(gate: GateResult) -> list[str]:
    """Beside the verdict, where its thresholds came from when that is not simply the base's own, unchanged `gate`.

    A reviewer must see that a pull request edits the gate: it is judged by the base's thresholds, and its own apply
    only after merge.
    """
    thresholds = gate.thresholds
    if thresholds is None or not thresholds.notable:
        return []
    if thresholds.source == "head":
        base = f"the base `{thresholds.base_sha[:7]}`"
        lacks = "`params.yaml` (first use)" if thresholds.missing == "params.yaml" else "`gate` in `params.yaml`"
        return ["", f"**Gate thresholds from this pull request:** {base} has no {lacks}, so the head's apply."]
    # A handful of rows at most (two limits per metric, and the noise tolerance), so never shortened.
    rows = [row([f"`{key}`", _limit(old), _limit(new)]) for key, (old, new) in thresholds.changes.items()]
    return [
        "",
        "**This pull request changes the gate:** the new thresholds apply after merge; this verdict used the base's.",
        "",
        *_table(["gate", "base (applied)", "this pull request"], "lrr"),
        *rows,
    ]


def comparison_note(data: ReportData) -> list[str]:
    """Beside the verdict, on which rows the base was compared: the same rows, or the committed numbers and why."""
    comparison = data.comparison
    if comparison is None:
        return []
    if comparison.kind == "same_rows":
        same: SameRows = comparison  # type: ignore[assignment]
        text = (
            f"Judged on the same rows: the base's model and this head's model both scored the head's {same.rows:,} "
            "test rows, each at its own threshold"
        )
        if same.excluded:
            text += f" ({same.excluded:,} rows the base model trained on were left out)"
        elif same.exclusion_note:
            text += f"; rows the base model trained on could not be left out: {escape(same.exclusion_note)}"
        return ["", text + "."]
    committed: Committed = comparison  # type: ignore[assignment]
    return [
        "",
        "**Compared with the base's committed metrics**, measured on its own test rows, because "
        f"{escape(committed.reason)}.",
    ]


def _limit(value: float | str | None) -> str:
    if value is None:
        return "–"
    return code(value) if isinstance(value, str) else f"{value:g}"


def _header(data: ReportData) -> Section:
    head = f"`{data.head_sha[:7]}`" + (" (with uncommitted changes)" if data.head_dirty else "")
    lines = [
        MARKER,
        "## Model report",
        "",
        verdict(data.gate),
        *thresholds_note(data.gate),
        *comparison_note(data),
        "",
        f"Head {head} compared with base `{data.base_sha[:7]}`.",
    ]
    if data.base is None:
        lines += [
            "",
            f"**No baseline yet:** the base `{data.base_sha[:7]}` has no `reports/eval/metrics.json`, so only the "
            "head's results are shown and no regression check ran.",
        ]
    return Section(lines)


def judge(name: str, change: Change, noise: float) -> str:
    """How a metric moved: new, removed, within noise, improved, regressed (changed, if its direction is unknown)."""
    if change.new is None:
        return "removed"
    if change.old is None:
        return "new"
    delta = round(change.new - change.old, 9)
    if abs(delta) <= noise:
        return "within noise"
    if name not in HIGHER_IS_BETTER:
        return "changed"
    return "improved" if (delta > 0) == HIGHER_IS_BETTER[name] else "regressed"


def _same(data: ReportData) -> SameRows | None:
    comparison = data.comparison
    return comparison if comparison is not None and comparison.kind == "same_rows" else None  # type: ignore[return-value]


def paired_status(name: str, change: MetricChange) -> str:
    """How a metric moved on the same rows: noise when its interval contains 0, else improved or regressed."""
    interval = change.interval
    if interval is None:
        return "–"
    if interval.contains_zero:
        return "noise"
    return "improved" if (interval.delta > 0) == HIGHER_IS_BETTER[name] else "regressed"


def _interval(change: MetricChange) -> str:
    interval = change.interval
    return "–" if interval is None else f"[{interval.low:+.4f}, {interval.high:+.4f}]"


def _same_rows(same: SameRows, gate: GateResult) -> Section:
    limits = _gate_limits(gate)
    rows = []
    for name in [m for m in HIGHER_IS_BETTER if m in same.metrics]:
        change = same.metrics[name]
        arrow = " ↑" if HIGHER_IS_BETTER[name] else " ↓"
        status = paired_status(name, change)
        status = f"**{status}**" if status == "regressed" else status
        delta = f"{round(change.head - change.base, 9):+.4f}"
        cells = [f"{name}{arrow}", _num(change.base), _num(change.head), delta, _interval(change), status]
        rows.append(row([*cells, limits.get(name, "")]))
    method = {"analytic": "DeLong for ROC AUC, the delta method for the others", "bootstrap": "paired bootstrap"}
    head_threshold, base_threshold = same.thresholds
    thresholds = (
        f"both at threshold {head_threshold:g}"
        if head_threshold == base_threshold
        else f"base at threshold {base_threshold:g}, head at {head_threshold:g}"
    )
    intro = (
        f"The base's model and the head's, scored on the same {same.rows:,} rows of the head's test split "
        f"({thresholds}). Change is head − base, with its {same.confidence:.0%} paired interval "
        f"({method.get(same.method, same.method)}); a change whose interval contains 0 is noise. "
        "↑ higher is better, ↓ lower is better."
    )
    header = _table(["metric", "base model", "head model", "change", "interval", "", "gate"], "lrrrrll")
    return Section(["### Metrics on the same rows", "", intro, "", *header], rows, priority=92, unit="metrics")


def _metrics(data: ReportData) -> Section:
    names = [m for m in HIGHER_IS_BETTER if m in data.metrics] + sorted(set(data.metrics) - set(HIGHER_IS_BETTER))
    same = _same(data)
    limits = {} if same else _gate_limits(data.gate)
    rows = []
    for name in names:
        change = data.metrics[name]
        arrow = (" ↑" if HIGHER_IS_BETTER[name] else " ↓") if name in HIGHER_IS_BETTER else ""
        status = judge(name, change, data.noise_tolerance)
        status = f"**{status}**" if status == "regressed" and not same else status
        cells = [f"{name}{arrow}", _num(change.old), _num(change.new), _delta(change.old, change.new)]
        rows.append(row([*cells, *([] if same else [status, limits.get(name, "")])]))
    if same:
        lines = ["### Committed metrics", "", _context(data.split), ""]
        return Section([*lines, *_table(["metric", "base", "head", "change"], "lrrr")], rows, 85, "metrics")
    intro = (
        f"↑ higher is better, ↓ lower is better. Changes within ±{data.noise_tolerance:g} (`gate.noise_tolerance`) "
        "are noise."
    )
    lines = ["### Metrics", "", intro, "", *_table(["metric", "base", "head", "change", "", "gate"], "lrrrll")]
    return Section(lines, rows, priority=90, unit="metrics")


def _context(split: SplitChange | None) -> str:
    """What the committed numbers are: each revision's own test split, and whether those are the same rows."""
    if split is not None and split.same:
        return "As `evaluate` wrote them: the base and the head tested on the same test split."
    sizes = ""
    if split is not None and (split.base_rows or split.head_rows):
        sizes = f" (base {_count(split.base_rows)} test rows, head {_count(split.head_rows)})"
    why = []
    if split is not None and split.params:
        why.append("the split's params changed (" + ", ".join(code(key) for key in split.params) + ")")
    if split is not None and split.data_changed:
        why.append("the data it splits changed")
    if split is not None and split.same is False and not why:
        why.append("the split itself did not change, so the split code or its inputs did")
    reason = f": {'; '.join(why)}" if why else ""
    return (
        f"As `evaluate` wrote them, each on its own test split{sizes}: **measured on other rows**{reason}. Context "
        "only; the verdict uses the same-rows comparison above."
    )


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _gate_limits(gate: GateResult) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    for check in gate.checks:
        higher = HIGHER_IS_BETTER[check.metric]
        text = f"{'≥' if higher else '≤'} {check.limit:g}" if check.kind == "floor" else f"worse by ≤ {check.limit:g}"
        found.setdefault(check.metric, []).append(text if check.passed else f"**{text}: failed**")
    return {name: "; ".join(texts) for name, texts in found.items()}


def _lock(lock: LockStatus) -> Section:
    title = ["### Reproducibility", ""]
    if lock.matches:
        return Section([*title, "The committed `dvc.lock` matches the reproduced pipeline."], priority=95)
    problems = []
    if not lock.committed:
        problems.append("`dvc.lock` is not committed")
    if lock.stale:
        problems.append(f"the committed `dvc.lock` differs from the reproduced one in {_stages(lock.stale)}")
    if lock.unreproduced:
        problems.append(f"`dvc status` reports changes not reproduced yet in {_stages(lock.unreproduced)}")
    text = "; ".join(problems)
    fix = [f"**Stale:** {text[0].upper()}{text[1:]}. Fix it with:", "", "```sh", FIX_COMMAND, "```"]
    return Section([*title, *fix], priority=95)


def _params(params: dict[str, Change]) -> Section:
    if not params:
        return Section(["### Params", "", "No param changed."], priority=70)
    rows = [row([code(key), _value(c.old), _value(c.new)]) for key, c in sorted(params.items())]
    return Section(["### Params changed", "", *_table(["param", "base", "head"], "lll")], rows, 70, "params")


def _profile(data: ReportData) -> Section | None:
    old = (data.base.profile if data.base else None) or {}
    new = data.head.profile or {}
    if not (old or new):
        return None
    rows = []
    for key in ("rows", "unlabeled_rows", "positives", "columns", "positive_rate", "duplicate_rate"):
        if key in old or key in new:
            a, b = old.get(key), new.get(key)
            label = PROFILE_LABELS.get(key, key.replace("_", " "))
            rows.append(
                row(
                    [label, _pct(a), _pct(b), _pp(a, b)]
                    if key.endswith("rate")
                    else [label, _num(a), _num(b), _delta(a, b)]
                )
            )
    rows.append(row(["highest null rate", _worst_nulls(old), _worst_nulls(new), ""]))
    return Section(["### Data", "", *_table(["", "base", "head", "change"], "lrrr")], rows, priority=60)


def _worst_nulls(profile: dict) -> str:
    rates = profile.get("null_rates") or {}
    if not rates:
        return "–"
    column = max(sorted(rates), key=lambda name: rates[name])
    return f"{rates[column]:.2%} ({code(column)})"


def _segments(data: ReportData) -> Section | None:
    if not data.segments:
        return None
    shown = [m for m in KEY_METRICS if any(m in values for values in data.segments.values())]

    def size(segment: str) -> int:
        change = data.segments[segment].get("rows")
        return (change.new or 0) if change else 0

    rows = []
    for segment in sorted(data.segments, key=lambda s: (-size(s), s)):
        values = data.segments[segment]
        cells = [escape(segment)] + [
            _cell(values.get(name), name, data.noise_tolerance, data.base is not None)
            for name in ("rows", "positive_rate", *shown)
        ]
        rows.append(row(cells))
    intro = "Head value (change vs base). **Bold**: worse than the base by more than the noise tolerance."
    header = _table(["segment", "rows", "positive rate", *shown], "l" + "r" * (2 + len(shown)))
    return Section(["### Segments", "", intro, "", *header], rows, priority=50, unit="segments")


def _same_rows_segments(same: SameRows) -> Section | None:
    if not same.segments:
        return None
    shown = [m for m in KEY_METRICS if any(m in s.metrics for s in same.segments.values())]
    rows = []
    for value, segment in same.segments.items():
        cells = [escape(value), f"{segment.rows:,}", f"{segment.positives / segment.rows:.2%}"]
        for name in shown:
            change = segment.metrics.get(name)
            if change is None:
                cells.append("–")
                continue
            text = f"{change.head:.4f} ({round(change.head - change.base, 9):+.4f} {_interval(change)})"
            cells.append(f"**{text}**" if paired_status(name, change) == "regressed" else text)
        rows.append(row(cells))
    intro = (
        "Both models on each segment's rows: the head model's value (change vs the base model, with its interval). "
        "**Bold**: worse than the base model beyond noise."
    )
    header = _table(["segment", "rows", "positive rate", *shown], "l" + "r" * (2 + len(shown)))
    return Section(["### Segments on the same rows", "", intro, "", *header], rows, priority=50, unit="segments")


def _cell(change: Change | None, name: str, noise: float, has_base: bool) -> str:
    if change is None or change.new is None:
        return "–" if change is None or change.old is None else "removed"
    rate = name.endswith("rate")
    value = _pct(change.new) if rate else _num(change.new)
    if change.old is None:
        return f"{value} (new)" if has_base else value
    text = f"{value} ({_pp(change.old, change.new) if rate else _delta(change.old, change.new)})"
    return f"**{text}**" if judge(name, change, noise) == "regressed" else text


def _confusion(data: ReportData) -> Section | None:
    new = {(c["actual"], c["predicted"]): c["count"] for c in data.head.confusion}
    if not new:
        return None
    old = {(c["actual"], c["predicted"]): c["count"] for c in (data.base.confusion if data.base else [])}
    labels = list(dict.fromkeys(label for pair in new for label in pair))
    rows = []
    for actual in labels:
        counts = [(old.get((actual, p)), new.get((actual, p), 0)) for p in labels]
        cells = [f"{a:,} → {b:,}" if a is not None else f"{b:,}" for a, b in counts]
        rows.append(row([f"actual {escape(actual)}", *cells]))
    caption = "Counts at `evaluate.threshold`" + (", base → head." if old else ".")
    header = _table(["", *(f"predicted {escape(p)}" for p in labels)], "l" + "r" * len(labels))
    return Section(["### Confusion matrix", "", caption, "", *header], rows, priority=40)


def _features(data: ReportData) -> Section | None:
    if not data.head.importance:
        return None
    old = {f["feature"]: f["importance"] for f in (data.base.importance if data.base else [])}
    top = data.head.importance[:TOP_FEATURES]
    rows = [row([code(f["feature"]), _num(old.get(f["feature"])), _num(f["importance"])]) for f in top]
    lines = ["### Top features", "", "Permutation importance (drop in ROC AUC).", ""]
    return Section([*lines, *_table(["feature", "base", "head"], "lrr")], rows, priority=20, unit="features")


def _run_cost(data: ReportData) -> Section | None:
    if data.cost is None:
        return None
    lines = runcost.markdown(data.cost)
    return Section(
        ["### Run cost", "", *runcost.notes(data.cost), "", *lines[:2]], lines[2:], priority=15, unit="stages"
    )


def _footer(data: ReportData) -> Section:
    parts = [f"base `{data.base_sha[:12]}`", f"head `{data.head_sha[:12]}`"]
    if data.duration is not None:
        minutes, seconds = divmod(round(data.duration), 60)
        parts.append(f"pipeline run {minutes}m {seconds:02d}s" if minutes else f"pipeline run {seconds}s")
    if data.run_url:
        parts.append(f"[workflow run]({data.run_url})")
    parts.append("PNG plots and the full report are in the run's artifact; `make report` renders this locally")
    return Section(["---", " · ".join(parts)])


def _sweep(data: ReportData) -> Section | None:
    """The sweep's runs, ranked; trimmed after the params and before the metrics and the data."""
    if data.sweep is None:
        return None
    from mlci.review.sweep_render import parts

    lines, rows = parts(data.sweep)
    return Section(lines, rows, priority=65, unit="runs")


def _stages(names: list[str]) -> str:
    return ("stages " if len(names) > 1 else "stage ") + ", ".join(f"`{n}`" for n in names)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _num(value: Any) -> str:
    if value is None:
        return "–"
    if not _number(value):
        return escape(str(value))
    return f"{value:,}" if isinstance(value, int) else f"{value:.4f}"


def _delta(old: Any, new: Any) -> str:
    if not (_number(old) and _number(new)):
        return ""
    return f"{new - old:+,}" if isinstance(old, int) and isinstance(new, int) else f"{round(new - old, 9):+.4f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.2%}"


def _pp(old: float | None, new: float | None) -> str:
    return "" if old is None or new is None else f"{(new - old) * 100:+.2f} pp"


def _value(value: Any) -> str:
    return code(value if isinstance(value, str) else json.dumps(value))
