"""deploy.yml and promote.yml through act, on the small demo project with an S3-compatible DVC remote on loopback.

The story of one model: the first merge to main releases v1.0.0 (tag, release with package, card and checksums,
provenance, the serving image, data and model pushed to the remote); promote.yml puts it in production and moves
the image's `production` tag; the next merge is judged against it on the same rows and releases v1.0.1; a worse
model and a stale dvc.lock release nothing; rollback is promoting v1.0.0 again. `origin` is a bare repository
here: the runs' pushes reach it through git's `insteadOf`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from actkit import REMOTE_URL, REPOSITORY, ActRun, Project, Toolbox, Workspace, make_workspace, write_github

from projectkit import VENV_BIN, dvc, edit_params, environment, git
from s3kit import BUCKET, moto_s3

pytestmark = pytest.mark.slow

MODEL = "fraud-model"
IMAGE = "ghcr.io/acme/mlci"


@dataclass
class Line:
    """The release line under test: the workspace (a clone of main), its bare origin, and git's redirection to it."""

    space: Workspace
    origin: Path
    redirect: dict[str, str]  # git settings by environment: `origin` (spelled as on GitHub) is the bare repository

    @property
    def env(self) -> dict[str, str]:
        return {**self.space.toolbox.environment(), **self.redirect}

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return git(cwd or self.space.repo, *args, env=self.env)

    def push_main(self, message: str, params: dict | None = None, repro: bool = True) -> str:
        if params:
            edit_params(self.space.repo, params)
        if repro:
            dvc(self.space.repo, "repro", "--quiet", env=self.code_env())
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", message)
        self.git("push", "--quiet", "origin", "main")
        return self.git("rev-parse", "HEAD").strip()

    def code_env(self) -> dict[str, str]:
        """For the copy's own code and the test venv's `python` and `dvc`."""
        return {**environment(self.space.toolbox.isolated, self.space.repo), **self.redirect}

    def act(self, event: str, workflow: str, payload: dict) -> ActRun:
        self.git("fetch", "--quiet", "--tags", "--force", "origin")  # act copies this repository, tags included
        return self.space.act(event, workflow, payload, env=self.redirect)

    def deploy(self) -> ActRun:
        sha = self.git("rev-parse", "HEAD").strip()
        payload = {"ref": "refs/heads/main", "after": sha, "repository": {"full_name": "acme/mlci", "private": False}}
        return self.act("push", "deploy.yml", payload)

    def promote(self, version: str, stage: str) -> ActRun:
        payload = {"inputs": {"version": version, "stage": stage}, "ref": "refs/heads/main"}
        return self.act("workflow_dispatch", "promote.yml", payload)

    def tags(self) -> list[str]:
        return sorted(git(self.origin, "tag", "--list", env=self.env).split())

    def images(self) -> dict[str, str]:
        """The fake registry: image tag to digest."""
        path = self.space.state / "registry.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def releases(self) -> dict:
        return json.loads((self.space.state / "github.json").read_text(encoding="utf-8")).get("releases", {})


def redirect_origin(folder: Path, origin: Path) -> dict[str, str]:
    """Git settings (by environment) under which `origin`, spelled as on GitHub, is the bare repository `origin`.

    A global settings file rather than `GIT_CONFIG_*` variables: the workflows pass their token to git through those.
    """
    gitconfig = folder / "redirect.gitconfig"
    gitconfig.write_text(f'[url "{origin}"]\n\tinsteadOf = {REMOTE_URL}\n', encoding="utf-8")
    return {"GIT_CONFIG_GLOBAL": str(gitconfig)}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def s3_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_s3(tmp_path_factory.mktemp("moto-deploy")) as url:
        yield url


@pytest.fixture(scope="module")
def line(project: Project, toolbox: Toolbox, s3_url: str, tmp_path_factory: pytest.TempPathFactory) -> Line:
    """Main with the S3 remote committed in .dvc/config, pushed to a bare origin of its own."""
    base = tmp_path_factory.mktemp("deploy")
    space = make_workspace(base, project, toolbox)
    origin = base / "origin.git"
    env = toolbox.environment()
    git(base, "clone", "--quiet", "--bare", str(project.origin), str(origin), env=env)
    redirect = redirect_origin(base, origin)
    write_github(space.state)
    line = Line(space, origin, redirect)
    dvc(space.repo, "remote", "add", "--default", "s3", f"s3://{BUCKET}/deploy", env=line.code_env())
    dvc(space.repo, "remote", "modify", "s3", "endpointurl", s3_url, env=line.code_env())
    line.push_main("Use the S3 remote", repro=False)
    return line


