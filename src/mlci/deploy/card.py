"""The model card: a Markdown page generated from a release's metadata, shipped in the package and as release notes.

Sections follow "Model Cards for Model Reporting" (Mitchell et al.), cut to what a pipeline can state truthfully:
intended use, training data and its profile, training setup, metrics overall and per segment, the gate's result
against the production model, limitations, lineage.
"""

from __future__ import annotations

from typing import Any

from mlci.core.metric_names import HIGHER_IS_BETTER, SEGMENT_METRICS


def headline(meta: dict[str, Any]) -> str:
    """One line: name, version, family, the headline metric and the gate."""
    metrics = meta["metrics"]
    gate = "passed" if meta["challenge"]["passed"] else "failed"
    return (
        f"{meta['name']} v{meta['version']}: {meta['model']['model']}, ROC AUC {metrics.get('roc_auc')}, "
        f"average precision {metrics.get('average_precision')}; gate {gate}"
    )


def render(meta: dict[str, Any], intended_use: str, limitations: list[str]) -> str:
    model, profile, challenge = meta["model"], meta["data_profile"], meta["challenge"]
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
        f"- target `{model.get('target')}`, positive rate {profile.get('positive_rate')} "
        f"({profile.get('positives')} positives)",
        f"- features: {len(model['features']['numeric'])} numeric ({', '.join(model['features']['numeric'])}); "
        f"{len(model['features']['categorical'])} categorical ({', '.join(model['features']['categorical'])})",
        f"- duplicate rate {profile.get('duplicate_rate')}; columns with missing values: "
        + (", ".join(f"{k} {v}" for k, v in sorted(profile.get("null_rates", {}).items()) if v) or "none"),
        "",
        "## Training setup",
        "",
        f"- model family `{model['model']}`, seed {model.get('seed')}, class weight {model.get('class_weight')}",
        "- hyperparameters: " + ", ".join(f"`{k}={v}`" for k, v in sorted(model.get("hyperparameters", {}).items())),
        f"- decision threshold {meta['threshold']}",
        "- libraries: " + ", ".join(f"{k} {v}" for k, v in sorted(meta["libraries"].items())),
        "",
        "## Metrics (test split)",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {name} ({'higher' if HIGHER_IS_BETTER.get(name, True) else 'lower'} is better) | {value} |"
          for name, value in sorted(meta["metrics"].items())),
        "",
    ]  # fmt: skip
    segments = meta.get("segments") or {}
    if segments:
        lines += [
            f"Per segment ({meta.get('segment_column') or 'segment'}):",
            "",
            "| segment | rows | " + " | ".join(SEGMENT_METRICS) + " |",
            "|---|---|" + "---|" * len(SEGMENT_METRICS),
            *(f"| {name} | {seg.get('rows')} | " + " | ".join(str(seg.get(m)) for m in SEGMENT_METRICS) + " |"
              for name, seg in sorted(segments.items())),
            "",
        ]  # fmt: skip
    lines += ["## Gate against the production model", "", f"**{challenge['verdict']}**", ""]
    if challenge.get("note"):
        lines += [f"Note: {challenge['note']}.", ""]
    if challenge.get("champion"):
        lines += [
            f"| metric | production v{challenge['champion_version']} | this version |",
            "|---|---|---|",
            *(f"| {name} | {challenge['champion'].get(name)} | {value} |"
              for name, value in sorted(challenge["challenger"].items())),
            "",
        ]  # fmt: skip
    lines += ["## Limitations and caveats", "", *(f"- {item}" for item in limitations)]
    lines += [
        f"- Version {meta['version']} is a {meta['bump']['level']} release: {'; '.join(meta['bump']['reasons'])}.",
        "",
        "## Lineage",
        "",
        f"- commit `{meta['git_sha']}` ({meta['commit_time']})",
        *(f"- {group} `{path}`: md5 `{md5}`"
          for group in ("source", "data", "model") for path, md5 in sorted(meta["lineage"][group].items())),
        "",
    ]  # fmt: skip
    return "\n".join(lines)
