"""The model registry on git tags: versions with their records, stage assignments, and GTO reading the same tags."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mlci.core.errors import ReleaseError
from mlci.deploy import registry
from mlci.deploy.registry import assign, assignments, find, parse_version, register, stages, versions
from projectkit import VENV_BIN

NAME = "fraud-model"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


RECORD = {"family": "hist_gradient_boosting", "inputs": {"amount": ["number"]}, "metrics": {"roc_auc": 0.91}}


@pytest.fixture
def commit(repo: Path) -> Callable[[str], str]:
    """Make an empty commit with `message`; return its sha."""

    def make(message: str) -> str:
        git("commit", "--quiet", "--allow-empty", "-m", message)
        return git("rev-parse", "HEAD").strip()

    return make


def test_versions__none_in_a_new_repository(repo: Path) -> None:
    assert versions(NAME) == []
    assert assignments(NAME) == []
    assert stages(NAME) == {}


def test_register__the_record_round_trips_through_the_tag_message(commit: Callable[[str], str]) -> None:
    sha = commit("first model")

    tag = register(NAME, (1, 0, 0), sha, "fraud-model v1.0.0: hist_gradient_boosting, ROC AUC 0.91", RECORD)

    assert tag == f"{NAME}@v1.0.0"
    [version] = versions(NAME)
    assert (version.name, version.number, version.text, version.tag) == (NAME, (1, 0, 0), "v1.0.0", tag)
    assert version.commit == sha
    assert version.record == RECORD
    assert version.created[:4].isdigit() and "T" in version.created, version.created
    message = git("tag", "--list", "--format=%(contents)", tag)
    assert message.splitlines()[0] == "fraud-model v1.0.0: hist_gradient_boosting, ROC AUC 0.91"
    assert git("cat-file", "-t", tag).strip() == "tag", "the version tag is annotated"


def test_versions__sorted_by_semantic_version_not_text(commit: Callable[[str], str]) -> None:
    for number in [(1, 10, 0), (1, 9, 0), (2, 0, 0)]:
        register(NAME, number, commit(f"model {number}"), "summary", RECORD)

    assert [v.text for v in versions(NAME)] == ["v1.9.0", "v1.10.0", "v2.0.0"]


def test_versions__ignores_other_names_lightweight_tags_and_other_tags(commit: Callable[[str], str]) -> None:
    # given: the model's version, another model's, a lightweight tag in the model's grammar, and a release tag
    register(NAME, (1, 0, 0), commit("one"), "summary", RECORD)
    register(f"{NAME}-v2", (3, 0, 0), commit("two"), "summary", RECORD)
    git("tag", f"{NAME}@v9.0.0")
    git("tag", "--annotate", "v1.0", "--message", "a project release")

    # when / then
    assert [v.text for v in versions(NAME)] == ["v1.0.0"]
    assert [v.text for v in versions(f"{NAME}-v2")] == ["v3.0.0"]


def test_versions__a_message_without_a_record_gives_an_empty_record(commit: Callable[[str], str]) -> None:
    sha = commit("one")
    git("tag", "--annotate", f"{NAME}@v1.0.0", "--message", "registered by hand", sha)
    git("tag", "--annotate", f"{NAME}@v1.0.1", "--message", "by hand\n\nnot json", sha)
    git("tag", "--annotate", f"{NAME}@v1.0.2", "--message", "by hand\n\n[1, 2]", sha)

    assert [v.record for v in versions(NAME)] == [{}, {}, {}]


def test_register__refuses_a_version_that_exists(commit: Callable[[str], str]) -> None:
    register(NAME, (1, 0, 0), commit("one"), "summary", RECORD)

    with pytest.raises(ReleaseError, match=r"fraud-model@v1\.0\.0 already exists; versions are immutable"):
        register(NAME, (1, 0, 0), commit("two"), "summary", RECORD)


def test_register__refuses_a_commit_already_registered(commit: Callable[[str], str]) -> None:
    sha = commit("one")
    register(NAME, (1, 0, 0), sha, "summary", RECORD)

    with pytest.raises(
        ReleaseError, match=rf"commit {sha[:12]} is already registered as fraud-model v1\.0\.0; nothing new to release"
    ):
        register(NAME, (1, 0, 1), sha, "summary", RECORD)
    assert [v.text for v in versions(NAME)] == ["v1.0.0"]


def test_register__an_unknown_commit_is_a_git_error(repo: Path, commit: Callable[[str], str]) -> None:
    commit("one")

    with pytest.raises(ReleaseError, match=r"^git tag failed: fatal: [^\n]*$"):
        register(NAME, (1, 0, 0), "0" * 40, "summary", RECORD)


def test_assign__counters_increase_across_stages(commit: Callable[[str], str]) -> None:
    register(NAME, (1, 0, 0), commit("one"), "summary", RECORD)
    register(NAME, (1, 1, 0), commit("two"), "summary", RECORD)

    tags = [
        assign(NAME, "1.0.0", "staging"),
        assign(NAME, "v1.0.0", "production"),
        assign(NAME, "1.1.0", "staging"),
    ]

    assert tags == [f"{NAME}#staging#1", f"{NAME}#production#2", f"{NAME}#staging#3"]
    assert [(a.stage, a.counter) for a in assignments(NAME)] == [("staging", 1), ("production", 2), ("staging", 3)]
    assert git("cat-file", "-t", tags[0]).strip() == "tag", "stage tags are annotated"
    assert "Assign stage staging to fraud-model v1.0.0" in git("tag", "--list", "--format=%(contents)", tags[0])


def test_assignments__ordered_by_counter_as_numbers(commit: Callable[[str], str]) -> None:
    sha = commit("one")
    register(NAME, (1, 0, 0), sha, "summary", RECORD)
    for counter in (2, 10, 9):
        git("tag", "--annotate", f"{NAME}#staging#{counter}", "--message", "by hand", sha)

    assert [a.counter for a in assignments(NAME)] == [2, 9, 10]
    assert assign(NAME, "1.0.0", "production") == f"{NAME}#production#11"


def test_stages__the_newest_assignment_wins_so_rollback_is_a_promotion(commit: Callable[[str], str]) -> None:
    # given: two versions; production goes to v1.1.0, then back to v1.0.0
    register(NAME, (1, 0, 0), commit("one"), "summary", RECORD)
    register(NAME, (1, 1, 0), commit("two"), "summary", RECORD)
    assign(NAME, "1.0.0", "production")
    assign(NAME, "1.1.0", "production")
    assert stages(NAME)["production"].text == "v1.1.0"

    # when
    assign(NAME, "1.0.0", "production")
    assign(NAME, "1.1.0", "staging")

    # then
    current = stages(NAME)
    assert {stage: version.text for stage, version in current.items()} == {
        "production": "v1.0.0",
        "staging": "v1.1.0",
    }


def test_stages__ignores_an_assignment_at_an_unregistered_commit(commit: Callable[[str], str]) -> None:
    register(NAME, (1, 0, 0), commit("one"), "summary", RECORD)
    assign(NAME, "1.0.0", "production")
    git("tag", "--annotate", f"{NAME}#production#2", "--message", "by hand", commit("unregistered"))

    assert stages(NAME)["production"].text == "v1.0.0"


def test_find__a_registered_version_by_either_spelling(commit: Callable[[str], str]) -> None:
    sha = commit("one")
    register(NAME, (1, 2, 0), sha, "summary", RECORD)

    assert find(NAME, "1.2.0").commit == sha
    assert find(NAME, "v1.2.0").commit == sha


def test_find__an_unknown_version_names_the_registered_ones(commit: Callable[[str], str]) -> None:
    register(NAME, (1, 0, 0), commit("one"), "summary", RECORD)
    register(NAME, (1, 1, 0), commit("two"), "summary", RECORD)

    with pytest.raises(ReleaseError, match=r"fraud-model has no version v2\.0\.0 \(registered: v1\.0\.0, v1\.1\.0\)"):
        find(NAME, "2.0.0")


def test_find__says_none_yet_in_an_empty_registry(repo: Path) -> None:
    with pytest.raises(ReleaseError, match=r"has no version v1\.0\.0 \(registered: none yet\)"):
        find(NAME, "v1.0.0")


def test_assign__an_unknown_version_tags_nothing(commit: Callable[[str], str]) -> None:
    register(NAME, (1, 0, 0), commit("one"), "summary", RECORD)

    with pytest.raises(ReleaseError, match=r"has no version v1\.0\.1 \(registered: v1\.0\.0\)"):
        assign(NAME, "1.0.1", "production")
    assert assignments(NAME) == []


@pytest.mark.parametrize(("text", "number"), [("1.2.0", (1, 2, 0)), ("v10.0.3", (10, 0, 3)), (" v1.2.0\n", (1, 2, 0))])
def test_parse_version__accepts_semantic_versions(text: str, number: tuple[int, int, int]) -> None:
    assert parse_version(text) == number


@pytest.mark.parametrize("text", ["1.2", "1.2.0-rc1", "V1.2.0", "vv1.2.0", "latest", "", "1.2.x"])
def test_parse_version__refuses_anything_else(text: str) -> None:
    with pytest.raises(ReleaseError, match=rf"version {text!r} is not a semantic version such as 1\.2\.0 or v1\.2\.0"):
        parse_version(text)


def test_git__outside_a_repository_is_a_release_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))

    with pytest.raises(
        ReleaseError,
        match=r"^git for-each-ref failed: .*not a git repository.*; run it inside the project's git repository$",
    ):
        versions(NAME)


def test_git__missing_git_is_a_release_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")

    with pytest.raises(ReleaseError, match=r"git not found; install git to use the model registry"):
        registry.git("status")


def gto_show(*args: str) -> dict:
    done = subprocess.run(
        [str(VENV_BIN / "gto"), "show", "--json", *args], capture_output=True, text=True, check=False
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_gto__reads_the_same_versions_and_stages(commit: Callable[[str], str]) -> None:
    # given: two versions, production promoted to the newer one and rolled back to the older one
    register(NAME, (1, 0, 0), commit("one"), "summary", RECORD)
    register(NAME, (1, 1, 0), commit("two"), "summary", RECORD)
    assign(NAME, "1.1.0", "production")
    assign(NAME, "1.0.0", "production")
    assign(NAME, "1.1.0", "staging")

    # when
    shown = gto_show()[NAME]

    # then: GTO agrees with `stages` and `versions`
    assert shown["version"] == "v1.1.0"
    assert shown["stage"]["production"] == "v1.0.0" == stages(NAME)["production"].text
    assert shown["stage"]["staging"] == "v1.1.0" == stages(NAME)["staging"].text
    listed = {row["version"] for row in gto_show(NAME)}
    assert listed == {v.text for v in versions(NAME)}


def test_versions__leaves_out_a_version_deregistered_in_gto_grammar(commit: Callable[[str], str]) -> None:
    # given: v1.1.0 registered and in staging, then deregistered as `gto deprecate fraud-model v1.1.0` does
    register(NAME, (1, 0, 0), commit("one"), "summary", RECORD)
    sha = commit("two")
    register(NAME, (1, 1, 0), sha, "summary", RECORD)
    assign(NAME, "1.1.0", "staging")
    git("tag", "--annotate", f"{NAME}@v1.1.0!", "--message", "Deregistering fraud-model version v1.1.0", sha)
    assert gto_show()[NAME]["version"] == "v1.0.0", "GTO no longer lists v1.1.0"

    # when / then
    assert [v.text for v in versions(NAME)] == ["v1.0.0"]
    assert "staging" not in stages(NAME)


def test_stages__an_unassignment_in_gto_grammar_clears_the_stage(commit: Callable[[str], str]) -> None:
    # given: v1.0.0 in production and staging, then unassigned from staging as GTO does it
    sha = commit("one")
    register(NAME, (1, 0, 0), sha, "summary", RECORD)
    assign(NAME, "1.0.0", "production")
    assign(NAME, "1.0.0", "staging")
    git("tag", "--annotate", f"{NAME}#staging!#3", "--message", "Unassigning stage 'staging' from v1.0.0", sha)
    assert "staging" not in gto_show()[NAME]["stage"], "GTO sees staging unassigned"

    # when / then
    assert set(stages(NAME)) == {"production"}