@pytest.fixture(scope="module")
def first(line: Line) -> ActRun:
    return line.deploy()


def test_first_merge__releases_v1_with_package_card_checksums_and_provenance(line: Line, first: ActRun) -> None:
    assert first.succeeded(), first.tail()
    tag = f"{MODEL}@v1.0.0"
    assert tag in line.tags()
    assert git(line.origin, "cat-file", "-t", tag, env=line.env).strip() == "tag", "an annotated tag, as GTO reads"

    release = line.releases()[tag]
    assert release["assets"] == ["MODEL_CARD.md", "SHA256SUMS", f"{MODEL}-v1.0.0.tar.gz"]
    assert release["notes"].startswith(f"# Model card: {MODEL} v1.0.0")
    assert "no production model yet: only the floors apply" in release["notes"]
    (create,) = [c for c in first.calls_of("gh") if c.get("command") == "release create"]
    assert create["options"]["--verify-tag"] == "true", "the release is created only once the tag is pushed"

    archive = Path(release["folder"]) / f"{MODEL}-v1.0.0.tar.gz"
    package_attest, image_attest = first.calls_of("attest-build-provenance")
    assert package_attest["files"] == {archive.name: sha256(archive)}, "provenance for the very bytes released"

    (build,) = first.calls_of("build-push")
    assert build["build_args"] == {"PACKAGE": f"dist/{MODEL}-v1.0.0", "LOCK": "requirements.txt"}
    assert f"dist/{MODEL}-v1.0.0" in build["copied"], "the package is in the image"
    assert build["tags"] == [f"{IMAGE}:1.0.0"] and build["inputs"]["push"] == "true"
    assert line.images() == {f"{IMAGE}:1.0.0": build["digest"]}
    assert image_attest["inputs"]["subject-name"] == IMAGE
    assert image_attest["inputs"]["subject-digest"] == build["digest"]
    assert image_attest["inputs"]["push-to-registry"] == "true"
    (login,) = first.calls_of("docker-login")
    assert login["registry"] == "ghcr.io" and login["password_given"]

    with tarfile.open(archive) as tar:
        names = sorted(tar.getnames())
        sums = tar.extractfile(f"{MODEL}-v1.0.0/SHA256SUMS").read().decode()
        model_bytes = tar.extractfile(f"{MODEL}-v1.0.0/model.skops").read()
    assert names == [f"{MODEL}-v1.0.0", *(f"{MODEL}-v1.0.0/{n}" for n in sorted(
        ["MODEL_CARD.md", "SHA256SUMS", "input_schema.json", "metadata.json", "model.skops"]))]  # fmt: skip
    assert sums == (Path(release["folder"]) / "SHA256SUMS").read_text()
    assert hashlib.sha256(model_bytes).hexdigest() in sums
    assert "Released fraud-model@v1.0.0" in first.log or first.step("Job summary") == "success"


def test_released_model__a_fresh_clone_pulls_it_from_the_dvc_remote_at_the_tag(
    line: Line, first: ActRun, tmp_path: Path
) -> None:
    assert first.succeeded(), first.tail()
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(line.origin), str(clone), env=line.env)
    git(clone, "checkout", "--quiet", f"{MODEL}@v1.0.0", env=line.env)
    dvc(clone, "pull", "models/model.skops", env={**line.env, "PYTHONPATH": str(clone / "src")})

    archive = Path(line.releases()[f"{MODEL}@v1.0.0"]["folder"]) / f"{MODEL}-v1.0.0.tar.gz"
    with tarfile.open(archive) as tar:
        released = tar.extractfile(f"{MODEL}-v1.0.0/model.skops").read()
    assert (clone / "models/model.skops").read_bytes() == released


def test_rerun_of_a_released_commit__publishes_nothing_new(line: Line, first: ActRun) -> None:
    assert first.succeeded(), first.tail()

    again = line.deploy()

    assert again.succeeded(), again.tail()
    assert "this commit is already fraud-model@v1.0.0: package rebuilt, nothing new tagged" in again.log
    assert "fraud-model@v1.0.0 is already released" in again.log
    creates = [c for c in again.calls_of("gh") if c.get("command") == "release create"]  # the state's calls, all runs
    assert [c["tag"] for c in creates] == [f"{MODEL}@v1.0.0"], "one release, from the first run"
    assert [t for t in line.tags() if "@" in t] == [f"{MODEL}@v1.0.0"]


