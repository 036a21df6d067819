"""From a reproduced workspace to a release: champion vs challenger, the next version, the package, the version tag.

`make package` runs `build` (nothing is tagged); `make release` (the deploy workflow) runs `build` and `register`.
The gate runs first: when the challenger loses, nothing is packaged or tagged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlci.core import paths
from mlci.core.errors import ReleaseError
from mlci.core.frames import read_split
from mlci.core.io import read_parquet, write_json
from mlci.core.metric_names import KEY_METRICS
from mlci.core.params import Params, load_params
from mlci.core.schema import Schema
from mlci.deploy import card, lineage, registry, versioning
from mlci.deploy.challenge import Challenge, challenge
from mlci.deploy.package import libraries, workspace_facts, write_package
from mlci.deploy.params import DeployParams
from mlci.evaluation.metrics import segment_values
from mlci.model.input_schema import field_types, input_json_schema
from mlci.model.pipeline import load_model, set_openmp_wait_policy
from mlci.model.release import Release, find_package, load_release
from mlci.model.release_metadata import ReleaseMetadata, parse_metadata

CHALLENGE_REPORT = paths.DIST / "challenge.json"


@dataclass(frozen=True)
class Built:
    meta: ReleaseMetadata
    folder: Path
    archive: Path
    record: dict[str, Any]
    summary: str
    existing: str | None = None  # the version tag already at this commit: a re-run rebuilds, and tags nothing


class GateFailed(Exception):
    """The challenger lost: nothing was packaged. Carries the result for the caller to report."""

    def __init__(self, result: Challenge) -> None:
        super().__init__(result.verdict)
        self.result = result


def champion(deploy: DeployParams, path: str | None) -> Release | None:
    """The production model's release: from `path`, else the registry's champion stage and its package in dist/."""
    if path:
        return load_release(path)
    current = registry.stages(deploy.model_name).get(deploy.champion_stage)
    if current is None:
        return None
    try:
        return load_release(find_package(current.text))
    except ReleaseError:
        raise ReleaseError(
            f"{deploy.champion_stage} is {current.tag} but its package is not under {paths.DIST}/; download it "
            f"(gh release download '{current.tag}' --pattern '*.tar.gz' --dir {paths.DIST}) and pass it with "
            "--champion, or unpack it there"
        ) from None


def build(deploy: DeployParams, champion_path: str | None) -> Built:
    """Judge the workspace model against the champion, then write its package; `GateFailed` when it loses."""
    set_openmp_wait_policy()
    params = load_params()
    schema = Schema.load()
    result = _judge(deploy, champion_path, params, schema)
    X_train, _, _ = read_split(paths.TRAIN_SPLIT, schema)
    contract = input_json_schema(schema, X_train, title=f"{deploy.model_name} input record")
    facts = workspace_facts()
    record = versioning.record(
        facts["model"]["model"], field_types(contract), {k: facts["metrics"].get(k) for k in KEY_METRICS}
    )
    source = lineage.commit()
    bump, existing = _version_at(deploy.model_name, source["sha"], record)
    meta = _metadata(deploy, params, schema, bump, source, facts, result)
    folder, archive = write_package(meta, contract, card.render(meta, deploy.intended_use, deploy.limitations))
    return Built(meta, folder, archive, record, card.headline(meta), existing.tag if existing else None)


def _judge(deploy: DeployParams, champion_path: str | None, params: Params, schema: Schema) -> Challenge:
    """Champion vs challenger on the test split, saved to `CHALLENGE_REPORT`; `GateFailed` if the challenger loses."""
    test = read_parquet(paths.TEST_SPLIT).to_pandas()
    result = challenge(
        load_model(paths.MODEL),
        params.evaluate.threshold,
        test,
        test[schema.target].to_numpy(),
        params.gate,
        schema.features,
        champion(deploy, champion_path),
        segment_values(test[schema.segment_column]) if schema.segment_column in test else None,
    )
    write_json(CHALLENGE_REPORT, result.to_json())
    if not result.passed:
        raise GateFailed(result)
    return result


def _version_at(name: str, sha: str, record: dict[str, Any]) -> tuple[versioning.Bump, registry.Version | None]:
    """The version for the model of commit `sha`, and the version already registered at `sha` (a re-run), if any."""
    known = registry.versions(name)
    existing = next((v for v in known if v.commit == sha), None)
    if existing:  # a re-run: the same version again, judged against what came before it
        known = [v for v in known if v.number < existing.number]
    previous = known[-1] if known else None
    bump = versioning.next_version(previous.number if previous else None, previous.record if previous else None, record)
    return (replace(bump, number=existing.number) if existing else bump), existing


def _metadata(
    deploy: DeployParams,
    params: Params,
    schema: Schema,
    bump: versioning.Bump,
    source: dict[str, Any],
    facts: dict[str, Any],
    result: Challenge,
) -> ReleaseMetadata:
    """The release's metadata: what it is, where it came from, what it was trained on, and how it did."""
    return parse_metadata(
        {
            "name": deploy.model_name,
            "version": bump.text.removeprefix("v"),
            "tag": f"{deploy.model_name}@{bump.text}",
            "bump": {"level": bump.level, "reasons": bump.reasons},
            "git_sha": source["sha"],
            "commit_time": source["time"],
            "uncommitted_changes": source["dirty"],
            "threshold": params.evaluate.threshold,
            "class_labels": schema.class_labels,
            "segment_column": schema.segment_column,
            "features": schema.features,
            "params": params.model_dump(mode="json", by_alias=True, exclude={"deploy", "serve", "monitor"}),
            "libraries": libraries(),
            "training": {"rows": facts["model"].get("train_rows"), "trained_at": source["time"]},
            "lineage": lineage.dvc_hashes(),
            "challenge": result.to_json(),
            **facts,
        },
        where="the release metadata",
    )


def register(deploy: DeployParams, built: Built) -> str:
    """Tag the version at the packaged commit (unless it has its tag already: a re-run).

    Refuses a workspace with uncommitted changes: the tag would name a commit that did not make the model.
    """
    if built.meta.uncommitted_changes:
        raise ReleaseError(
            "tracked files differ from the commit (a stale dvc.lock after `dvc repro`?); commit them, then release"
        )
    if built.existing:
        return built.existing
    number = registry.parse_version(built.meta.version)
    if built.meta.git_sha is None:
        raise ReleaseError(
            "the package's metadata names no commit (git_sha) to tag; build it again with `make package`"
        )
    return registry.register(deploy.model_name, number, built.meta.git_sha, built.summary, built.record)


def write_outputs(path: Path, built: Built, tag: str | None) -> None:
    """`key=value` lines for `$GITHUB_OUTPUT`."""
    values = {
        "version": built.meta.version,
        "tag": tag or built.meta.tag,
        "folder": built.folder,
        "archive": built.archive,
        "card": built.folder / "MODEL_CARD.md",
        "checksums": built.folder / "SHA256SUMS",
        "headline": built.summary,
    }
    with path.open("a", encoding="utf-8") as out:
        out.writelines(f"{key}={value}\n" for key, value in values.items())
