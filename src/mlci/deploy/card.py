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
from typing import TypeVar

from mlci.core.errors import ReleaseError
from mlci.core.markdown import code, escape, row, table
from mlci.core.metric_names import HIGHER_IS_BETTER, KEY_METRICS
from mlci.model.release_metadata import ReleaseMetadata

T = TypeVar("T")


def _given(value: T | None, part: str) -> T:
    """A part of the metadata that `deploy` always writes; older or hand-made packages may lack it."""
    if value is None:
        raise ReleaseError(
            f"the release metadata has no {part!r}, which the model card needs; build it with `make package`"
        )
    return value


def headline(meta: ReleaseMetadata) -> str:
    """One line: name, version, family, the headline metric and the gate."""
    gate = "passed" if _given(meta.challenge, "challenge").passed else "failed"
    return (
        f"{meta.name} v{meta.version}: {_given(meta.model, 'model').model}, ROC AUC {meta.metrics.get('roc_auc')}, "
        f"average precision {meta.metrics.get('average_precision')}; gate {gate}"
    )


def codes(values: Iterable[object]) -> str:
    """Values as code spans, comma-separated: column names, `key=value` settings."""
    return ", ".join(code(value) for value in values)


def render(meta: ReleaseMetadata, intended_use: str, limitations: list[str]) -> str:
    """The card of a release `deploy` built (its metadata holds the model, the challenge, the bump and the lineage)."""
    sections = [
        [f"# Model card: {meta.name} v{meta.version}", "", f"> {headline(meta)}", ""],
        ["## Intended use", "", intended_use, ""],
        _training_data(meta),
        _training_setup(meta),
        _metrics(meta),
        _gate(meta),
        _limitations(meta, limitations),
        _lineage(meta),
    ]
    return "\n".join(line for section in sections for line in section)


def _training_data(meta: ReleaseMetadata) -> list[str]:
    profile, model = meta.data_profile, _given(meta.model, "model")
    numeric, categorical = model.features.numeric, model.features.categorical
    missing = ", ".join(f"{code(k)} {v}" for k, v in sorted(profile.get("null_rates", {}).items()) if v) or "none"
    return [
        "## Training data",
        "",
        f"- rows after validation: {profile.get('rows')}; training rows: {model.train_rows}",
        f"- target {code(model.target)}, positive rate {profile.get('positive_rate')} "
        f"({profile.get('positives')} positives)",
        f"- features: {len(numeric)} numeric ({codes(numeric)}); {len(categorical)} categorical ({codes(categorical)})",
        f"- duplicate rate {profile.get('duplicate_rate')}; columns with missing values: {missing}",
        "",
    ]


def _training_setup(meta: ReleaseMetadata) -> list[str]:
    model = _given(meta.model, "model")
    return [
        "## Training setup",
        "",
        f"- model family {code(model.model)}, seed {model.seed}, class weight {model.class_weight}",
        "- hyperparameters: " + codes(f"{k}={v}" for k, v in sorted(model.hyperparameters.items())),
        f"- decision threshold {meta.threshold}",
        "- libraries: " + ", ".join(f"{k} {v}" for k, v in sorted((meta.libraries or {}).items())),
        "",
    ]


def _metrics(meta: ReleaseMetadata) -> list[str]:
    lines = [
        "## Metrics (test split)",
        "",
        *table(["metric", "value"], "ll"),
        *(row([f"{name} ({'higher' if HIGHER_IS_BETTER.get(name, True) else 'lower'} is better)", str(value)])
          for name, value in sorted(meta.metrics.items())),
        "",
    ]  # fmt: skip
    if meta.segments:
        lines += [
            f"Per segment ({code(meta.segment_column or 'segment')}):",
            "",
            *table(["segment", "rows", *KEY_METRICS], "l" * (2 + len(KEY_METRICS))),
            *(row([escape(name), str(seg.get("rows")), *(str(seg.get(m)) for m in KEY_METRICS)])
              for name, seg in sorted(meta.segments.items())),
            "",
        ]  # fmt: skip
    return lines


def _gate(meta: ReleaseMetadata) -> list[str]:
    challenge = _given(meta.challenge, "challenge")
    lines = ["## Gate against the production model", "", f"**{challenge.verdict}**", ""]
    if challenge.note:
        lines += [f"Note: {challenge.note}.", ""]
    if challenge.champion:
        lines += [
            *table(["metric", f"production v{challenge.champion_version}", "this version"], "lll"),
            *(row([name, str(challenge.champion.get(name)), str(value)])
              for name, value in sorted(challenge.challenger.items())),
            "",
        ]  # fmt: skip
    return lines


def _limitations(meta: ReleaseMetadata, limitations: list[str]) -> list[str]:
    bump = _given(meta.bump, "bump")
    reasons = "; ".join(escape(reason) for reason in bump.reasons)
    return [
        "## Limitations and caveats",
        "",
        *(f"- {item}" for item in limitations),
        f"- Version {meta.version} is a {bump.level} release: {reasons}.",
        "",
    ]


def _lineage(meta: ReleaseMetadata) -> list[str]:
    lineage = _given(meta.lineage, "lineage")
    groups = {"source": lineage.source, "data": lineage.data, "model": lineage.model}
    return [
        "## Lineage",
        "",
        f"- commit {code(meta.git_sha)} ({meta.commit_time})",
        *(f"- {group} {code(path)}: md5 {code(md5)}"
          for group, hashes in groups.items() for path, md5 in sorted(hashes.items())),
        "",
    ]  # fmt: skip