def gto_show(line: Line, tmp_path: Path) -> dict:
    clone = tmp_path / "gto-clone"
    if not clone.exists():
        git(tmp_path, "clone", "--quiet", str(line.origin), str(clone), env=line.env)
    git(clone, "fetch", "--quiet", "--tags", "--force", "origin", env=line.env)
    shown = subprocess.run(
        [str(VENV_BIN / "gto"), "show", "--json"], cwd=clone, env=line.env, capture_output=True, text=True, check=True
    )
    return json.loads(shown.stdout)


def test_promotion__then_a_release_judged_against_production_then_rollback(
    line: Line, first: ActRun, tmp_path: Path
) -> None:
    assert first.succeeded(), first.tail()
    promoted = line.promote("1.0.0", "production")
    assert promoted.succeeded(), promoted.tail()
    assert f"{MODEL}#production#1" in line.tags()
    digest = line.images()[f"{IMAGE}:1.0.0"]
    verify = [c for c in promoted.calls_of("gh") if c.get("command") == "attestation verify"][-1]
    assert verify["subject"] == f"oci://{IMAGE}@{digest}" and verify["flags"]["--repo"] == "acme/mlci"
    assert verify["flags"]["--signer-workflow"] == "acme/mlci/.github/workflows/deploy.yml"
    moves = [c["args"] for c in promoted.calls_of("docker") if c["args"][2] == "create"]
    assert moves[-1][-1] == f"{IMAGE}@{digest}", "the stage tag moves to the digest that was verified"
    log = promoted.log
    assert log.index("Success - Main Move the image's stage tag") < log.index("Main Push the stage tag"), "image first"
    assert gto_show(line, tmp_path)[MODEL]["stage"]["production"] == "v1.0.0"

    line.push_main(
        "Slightly more regularised", params={"train": {"hist_gradient_boosting": {"l2_regularization": 0.1}}}
    )
    second = line.deploy()
    assert second.succeeded(), second.tail()
    downloads = [c for c in second.calls_of("gh") if c.get("command") == "release download"]
    assert [c["tag"] for c in downloads] == [f"{MODEL}@v1.0.0"], "the champion comes from production's release"
    notes = line.releases()[f"{MODEL}@v1.0.1"]["notes"]
    assert "against production v1.0.0 on the same" in notes and "| metric | production v1.0.0 | this version |" in notes
    assert "patch release" in notes

    assert line.images()[f"{IMAGE}:production"] == line.images()[f"{IMAGE}:1.0.0"]

    # Promote v1.0.1 to production, then roll back: both move the image's stage tag too.
    assert line.promote("1.0.1", "production").succeeded()
    assert line.images()[f"{IMAGE}:production"] == line.images()[f"{IMAGE}:1.0.1"]
    rollback = line.promote("1.0.0", "production")
    assert rollback.succeeded(), rollback.tail()
    assert line.images()[f"{IMAGE}:production"] == line.images()[f"{IMAGE}:1.0.0"] != line.images()[f"{IMAGE}:1.0.1"]
    assert {f"{MODEL}#production#2", f"{MODEL}#production#3"} <= set(line.tags())

    # `make promote` does the same against the local repository; pushing publishes it.
    line.git("fetch", "--quiet", "--tags", "origin")
    subprocess.run(
        [str(VENV_BIN / "python"), "-m", "mlci.deploy", "promote", "--version", "1.0.1", "--stage", "staging"],
        cwd=line.space.repo, env=line.code_env(), check=True, capture_output=True, text=True,
    )  # fmt: skip
    line.git("push", "--quiet", "origin", "--tags")
    shown = gto_show(line, tmp_path)[MODEL]
    assert shown["stage"] == {"production": "v1.0.0", "staging": "v1.0.1"}, "the rollback is production's newest tag"
    assert shown["version"] == "v1.0.1"
    models = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "mlci.deploy", "models"],
        cwd=line.space.repo, env=line.code_env(), check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    rows = {row.split()[0]: row.split()[1] for row in models.splitlines()[2:]}
    assert rows == {"v1.0.1": "staging", "v1.0.0": "production"}, models


