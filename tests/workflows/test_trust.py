"""Who can steer what: the trust rules of the publishing workflows, read from the files (fast, no act).

The act tests show the behaviour (a branch dispatch of deploy.yml publishes nothing; retrain.yml leaves a fork's
pull request alone); these pin the shape that behaviour rests on, so that a later edit cannot quietly undo it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from actkit import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
# A command that runs the project's own code (or installs its dependencies), or the project's own action.
PROJECT_CODE = re.compile(r"(?m)(^|[;&|(]|\bthen|\bdo)\s*(make|dvc|pip3?|uv|python3?\s+-m|\./)\b|\./\.github/actions/")


def jobs(name: str) -> dict[str, dict]:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))["jobs"]


def steps_text(job: dict) -> list[str]:
    return [str(step.get("run", "")) + str(step.get("uses", "")) for step in job["steps"]]


def step_names(job: dict) -> list[str]:
    return [step.get("name", "") for step in job["steps"]]


def test_deploy__builds_with_a_read_only_token_and_publishes_from_main_in_an_environment() -> None:
    build, publish = jobs("deploy.yml")["build"], jobs("deploy.yml")["publish"]

    assert build["permissions"] == {"contents": "read"}
    assert "environment" not in build, "the build job runs project code: it gets no environment secret"
    assert publish["needs"] == "build" and publish["if"] == "github.ref == 'refs/heads/main'"
    assert publish["environment"] == "release"
    assert set(publish["permissions"]) == {"contents", "packages", "id-token", "attestations"}


def test_deploy__publish_job_runs_no_project_code_and_checks_what_it_is_given() -> None:
    publish = jobs("deploy.yml")["publish"]

    for text in steps_text(publish):
        assert not PROJECT_CODE.search(text), f"the publish job runs project code: {PROJECT_CODE.search(text)[0]!r}"
    (check,) = [step["run"] for step in publish["steps"] if step.get("name", "").startswith("Check the release")]
    assert "sha256sum --check --strict --quiet release.sha256" in check
    assert "sha256sum --check --strict --quiet SHA256SUMS" in check
    assert '"$GITHUB_SHA"' in check, "the tag must point at the commit this run is for"
    names = [name.split(" (")[0] for name in step_names(publish)]
    assert names.index("Check the release") < names.index("Build and push the serving image")
    assert names.index("Check the release") < names.index("Push the version tag") < names.index("Publish the release")


def test_promote__verifies_and_moves_the_image_by_digest_before_it_pushes_the_stage_tag() -> None:
    check, promote = jobs("promote.yml")["check"], jobs("promote.yml")["promote"]

    assert 'if [ "$REF" != "refs/heads/main" ]' in check["steps"][0]["run"], "promote runs from main only"
    assert promote["environment"] == "${{ needs.check.outputs.stage }}"
    names = step_names(promote)
    order = [
        "Find the version's image by digest",
        "Verify the image's provenance",
        "Move the image's stage tag to the version's image",
        "Push the stage tag",
    ]
    assert [name for name in names if name in order] == order
    scripts = {step["name"]: step.get("run", "") for step in promote["steps"]}
    assert 'gh attestation verify "oci://$NAME@$DIGEST"' in scripts["Verify the image's provenance"]
    assert '"$NAME@$DIGEST"' in scripts["Move the image's stage tag to the version's image"]


def test_retrain__adopts_only_its_own_labelled_pull_request() -> None:
    (job,) = jobs("retrain.yml").values()
    script = next(step["run"] for step in job["steps"] if "gh pr list" in str(step.get("run", "")))

    assert '--label "$LABEL"' in script and "isCrossRepository" in script and '"author"' in script
    assert 'p["isCrossRepository"] is False' in script
    assert 'gh label create "$LABEL"' in script and '--label "$LABEL" \\' in script.split("gh pr create")[1]
    assert job["environment"] == "retrain", "the App's key is an environment secret, for main only"


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_tokens_reach_git_only_through_the_environment(path: Path) -> None:
    text = path.read_text(encoding="utf-8")

    assert not re.search(r"git\s+-c\s+['\"]?http", text), f"{path.name}: a token on git's command line"
    assert not re.search(r"https://[^\s\"']*:[^\s\"']*@", text), f"{path.name}: a token in a URL"
    for line in text.splitlines():
        if "x-access-token" in line:
            assert line.strip().startswith("GIT_CONFIG_VALUE_0="), f"{path.name}: {line.strip()}"


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_secrets_are_read_only_in_jobs_with_an_environment(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    for name, job in workflow["jobs"].items():
        if re.search(r"secrets\.(?!GITHUB_TOKEN)", yaml.safe_dump(job)):
            assert job.get("environment"), f"{path.name}: job {name} reads a secret outside an environment"
