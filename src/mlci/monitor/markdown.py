"""The drift report as Markdown: the verdict, then one table per check. GitHub renders it in a pull request body."""

from __future__ import annotations

MARKER = "<!-- mlci-drift-report -->"


def render(result: dict, batch_name: str, verdict: str) -> str:
    rows = result["rows"]
    t = result["thresholds"]["drift"]
    correction = {"benjamini_hochberg": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}[t["correction"]]
    lines = [
        MARKER,
        f"## Drift check: {verdict}",
        "",
        f"Batch `{batch_name}`: {rows['batch']:,} rows"
        + (f" ({rows['unlabelled']:,} without a label)" if rows["unlabelled"] else "")
        + f", against the {rows['reference']:,} training rows the current model saw. "
        + ("Retraining is warranted." if result["retrain"] else "Nothing to retrain."),
        "",
        "### Features",
        "",
        f"A feature drifts when its PSI reaches {t['psi']} (major from {t['psi_major']}) and its chi-square p-value, "
        f"corrected for {len(result['features'])} tests ({correction}), is below {t['alpha']}.",
        "",
        "| feature | kind | PSI | shift | p (corrected) | drifted |",
        "|---|---|--:|---|--:|:-:|",
    ]
    for e in result["features"]:
        unseen = f" (new: {', '.join(e['unseen'][:3])})" if e.get("unseen") else ""
        lines.append(
            f"| {e['feature']}{unseen} | {e['kind']} | {e['psi']:.4f} | {e['severity']} | {_p(e['p_adjusted'])} | "
            f"{'**yes**' if e['drifted'] else 'no'} |"
        )
    s = result["score"]
    lines += [
        "",
        "### Model scores",
        "",
        f"PSI of the predicted probabilities, batch against the test split: **{s['psi']:.4f}** ({s['severity']}; "
        f"threshold {s['threshold']}){' - **drifted**' if s['drifted'] else ''}."
        + (f" Scored on a sample of {rows['scored']:,} rows." if rows["scored"] < rows["batch"] else ""),
        "",
        "### Decay",
        "",
    ]
    d = result["decay"]
    if not d["computed"]:
        lines.append(f"Not judged: {d['reason']}.")
    else:
        level = round(100 * d["confidence"])
        lines += [
            f"Metrics on {d['rows']:,} labelled rows ({d['positives']:,} positive), with {level}% bootstrap intervals. "
            "A metric decays when it is worse than on the test split by more than allowed, beyond the noise of both "
            "samples (the low end of the drop's interval).",
            "",
            "| metric | test | batch | batch interval | worse by | its interval | allowed | decayed |",
            "|---|--:|--:|--:|--:|--:|--:|:-:|",
        ]
        for name, m in d["metrics"].items():
            lines.append(
                f"| {name} | {m['test']:.4f} | {m['batch']:.4f} | {m['low']:.4f} - {m['high']:.4f} | "
                f"{m['drop']:+.4f} | {m['drop_low']:+.4f} - {m['drop_high']:+.4f} | {m['max_drop']} | "
                f"{'**yes**' if m['decayed'] else 'no'} |"
            )
    lines += ["", "### Fairness", ""]
    f = result["fairness"]
    if not f["computed"]:
        lines.append(f"Not judged: {f['reason']}.")
    else:
        lines += [
            f"Gap between the best and the worst value of `{f['column']}` per metric; flagged when it widens by more "
            "than allowed (reported; not a reason to retrain on its own).",
            "",
            "| metric | test gap | batch gap | allowed increase | by segment (batch) | flagged |",
            "|---|--:|--:|--:|---|:-:|",
        ]
        for name, m in f["metrics"].items():
            segments = ", ".join(f"{k} {v:.3f}" for k, v in sorted(m["batch"].items()))
            lines.append(
                f"| {name} | {m['test_gap']:.4f} | {m['batch_gap']:.4f} | {m['max_gap_increase']} | {segments} | "
                f"{'**yes**' if m['flagged'] else 'no'} |"
            )
    lines += ["", "Thresholds: `monitor:` in params.yaml. Full results: `reports/drift/drift.json`.", ""]
    return "\n".join(lines)


def _p(value: float) -> str:
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"