def test_worse_challenger_and_stale_lock__nothing_is_tagged_or_released(line: Line, first: ActRun) -> None:
    assert first.succeeded(), first.tail()
    if f"{MODEL}#production#1" not in line.tags():  # this test alone: put v1.0.0 in production first
        assert line.promote("1.0.0", "production").succeeded()
    before_tags, before_releases = line.tags(), set(line.releases())

    stump = {"max_iter": 1, "max_leaf_nodes": 2, "learning_rate": 0.01}
    line.push_main("A single stump", params={"train": {"hist_gradient_boosting": stump}})
    worse = line.deploy()
    assert not worse.succeeded()
    assert worse.step("Champion vs challenger, package and version tag (local)") == "failure", worse.tail()
    assert "vs base" in worse.log and "nothing packaged or tagged" in worse.log
    for later in ("Build provenance for the package", "Build and push the serving image", "Push the version tag"):
        assert worse.step(later) is None, later

    line.push_main("Params changed, dvc.lock not updated", params={"evaluate": {"threshold": 0.4}}, repro=False)
    stale = line.deploy()
    assert not stale.succeeded()
    assert stale.step("Fail when the committed results are stale") == "failure", stale.tail()
    assert "main's committed dvc.lock and results differ" in stale.log

    assert line.tags() == before_tags and set(line.releases()) == before_releases
    assert not [tag for tag in line.images() if tag.endswith(":1.0.2")]


def test_promote__rejects_a_malformed_version_before_any_checkout(line: Line) -> None:
    run = line.promote("1.0; rm -rf /", "production")
    assert not run.succeeded()
    # act may drop the output of a step this short (its `::error::` line); the step's own failure is what counts.
    assert run.step("Validate the version and the stage") == "failure", run.tail()
    assert run.step("Assign the stage (local tag)") is None


def test_tampered_package__is_refused(line: Line, first: ActRun, tmp_path: Path) -> None:
    archive = Path(line.releases()[f"{MODEL}@v1.0.0"]["folder"]) / f"{MODEL}-v1.0.0.tar.gz"
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    package = tmp_path / f"{MODEL}-v1.0.0"
    card = package / "MODEL_CARD.md"
    card.write_text(card.read_text().replace("gate passed", "gate waived"))
    verify = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "mlci.deploy", "verify", str(package)],
        cwd=line.space.repo, env=line.code_env(),
        capture_output=True, text=True,
    )  # fmt: skip
    assert verify.returncode == 2
    assert "MODEL_CARD.md does not match its checksum" in verify.stderr and "Traceback" not in verify.stderr


def test_dispatch_on_a_branch__checks_but_publishes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    """A manual run on an unreviewed branch: the build job runs as a check; the publish job never starts."""
    origin = tmp_path / "branch-origin.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(workspace.project.origin), str(origin))
    redirect = redirect_origin(tmp_path, origin)
    write_github(workspace.state)
    readme = workspace.repo / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nA change nobody reviewed.\n", encoding="utf-8")
    sha = workspace.commit("Unreviewed", branch="unreviewed")
    payload = {"ref": "refs/heads/unreviewed", "inputs": {}, "repository": {"full_name": REPOSITORY, "private": False}}

    run = workspace.act("workflow_dispatch", "deploy.yml", payload, env=redirect)

    assert run.returncode == 0 and "Job failed" not in run.log, run.tail()
    assert run.step("Champion vs challenger, package and version tag (local)") == "success", run.tail()
    assert "refs/heads/unreviewed is not main: this run reproduces, gates and packages as a check" in run.log
    assert run.step("Check the release (checksums, names, and the tag on this commit)") is None, "publish never ran"
    for publishing in ("docker-login", "build-push", "attest-build-provenance", "setup-buildx", "download-artifact"):
        assert not run.calls_of(publishing), publishing
    assert not [c for c in run.calls_of("gh") if c.get("command") == "release create"]
    assert git(origin, "tag", "--list").split() == [], "no tag reached origin"
    assert git(origin, "rev-parse", "main").strip() != sha and "unreviewed" not in git(origin, "branch", "--list")
    assert not (workspace.state / "registry.json").exists(), "no image pushed"
    assert run.github.get("releases", {}) == {}


def test_promote__refuses_an_image_without_provenance(line: Line, first: ActRun) -> None:
    """The version's image tag replaced in the registry by an image deploy.yml never attested: nothing moves."""
    assert first.succeeded(), first.tail()
    registry = line.space.state / "registry.json"
    saved = registry.read_text(encoding="utf-8")
    images = json.loads(saved)
    images[f"{IMAGE}:1.0.0"] = "sha256:" + "0" * 64
    registry.write_text(json.dumps(images), encoding="utf-8")
    tags = line.tags()
    try:
        run = line.promote("1.0.0", "staging")
        after = line.images()
    finally:
        registry.write_text(saved, encoding="utf-8")

    assert not run.succeeded()
    assert run.step("Verify the image's provenance") == "failure", run.tail()
    assert "no attestations found for subject: sha256:" + "0" * 64 in run.log
    assert run.step("Move the image's stage tag to the version's image") is None
    assert run.step("Push the stage tag") is None
    assert line.tags() == tags and after.get(f"{IMAGE}:staging") == images.get(f"{IMAGE}:staging")
