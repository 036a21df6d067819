"""The drift report as Markdown: the verdict, then one table per check. GitHub renders it in a pull request body.

Every value that comes from data (feature names, category values, the segment column and its values, the batch's file
name, the reasons a check was not judged, which quote column names) goes through `mlci.core.markdown`, so a `|`, a
newline, `<b>` or `@team` in the data renders as itself.
"""

from __future__ import annotations

from mlci.core.markdown import code, escape, row, table
from mlci.monitor.result import Decay, DriftResult, Fairness

MARKER = "<!-- mlci-drift-report -->"
CORRECTIONS = {"benjamini_hochberg": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}


def render(result: DriftResult, batch_name: str, verdict: str) -> str:
    """The report; `verdict` is already Markdown (`mlci.monitor.drift.summary` with feature names as code spans)."""
    sections = (
        _heading(result, batch_name, verdict),
        _features(result),
        _scores(result),
        _decay(result.decay),
        _fairness(result.fairness),
        ["Thresholds: `monitor:` in params.yaml. Full results: `reports/drift/drift.json`.", ""],
    )
    return "\n".join(line for lines in sections for line in lines)


def _heading(result: DriftResult, batch_name: str, verdict: str) -> list[str]:
    rows, t = result.rows, result.params.drift
    tests = len(result.features) + 1
    return [
        MARKER,
        f"## Drift check: {verdict}",
        "",
        f"Batch {code(batch_name)}: {rows.batch:,} rows"
        + (f" ({rows.unlabelled:,} without a label)" if rows.unlabelled else "")
        + f", against the {rows.reference:,} training rows the current model saw. "
        + ("Retraining is warranted." if result.retrain else "Nothing to retrain."),
        "",
        f"A feature, or the model's score, drifts when its PSI reaches {t.psi} (major from {t.psi_major}) "
        f"**and** its p-value, corrected for {tests} tests (every feature and the score, "
        f"{CORRECTIONS[t.correction]}), is below {t.alpha}: a large PSI on few rows is noise, a tiny p-value "
        "on many rows can be a shift too small to matter.",
        "",
    ]


def _features(result: DriftResult) -> list[str]:
    lines = [
        "### Features",
        "",
        "Chi-square test of the same counts as PSI (the training data's decile bins, or its categories).",
        "",
        *table(["feature", "kind", "PSI", "shift", "p", "p (corrected)", "drifted"], "llrlrrc"),
    ]
    for e in result.features:
        unseen = f" (new: {', '.join(escape(value) for value in e.unseen[:3])})" if e.unseen else ""
        cells = [code(e.feature) + unseen, e.kind, f"{e.psi:.4f}", e.severity, _p(e.p_value), _p(e.p_adjusted)]
        lines.append(row([*cells, _yes(e.drifted)]))
    return [*lines, ""]


def _scores(result: DriftResult) -> list[str]:
    s, rows = result.score, result.rows
    sampled = f" Scored on a sample of {rows.scored:,} rows." if rows.scored < rows.batch else ""
    return [
        "### Model scores",
        "",
        "The predicted probabilities, batch against the test split: PSI on the test scores' decile bins, and the "
        "two-sample Kolmogorov-Smirnov test (KS: the largest gap between the two distributions)." + sampled,
        "",
        *table(["PSI", "shift", "KS", "p", "p (corrected)", "drifted"], "rlrrrc"),
        row([f"{s.psi:.4f}", s.severity, f"{s.ks:.4f}", _p(s.p_value), _p(s.p_adjusted), _yes(s.drifted)]),
        "",
    ]


def _decay(d: Decay) -> list[str]:
    lines = ["### Decay", ""]
    if not d.computed:
        return [*lines, f"Not judged: {escape(d.reason)}.", ""]
    level = round(100 * (d.confidence or 0.0))  # set whenever the decay was computed
    lines += [
        f"Metrics on {d.rows:,} labelled rows ({d.positives:,} positive), with {level}% bootstrap intervals. "
        "A metric decays when it is worse than on the test split by more than allowed, beyond the noise of both "
        "samples (the low end of the drop's interval).",
        "",
        *table(
            ["metric", "test", "batch", "batch interval", "worse by", "its interval", "allowed", "decayed"],
            "lrrrrrrc",
        ),
    ]
    for name, m in d.metrics.items():
        lines.append(
            row(
                [
                    name,  # a metric's name: ours (params allow only those)
                    f"{m.test:.4f}",
                    f"{m.batch:.4f}",
                    f"{m.low:.4f} - {m.high:.4f}",
                    f"{m.drop:+.4f}",
                    f"{m.drop_low:+.4f} - {m.drop_high:+.4f}",
                    str(m.max_drop),
                    _yes(m.decayed),
                ]
            )
        )
    return [*lines, ""]


def _fairness(f: Fairness) -> list[str]:
    lines = ["### Fairness", ""]
    if not f.computed:
        return [*lines, f"Not judged: {escape(f.reason)}.", ""]
    level = round(100 * (f.confidence or 0.0))  # set whenever the gaps were computed
    lines += [
        f"Gap between the best and the worst value of {code(f.column)} per metric, on the batch and on the "
        f"test split, with the {level}% bootstrap interval of its increase; flagged when even the low end of "
        "that interval is above the allowed increase (reported; not a reason to retrain on its own).",
        "",
        *table(
            ["metric", "test gap", "batch gap", "increase", "its interval", "allowed", "by segment (batch)", "flagged"],
            "lrrrrrlc",
        ),
    ]
    for name, m in f.metrics.items():
        segments = ", ".join(f"{escape(k)} {v:.3f}" for k, v in sorted(m.batch.items()))
        lines.append(
            row(
                [
                    name,  # a metric's name: ours (params allow only those)
                    f"{m.test_gap:.4f}",
                    f"{m.batch_gap:.4f}",
                    f"{m.increase:+.4f}",
                    f"{m.increase_low:+.4f} - {m.increase_high:+.4f}",
                    str(m.max_gap_increase),
                    segments,
                    _yes(m.flagged),
                ]
            )
        )
    return [*lines, ""]


def _p(value: float) -> str:
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"


def _yes(flag: bool) -> str:
    return "**yes**" if flag else "no"
