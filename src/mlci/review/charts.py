"""Charts of base vs head: Mermaid `xychart-beta` text for the PR comment, and PNG files for the artifact.

`curves_markdown`, `resample` and `mermaid_chart` are pure. `write_pngs` writes `roc.png`, `precision_recall.png`,
`calibration.png` and `feature_importance.png` into a folder with matplotlib's Agg backend (no display, no image
host): every stored point, base dashed grey, head solid blue.
"""

from __future__ import annotations

import json
from pathlib import Path

BASE_COLOUR, HEAD_COLOUR = "#9ca3af", "#2563eb"  # grey, blue: the same in the comment and in the PNGs
CHART_POINTS = 21  # a curve in the comment: 21 points, every 5 % of the x axis, for base and head alike
PNG_FEATURES = 15
CURVES = (  # field of `Outputs`, title, x key, y key, x label, y label; the first two are drawn in the comment too
    ("roc", "ROC curve", "fpr", "tpr", "False positive rate", "True positive rate"),
    ("precision_recall", "Precision-recall curve", "recall", "precision", "Recall", "Precision"),
    ("calibration", "Calibration", "prob_pred", "prob_true", "Mean predicted probability", "Observed positive rate"),
)


def curves_markdown(base, head, base_label: str, head_label: str) -> list[str]:
    """A "Curves" section: ROC and precision-recall of `base` and `head` (`Outputs`; `base` may be None)."""
    blocks = []
    for field, title, x, y, x_label, y_label in CURVES[:2]:
        new, old = getattr(head, field), getattr(base, field) if base is not None else []
        if new:
            series = [resample(points, x, y, CHART_POINTS) for points in (old, new) if points]
            colours = [BASE_COLOUR, HEAD_COLOUR] if old else [HEAD_COLOUR]
            blocks += ["", mermaid_chart(title, f"{x_label} (%)", y_label, series, colours)]
    if not blocks:
        return []
    legend = f"Grey: base `{base_label}`; blue: head `{head_label}`." if base is not None else "Head only."
    note = f"{legend} Resampled to {CHART_POINTS} points; the PNG plots in the artifact show every point."
    return ["### Curves", "", note, *blocks]


def resample(points: list[dict], x: str, y: str, n: int) -> list[float]:
    """`y` at `n` evenly spaced values of `x` in [0, 1], linearly interpolated, so base and head share one x axis."""
    import numpy as np

    xs, ys = zip(*sorted((float(p[x]), float(p[y])) for p in points), strict=True)
    return [round(float(v), 3) for v in np.interp(np.linspace(0.0, 1.0, n), xs, ys)]


def mermaid_chart(title: str, x_label: str, y_label: str, series: list[list[float]], colours: list[str]) -> str:
    """A fenced Mermaid `xychart-beta`, one line per series over x = 0..100 % and y = 0..1.

    An xychart spreads a series' points evenly over a numeric x axis, so `n` points on 0 --> 100 land on the grid
    0, 100/(n-1), ... (integers for n = 21). It has no legend: the series' colours come from `colours`, in order.
    """
    palette = json.dumps({"themeVariables": {"xyChart": {"plotColorPalette": ", ".join(colours)}}})
    lines = ["```mermaid", f"%%{{init: {palette}}}%%", "xychart-beta", f'    title "{title}"']
    lines += [f'    x-axis "{x_label}" 0 --> 100', f'    y-axis "{y_label}" 0 --> 1']
    lines += [f"    line [{', '.join(f'{v:g}' for v in values)}]" for values in series]
    return "\n".join([*lines, "```"])


def write_pngs(folder: Path, head, base) -> list[Path]:
    """Plot `head` (and `base`, an `Outputs` or None) into `folder`; return the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for field, title, x, y, x_label, y_label in CURVES:
        if not getattr(head, field):
            continue
        fig, ax = plt.subplots(figsize=(5, 4.5))
        if field != "precision_recall":
            ax.plot([0, 1], [0, 1], color="#e5e7eb", linewidth=1)  # chance (ROC) or perfect calibration
        for outputs, label, style, colour in ((base, "base", "--", BASE_COLOUR), (head, "head", "-", HEAD_COLOUR)):
            points = getattr(outputs, field) if outputs is not None else []
            if points:
                marker = "o" if field == "calibration" else None
                xs, ys = [p[x] for p in points], [p[y] for p in points]
                ax.plot(xs, ys, style, color=colour, label=label, marker=marker, markersize=3)
        ax.set(title=title, xlabel=x_label, ylabel=y_label, xlim=(0, 1), ylim=(0, 1.02))
        ax.legend(loc="upper right" if field == "precision_recall" else "lower right")
        written.append(_save(fig, folder / f"{field}.png"))
    if head.importance:
        written.append(_save(_importance(plt, head, base), folder / "feature_importance.png"))
    plt.close("all")
    return written


def _importance(plt, head, base):
    import numpy as np

    top = head.importance[:PNG_FEATURES][::-1]
    old = {f["feature"]: f["importance"] for f in (base.importance if base is not None else [])}
    rows = np.arange(len(top))
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(top) + 1.2))
    if old:
        ax.barh(rows + 0.2, [old.get(f["feature"], 0.0) for f in top], height=0.4, color=BASE_COLOUR, label="base")
    ax.barh(rows - (0.2 if old else 0), [f["importance"] for f in top], height=0.4, color=HEAD_COLOUR, label="head")
    ax.set_yticks(rows, [f["feature"] for f in top])
    ax.set(title="Permutation importance (drop in ROC AUC)", xlabel="importance")
    ax.legend(loc="lower right")
    return fig


def _save(fig, path: Path) -> Path:
    from mlci.core.io import write_with

    fig.tight_layout()
    write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None}))
    return path


def mermaid_bars(title: str, labels: list[str], y_label: str, bars: list[float], line: list[float] | None) -> str:
    """A fenced Mermaid `xychart-beta` bar chart, one bar per label, and optionally a line (e.g. the base's value).

    The y axis spans the values with a margin, so that small differences between runs stay visible.
    """
    values = [*bars, *(line or [])]
    low, high = min(values), max(values)
    margin = max((high - low) * 0.25, 0.005)
    bottom, top = max(round(low - margin, 3), 0.0), round(high + margin, 3)
    palette = json.dumps({"themeVariables": {"xyChart": {"plotColorPalette": f"{HEAD_COLOUR}, {BASE_COLOUR}"}}})
    lines = ["```mermaid", f"%%{{init: {palette}}}%%", "xychart-beta", f'    title "{title}"']
    lines += ["    x-axis [" + ", ".join(f'"{label}"' for label in labels) + "]"]
    lines += [f'    y-axis "{y_label}" {bottom:g} --> {top:g}', f"    bar [{', '.join(f'{v:g}' for v in bars)}]"]
    if line:
        lines += [f"    line [{', '.join(f'{v:g}' for v in line)}]"]
    return "\n".join([*lines, "```"])
