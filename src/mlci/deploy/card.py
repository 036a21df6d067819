"""The model card: a Markdown page generated from a release's metadata, shipped in the package and as release notes.

Sections follow "Model Cards for Model Reporting" (Mitchell et al.), cut to what a pipeline can state truthfully:
intended use, training data and its profile, training setup, metrics overall and per segment, the gate's result
against the production model, limitations, lineage.

Values that come from data (column and category names, segment values, hyperparameter values, file paths, version
reasons that name fields) go through `core.markdown`, so they render as themselves: a `|` in a segment value cannot
split a table row, nor `@team` notify anyone. The intended use and limitations are the owner's own Markdown from
`params.yaml`; the name and version are validated identifiers, and metric names, the gate's verdict and the commit
time are the pipeline's own words: these are written as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlci.core.markdown import code, escape, row, table
from mlci.core.metric_names import HIGHER_IS_BETTER, KEY_METRICS


def headline(meta: dict[str, Any]) -> str:
    """One line: name, version, family, the headline metric and the gate."""
    metrics = meta["metrics"]
    gate = "passed" if meta["challenge"]["passed"] else "failed"
    return (
        f"{meta['name']} v{meta['version']}: {meta['model']['model']}, ROC AUC {metrics.get('roc_auc')}, "
        f"average precision {metrics.get('average_precision')}; gate {gate}"
    )


def codes(values: Iterable[object]) -> str:
    """Values as code spans, comma-separated: column names, `key=value` settings."""
    return ", ".join(code(value) for value in values)


def render(meta: dict[str, Any], intended_use: str, limitations: list[str]) -> str:
    model, profile, challenge = meta["model"], meta["data_profile"], meta["challenge"]
    numeric, categorical = model["features"]["numeric"], model["features"]["categorical"]
    lines = [
        f"# Model card: {meta['name']} v{meta['version']}",
        "",
        f"> {headline(meta)}",
        "",
        "## Intended use",
        "",
        intended_use,
        "",
        "## Training data",
        "",
        f"- rows after validation: {profile.get('rows')}; training rows: {model.get('train_rows')}",
        f"- target {code(model.get('target'))}, positive rate {profile.get('positive_rate')} "
        f"({profile.get('positives')} positives)",
        f"- features: {len(numeric)} numeric ({codes(numeric)}); {len(categorical)} categorical ({codes(categorical)})",
        f"- duplicate rate {profile.get('duplicate_rate')}; columns with missing values: "
        + (", ".join(f"{code(k)} {v}" for k, v in sorted(profile.get("null_rates", {}).items()) if v) or "none"),
        "",
        "## Training setup",
        "",
        f"- model family {code(model['model'])}, seed {model.get('seed')}, class weight {model.get('class_weight')}",
        "- hyperparameters: " + codes(f"{k}={v}" for k, v in sorted(model.get("hyperparameters", {}).items())),
        f"- decision threshold {meta['threshold']}",
        "- libraries: " + ", ".join(f"{k} {v}" for k, v in sorted(meta["libraries"].items())),
        "",
        "## Metrics (test split)",
        "",
        *table(["metric", "value"], "ll"),
        *(row([f"{name} ({'higher' if HIGHER_IS_BETTER.get(name, True) else 'lower'} is better)", str(value)])
          for name, value in sorted(meta["metrics"].items())),
        "",
    ]  # fmt: skip
    segments = meta.get("segments") or {}
    if segments:
        lines += [
            f"Per segment ({code(meta.get('segment_column') or 'segment')}):",
            "",
            *table(["segment", "rows", *KEY_METRICS], "l" * (2 + len(KEY_METRICS))),
            *(row([escape(name), str(seg.get("rows")), *(str(seg.get(m)) for m in KEY_METRICS)])
              for name, seg in sorted(segments.items())),
            "",
        ]  # fmt: skip
    lines += ["## Gate against the production model", "", f"**{challenge['verdict']}**", ""]
    if challenge.get("note"):
        lines += [f"Note: {challenge['note']}.", ""]
    if challenge.get("champion"):
        lines += [
            *table(["metric", f"production v{challenge['champion_version']}", "this version"], "lll"),
            *(row([name, str(challenge["champion"].get(name)), str(value)])
              for name, value in sorted(challenge["challenger"].items())),
            "",
        ]  # fmt: skip
    lines += ["## Limitations and caveats", "", *(f"- {item}" for item in limitations)]
    lines += [
        f"- Version {meta['version']} is a {meta['bump']['level']} release: "
        + "; ".join(escape(reason) for reason in meta["bump"]["reasons"]) + ".",
        "",
        "## Lineage",
        "",
        f"- commit {code(meta['git_sha'])} ({meta['commit_time']})",
        *(f"- {group} {code(path)}: md5 {code(md5)}"
          for group in ("source", "data", "model") for path, md5 in sorted(meta["lineage"][group].items())),
        "",
    ]  # fmt: skip
    return "\n".join(lines)
